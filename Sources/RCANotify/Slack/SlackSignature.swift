import Foundation
import RCACore

/// Checks that a request comes from Slack: `X-Slack-Signature` must be
/// `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}` under the app's signing
/// secret, compared in constant time, and the timestamp at most five
/// minutes from now (so a captured request cannot be replayed later).
public enum SlackSignature {
    public static let maximumAge: TimeInterval = 300

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case missingHeaders
        case stale
        case mismatch

        public var description: String {
            switch self {
            case .missingHeaders: "X-Slack-Request-Timestamp and X-Slack-Signature are required"
            case .stale: "the request is more than 5 minutes old"
            case .mismatch: "the signature does not match the signing secret"
            }
        }
    }

    public static func signature(secret: String, timestamp: String, body: Data) -> String {
        var message = Data("v0:\(timestamp):".utf8)
        message.append(body)
        return "v0=" + HMACSignature.sha256Hex(secret: secret, message: message)
    }

    public static func verify(secret: String, timestamp: String?, signature: String?, body: Data, now: Date = Date()) throws(Failure) {
        guard let timestamp, let signature else { throw .missingHeaders }
        guard let seconds = TimeInterval(timestamp), abs(now.timeIntervalSince1970 - seconds) <= maximumAge else { throw .stale }
        let expected = Self.signature(secret: secret, timestamp: timestamp, body: body)
        guard ConstantTime.equals(expected, signature) else { throw .mismatch }
    }
}
