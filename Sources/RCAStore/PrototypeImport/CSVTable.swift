import Foundation

/// A CSV file read as RFC 4180 describes it (a header line, fields quoted
/// with `"` when they hold commas, quotes or line breaks, `""` for a quote),
/// which is what PowerShell's `Export-Csv` and most database exports write.
/// The prototype's tables exported from Azure SQL come in this form.
struct CSVTable {
    let header: [String]
    let rows: [[String]]

    /// Why a CSV file could not be read, and where.
    struct Malformed: Error, CustomStringConvertible {
        let description: String

        init(line: Int, problem: String) {
            description = "line \(line): \(problem)"
        }

        init(record: Int, problem: String) {
            description = "record \(record): \(problem)"
        }
    }

    init(text: String) throws(Malformed) {
        var records: [[String]] = []
        var record: [String] = []
        var field: [UInt8] = []
        var quoted = false
        var afterQuote = false
        var line = 1
        var bytes = Array(text.utf8)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var index = 0
        func endField() {
            record.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            afterQuote = false
        }
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if quoted {
                if byte == UInt8(ascii: "\"") {
                    if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
                        field.append(byte)
                        index += 1
                    } else {
                        quoted = false
                        afterQuote = true
                    }
                } else {
                    if byte == UInt8(ascii: "\n") { line += 1 }
                    field.append(byte)
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                guard field.isEmpty, !afterQuote else { throw Malformed(line: line, problem: "a quote inside an unquoted field") }
                quoted = true
            case UInt8(ascii: ","):
                endField()
            case UInt8(ascii: "\r"):
                continue
            case UInt8(ascii: "\n"):
                endField()
                records.append(record)
                record = []
                line += 1
            default:
                guard !afterQuote else { throw Malformed(line: line, problem: "text after a closing quote") }
                field.append(byte)
            }
        }
        if quoted { throw Malformed(line: line, problem: "a quoted field is not closed") }
        if !field.isEmpty || !record.isEmpty || afterQuote {
            endField()
            records.append(record)
        }
        records.removeAll { $0 == [""] }
        guard let header = records.first else { throw Malformed(line: 1, problem: "no header line") }
        for (offset, record) in records.enumerated().dropFirst() where record.count != header.count {
            throw Malformed(record: offset, problem: "\(record.count) fields where the header has \(header.count)")
        }
        self.header = header.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        self.rows = Array(records.dropFirst())
    }
}
