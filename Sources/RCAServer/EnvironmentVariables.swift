import Foundation

/// The variables the server is configured by: those of the process, over
/// those of an optional `.env` file (the same `KEY=value` lines that Docker
/// Compose and the Python prototype read).
public enum EnvironmentVariables {
    /// The process environment merged over the `.env` file at `dotEnvPath`, if it exists.
    public static func load(
        process: [String: String] = ProcessInfo.processInfo.environment,
        dotEnvPath: String = ".env"
    ) throws(ConfigurationError) -> [String: String] {
        guard FileManager.default.fileExists(atPath: dotEnvPath) else { return process }
        let contents: String
        do {
            contents = try String(contentsOfFile: dotEnvPath, encoding: .utf8)
        } catch {
            throw ConfigurationError(variable: dotEnvPath, problem: "cannot be read: \(error.localizedDescription)")
        }
        let fromFile = try parseDotEnv(contents, fileName: dotEnvPath)
        return fromFile.merging(process) { _, processValue in processValue }
    }

    /// Parses `.env` text: `KEY=value` lines, optional `export `, `#` comments,
    /// and single- or double-quoted values (double quotes understand `\n`, `\"` and `\\`).
    public static func parseDotEnv(_ text: String, fileName: String = ".env") throws(ConfigurationError) -> [String: String] {
        var values: [String: String] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasSuffix("\r") { line.removeLast() }
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst("export ".count)).trimmingCharacters(in: .whitespaces) }
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigurationError(variable: "\(fileName) line \(index + 1)", problem: "expected KEY=value")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), key.first?.isNumber == false else {
                throw ConfigurationError(variable: "\(fileName) line \(index + 1)", problem: "\"\(key)\" is not a valid variable name")
            }
            let rawValue = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            guard let value = unquote(rawValue) else {
                throw ConfigurationError(variable: "\(fileName) line \(index + 1)", problem: "the value of \(key) has an unterminated quote")
            }
            values[key] = value
        }
        return values
    }

    private static func unquote(_ raw: String) -> String? {
        guard let first = raw.first, first == "\"" || first == "'" else {
            if let comment = raw.range(of: " #") { return raw[..<comment.lowerBound].trimmingCharacters(in: .whitespaces) }
            return raw
        }
        var result = ""
        var escaped = false
        for character in raw.dropFirst() {
            if first == "\"" && escaped {
                switch character {
                case "n": result.append("\n")
                case "t": result.append("\t")
                default: result.append(character)
                }
                escaped = false
            } else if first == "\"" && character == "\\" {
                escaped = true
            } else if character == first {
                return result
            } else {
                result.append(character)
            }
        }
        return nil
    }
}
