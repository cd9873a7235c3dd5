import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization

/// Runs the built `rca-assistant` executable as an operator would, capturing
/// its output, for tests of the command-line interface.
public final class CommandProcess: Sendable {
    private let process: Process
    private let output = CapturedOutput()

    /// The `rca-assistant` binary built next to the running test bundle.
    public static var executableURL: URL {
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var folder = testBinary.deletingLastPathComponent()
        while !folder.path.hasSuffix("/debug") && !folder.path.hasSuffix("/release") && folder.path != "/" {
            folder = folder.deletingLastPathComponent()
        }
        return folder.appendingPathComponent("rca-assistant")
    }

    /// Starts `rca-assistant arguments…` in `directory` with exactly `environment`.
    public init(_ arguments: [String], environment: [String: String], directory: URL, stdin: String? = nil) throws {
        let process = Process()
        process.executableURL = Self.executableURL
        process.arguments = arguments
        process.environment = environment.merging(["PATH": "/usr/bin:/bin"]) { current, _ in current }
        process.currentDirectoryURL = directory
        let stdoutPipe = Pipe()
        let stderrPipe = Pipe()
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        let inputPipe = Pipe()
        process.standardInput = inputPipe
        self.process = process
        stdoutPipe.fileHandleForReading.readabilityHandler = { [output] handle in
            let text = String(decoding: handle.availableData, as: UTF8.self)
            output.text.withLock { $0.stdout += text }
        }
        stderrPipe.fileHandleForReading.readabilityHandler = { [output] handle in
            let text = String(decoding: handle.availableData, as: UTF8.self)
            output.text.withLock { $0.stderr += text }
        }
        try process.run()
        if let stdin { inputPipe.fileHandleForWriting.write(Data(stdin.utf8)) }
        try inputPipe.fileHandleForWriting.close()
    }

    /// A test that fails half-way must not leave a server behind.
    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    public var standardOutput: String { output.text.withLock { $0.stdout } }
    public var standardError: String { output.text.withLock { $0.stderr } }
    public var isRunning: Bool { process.isRunning }
    public var processIdentifier: Int32 { process.processIdentifier }

    /// Waits for the process to end (at most `timeout`) and returns its exit status.
    public func waitForExit(timeout: Duration = .seconds(30)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                process.terminate()
                throw ProcessTimeout(description: "rca-assistant did not exit within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(50))
        return process.terminationStatus
    }

    /// Waits until standard output contains `text` (or the process ends, or
    /// `timeout` passes). The default leaves room for a start on a 2-core
    /// machine whose cores the parallel tests beside it keep busy: CI saw a
    /// server print its banner 30 s after launch while the linear-work tests
    /// ran, where alone it takes about a second.
    public func waitForOutput(containing text: String, timeout: Duration = .seconds(120)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let current = standardOutput
            if current.contains(text) { return current }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ProcessTimeout(description: "no \"\(text)\" in output: \(standardOutput) \(standardError)")
    }

    public func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Runs a command to completion and returns its status and output.
    public static func run(
        _ arguments: [String],
        environment: [String: String],
        directory: URL,
        stdin: String? = nil
    ) async throws -> (status: Int32, stdout: String, stderr: String) {
        let command = try CommandProcess(arguments, environment: environment, directory: directory, stdin: stdin)
        let status = try await command.waitForExit()
        return (status, command.standardOutput, command.standardError)
    }
}

/// What a process wrote so far, filled in by the pipes' handlers.
private final class CapturedOutput: Sendable {
    let text = Mutex<(stdout: String, stderr: String)>(("", ""))
}

/// A command that did not do what the test waited for in time.
public struct ProcessTimeout: Error, CustomStringConvertible {
    public let description: String

    public init(description: String) {
        self.description = description
    }
}

/// A minimal HTTP GET for tests that talk to a server started as a process.
public func httpGet(_ url: String) async throws -> (status: Int, body: String) {
    let (data, response) = try await URLSession.shared.data(from: URL(string: url)!)
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
}

/// A minimal HTTP POST of a JSON body, with extra headers.
public func httpPost(_ url: String, json: Data, headers: [String: String] = [:]) async throws -> (status: Int, body: String) {
    var request = URLRequest(url: URL(string: url)!)
    request.httpMethod = "POST"
    request.httpBody = json
    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    let (data, response) = try await URLSession.shared.data(for: request)
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
}
