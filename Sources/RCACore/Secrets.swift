/// Random secrets (tokens, passwords, signing keys) drawn from the system's
/// cryptographically secure generator.
public enum RandomSecret {
    private static let urlSafeAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    private static let passwordAlphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")

    /// A URL-safe token carrying `bits` bits of entropy (six per character).
    public static func token(bits: Int = 256) -> String {
        let length = (bits + 5) / 6
        return string(length: length, alphabet: urlSafeAlphabet)
    }

    /// A password that is easy to copy from a console: no look-alike characters.
    public static func password(length: Int = 20) -> String {
        string(length: length, alphabet: passwordAlphabet)
    }

    private static func string(length: Int, alphabet: [Character]) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }
}

/// Comparison of secrets whose duration does not depend on where the inputs
/// first differ, so that a caller cannot guess a token byte by byte.
public enum ConstantTime {
    public static func equals(_ lhs: String, _ rhs: String) -> Bool {
        let left = Array(lhs.utf8)
        let right = Array(rhs.utf8)
        var difference = UInt8(truncatingIfNeeded: left.count ^ right.count)
        let length = max(left.count, right.count)
        for index in 0..<length {
            let a = index < left.count ? left[index] : 0
            let b = index < right.count ? right[index] : 0
            difference |= a ^ b
        }
        return difference == 0 && left.count == right.count
    }
}
