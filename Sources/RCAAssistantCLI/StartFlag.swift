import Synchronization

/// Records that the server got as far as listening, to tell a failure to
/// bind from a failure later on.
final class StartFlag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
