import Foundation
import RCASources

/// Vendor payloads kept with the tests (see Fixtures/SOURCES.md).
enum Fixture {
    static func url(_ path: String) -> URL {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures").appendingPathComponent(path)
    }

    static func data(_ path: String) throws -> Data {
        try Data(contentsOf: url(path))
    }

    static func json(_ path: String) throws -> JSONValue {
        try JSONValue.parse(try data(path))
    }

    /// Every fixture file in a folder, by relative path.
    static func all(in folder: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url(folder).path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted().map { "\(folder)/\($0)" }
    }
}
