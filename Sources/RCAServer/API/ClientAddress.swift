import Foundation
import HTTPTypes
import NIOCore

/// An IPv4 or IPv6 network in CIDR form (`10.0.0.0/8`, `fd00::/8`), or a
/// single address.
public struct IPNetwork: Sendable, Equatable, CustomStringConvertible {
    let bytes: [UInt8]
    let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard let bytes = IPNetwork.bytes(of: parts[0]) else { return nil }
        let length = parts.count == 2 ? Int(parts[1]) : bytes.count * 8
        guard let length, (0...(bytes.count * 8)).contains(length) else { return nil }
        self.bytes = bytes
        prefixLength = length
    }

    public func contains(_ address: [UInt8]) -> Bool {
        guard address.count == bytes.count else { return false }
        var remaining = prefixLength
        for (index, byte) in bytes.enumerated() where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if byte & mask != address[index] & mask { return false }
            remaining -= bits
        }
        return true
    }

    public var description: String { "\(IPNetwork.text(of: bytes))/\(prefixLength)" }

    /// An address's 4 or 16 bytes; IPv4-mapped IPv6 addresses count as IPv4.
    static func bytes(of text: String) -> [UInt8]? {
        let bare = text.hasPrefix("[") && text.hasSuffix("]") ? String(text.dropFirst().dropLast()) : text
        guard let address = try? SocketAddress(ipAddress: bare, port: 0) else { return nil }
        switch address {
        case .v4(let v4):
            return withUnsafeBytes(of: v4.address.sin_addr) { Array($0) }
        case .v6(let v6):
            let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF { return Array(bytes[12...]) }
            return bytes
        default:
            return nil
        }
    }

    static func text(of bytes: [UInt8]) -> String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        return stride(from: 0, to: bytes.count, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }.joined(separator: ":")
    }
}

/// Who a request comes from, for throttles and stored payloads. Behind a
/// reverse proxy every request arrives from the proxy, so a throttle keyed
/// by the peer would lock everybody out at once; but a header that anyone
/// can send must not choose the key either, or a guesser would rotate it.
/// So `Forwarded` and `X-Forwarded-For` are read only when the peer is in
/// `TRUSTED_PROXIES`, and then from the right, skipping trusted hops: the
/// first address a trusted proxy did not add itself is the client.
public struct ClientAddresses: Sendable {
    public let trustedProxies: [IPNetwork]

    public init(trustedProxies: [IPNetwork] = []) {
        self.trustedProxies = trustedProxies
    }

    /// The client's address as the peer or the proxy wrote it, or nil when
    /// the peer has none (a Unix socket).
    public func client(peer: String?, headers: HTTPFields) -> String? {
        guard let peer, let peerBytes = IPNetwork.bytes(of: peer), isTrusted(peerBytes) else { return peer }
        for hop in forwardedHops(headers).reversed() {
            guard let bytes = IPNetwork.bytes(of: hop) else { break }
            if !isTrusted(bytes) { return hop }
        }
        return peer
    }

    /// The key a throttle counts under: the IPv4 address, or the /64 of an
    /// IPv6 address, since one subscriber is routinely given a whole /64.
    public func throttleKey(peer: String?, headers: HTTPFields) -> String {
        guard let address = client(peer: peer, headers: headers), let bytes = IPNetwork.bytes(of: address) else { return "unknown" }
        guard bytes.count == 16 else { return address }
        return IPNetwork.text(of: Array(bytes[0..<8]) + [UInt8](repeating: 0, count: 8)) + "/64"
    }

    private func isTrusted(_ bytes: [UInt8]) -> Bool {
        trustedProxies.contains { $0.contains(bytes) }
    }

    /// The hops the proxies recorded, oldest first: `Forwarded`'s `for=`
    /// values when that header is present, else `X-Forwarded-For`.
    private func forwardedHops(_ headers: HTTPFields) -> [String] {
        let forwarded = headers[values: HTTPField.Name("Forwarded")!]
        if !forwarded.isEmpty {
            return forwarded.flatMap { $0.split(separator: ",") }.compactMap { element in
                element.split(separator: ";").lazy.map { $0.trimmingCharacters(in: .whitespaces) }
                    .first { $0.lowercased().hasPrefix("for=") }
                    .map { Self.forwardedNode(String($0.dropFirst(4))) }
            }
        }
        return headers[values: HTTPField.Name("X-Forwarded-For")!].flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// A `Forwarded` node without quotes and port: `"[2001:db8::1]:4711"` → `2001:db8::1`.
    static func forwardedNode(_ value: String) -> String {
        var node = value.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        if node.hasPrefix("["), let end = node.firstIndex(of: "]") {
            node = String(node[node.index(after: node.startIndex)..<end])
        } else if node.filter({ $0 == ":" }).count == 1, let colon = node.firstIndex(of: ":") {
            node = String(node[..<colon])
        }
        return node
    }
}
