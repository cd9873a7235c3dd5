import Foundation
import RCACore
import SQLKit

/// A dashboard account as the store keeps it.
public struct UserRecord: Sendable, Equatable, Decodable {
    public let id: Int64
    public let email: String
    public let passwordHash: String
    public let fullName: String?
    public let createdAt: String
    public let lastLogin: String?
    public let role: UserRole
    public let disabled: Bool
    /// Sessions issued at or before this time are no longer valid.
    public let sessionsValidAfter: String?

    enum CodingKeys: String, CodingKey {
        case id, email, role, disabled
        case sessionsValidAfter = "sessions_valid_after"
        case passwordHash = "password_hash"
        case fullName = "full_name"
        case createdAt = "created_at"
        case lastLogin = "last_login"
    }
}

/// Why a change to the accounts was refused.
public enum UserStoreError: Error, Equatable, CustomStringConvertible {
    case alreadyExists(email: String)
    case notFound(email: String)

    public var description: String {
        switch self {
        case .alreadyExists(let email): "a user with e-mail \(email) already exists"
        case .notFound(let email): "no user with e-mail \(email)"
        }
    }
}

/// Accounts of the people who use the dashboard. E-mail addresses are kept in
/// lower case so that one person has one account however they type it.
public struct UserStore: Sendable {
    private let database: Database

    public init(database: Database) {
        self.database = database
    }

    public static func normalize(email: String) -> String {
        email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    /// Adds an account; throws `alreadyExists` when the e-mail is taken.
    @discardableResult
    public func add(email: String, passwordHash: String, fullName: String?, role: UserRole) async throws -> UserRecord {
        let email = Self.normalize(email: email)
        let inserted = try await insertIfAbsent(email: email, passwordHash: passwordHash, fullName: fullName, role: role)
        guard inserted else { throw UserStoreError.alreadyExists(email: email) }
        guard let user = try await find(email: email) else { throw UserStoreError.notFound(email: email) }
        return user
    }

    /// Adds an account unless one with this e-mail exists; returns whether it
    /// added one. Safe when several processes race to create the same account.
    public func insertIfAbsent(email: String, passwordHash: String, fullName: String?, role: UserRole) async throws -> Bool {
        let email = Self.normalize(email: email)
        return try await database.transaction { sql in
            try await sql.raw(
                """
                INSERT INTO users (email, password_hash, full_name, created_at, role, disabled)
                VALUES (\(bind: email), \(bind: passwordHash), \(bind: fullName), \(bind: Timestamp.now()), \(bind: role.rawValue), \(bind: false))
                ON CONFLICT (email) DO NOTHING
                RETURNING id
                """
            ).first() != nil
        }
    }

    public func find(email: String) async throws -> UserRecord? {
        let email = Self.normalize(email: email)
        return try await database.read { sql in
            try await sql.raw("SELECT * FROM users WHERE email = \(bind: email)").first(decoding: UserRecord.self)
        }
    }

    public func find(id: Int64) async throws -> UserRecord? {
        try await database.read { sql in
            try await sql.raw("SELECT * FROM users WHERE id = \(bind: id)").first(decoding: UserRecord.self)
        }
    }

    public func recordLogin(id: Int64, at date: Date = Date()) async throws {
        try await database.transaction { sql in
            try await sql.raw("UPDATE users SET last_login = \(bind: Timestamp.string(from: date)) WHERE id = \(bind: id)").run()
        }
    }

    public func all() async throws -> [UserRecord] {
        try await database.read { sql in
            try await sql.raw("SELECT * FROM users ORDER BY id").all(decoding: UserRecord.self)
        }
    }

    public func count() async throws -> Int {
        try await database.read { sql in
            try await sql.raw("SELECT COUNT(*) AS count FROM users").first()?.decode(column: "count", as: Int.self) ?? 0
        }
    }

    /// Disabling or enabling an account ends its sessions.
    public func setDisabled(email: String, _ disabled: Bool) async throws {
        let now = Timestamp.now()
        try await update(email: email) { sql, email in
            try await sql.raw(
                "UPDATE users SET disabled = \(bind: disabled), sessions_valid_after = \(bind: now) WHERE email = \(bind: email) RETURNING id"
            ).first()
        }
    }

    /// A new password ends the sessions signed in with the old one.
    public func setPasswordHash(email: String, _ passwordHash: String) async throws {
        let now = Timestamp.now()
        try await update(email: email) { sql, email in
            try await sql.raw(
                "UPDATE users SET password_hash = \(bind: passwordHash), sessions_valid_after = \(bind: now) WHERE email = \(bind: email) RETURNING id"
            ).first()
        }
    }

    /// A role change ends the account's sessions when the role differs, so
    /// that no token or open live feed keeps the old role's reach.
    public func setRole(email: String, _ role: UserRole) async throws {
        let now = Timestamp.now()
        try await update(email: email) { sql, email in
            try await sql.raw(
                """
                UPDATE users SET sessions_valid_after = CASE WHEN role <> \(bind: role.rawValue) THEN \(bind: now) ELSE sessions_valid_after END,
                                 role = \(bind: role.rawValue)
                WHERE email = \(bind: email) RETURNING id
                """
            ).first()
        }
    }

    /// Ends every session of the account (`POST /api/logout`).
    public func endSessions(id: Int64, at date: Date = Date()) async throws {
        try await database.transaction { sql in
            try await sql.raw("UPDATE users SET sessions_valid_after = \(bind: Timestamp.string(from: date)) WHERE id = \(bind: id)").run()
        }
    }

    private func update(email: String, _ statement: @Sendable @escaping (any SQLDatabase, String) async throws -> (any SQLRow)?) async throws {
        let email = Self.normalize(email: email)
        let updated = try await database.transaction { sql in try await statement(sql, email) != nil }
        guard updated else { throw UserStoreError.notFound(email: email) }
    }
}
