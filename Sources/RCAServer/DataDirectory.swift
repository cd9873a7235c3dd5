import Foundation
import RCACore

/// The server's own folder: the SQLite file and the secrets it generated for
/// itself, each readable by its owner only.
public struct DataDirectory: Sendable {
    public let path: String

    /// Creates the folder if needed and checks that files can be written in it.
    public init(path: String) throws(ConfigurationError) {
        self.path = path
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw ConfigurationError(variable: "DATA_DIR", problem: "\(path) exists and is not a folder")
            }
        } else {
            try Self.createFolders(path)
        }
        let probe = (path as NSString).appendingPathComponent(".write-check-\(getpid())")
        guard manager.createFile(atPath: probe, contents: Data()) else {
            throw ConfigurationError(variable: "DATA_DIR", problem: "\(path) is not writable by this user")
        }
        try? manager.removeItem(atPath: probe)
    }

    /// The outcome of looking for a secret: where its value came from.
    public struct Secret: Sendable {
        public let value: String
        /// True when this call generated and stored it.
        public let generated: Bool
        public let file: String
    }

    /// Reads the secret kept in `name`, or generates one, stores it with
    /// owner-only permissions and returns it.
    public func secret(named name: String, generate: () -> String) throws(ConfigurationError) -> Secret {
        let file = (path as NSString).appendingPathComponent(name)
        let manager = FileManager.default
        if manager.fileExists(atPath: file) {
            let text: String
            do {
                text = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                throw ConfigurationError(variable: "DATA_DIR", problem: "cannot read \(file): \(Self.reason(error))")
            }
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !value.isEmpty else {
                throw ConfigurationError(variable: "DATA_DIR", problem: "\(file) is empty; delete it to have a new secret generated")
            }
            try? manager.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
            return Secret(value: value, generated: false, file: file)
        }
        let value = generate()
        let temporary = file + ".tmp-\(getpid())"
        guard manager.createFile(atPath: temporary, contents: Data((value + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ConfigurationError(variable: "DATA_DIR", problem: "cannot write \(file)")
        }
        if rename(temporary, file) != 0 {
            let reason = String(cString: strerror(errno))
            try? manager.removeItem(atPath: temporary)
            throw ConfigurationError(variable: "DATA_DIR", problem: "cannot write \(file): \(reason)")
        }
        return Secret(value: value, generated: true, file: file)
    }

    /// Creates `path` and any missing parents, reporting the first one that
    /// cannot be made with the system's reason.
    private static func createFolders(_ path: String) throws(ConfigurationError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") where !component.isEmpty {
            prefix += "/" + component
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST {
                throw ConfigurationError(variable: "DATA_DIR", problem: "cannot create \(prefix): \(String(cString: strerror(errno)))")
            }
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ConfigurationError(variable: "DATA_DIR", problem: "cannot create \(path): a file of that name is in the way")
        }
    }

    private static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return nsError.localizedDescription
    }
}
