import Crypto
import Foundation

/// The hex HMAC-SHA256 that Slack, Jira and our outgoing webhook all sign with.
public enum HMACSignature {
    public static func sha256Hex(secret: String, message: Data) -> String {
        HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Data(secret.utf8))).map { String(format: "%02x", $0) }.joined()
    }
}
