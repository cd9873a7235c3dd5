import ArgumentParser
import Foundation
import RCACore
import RCAServer
import RCAStore

/// `rca-assistant user …`: manages dashboard accounts from the shell.
struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Manage dashboard accounts.",
        subcommands: [Add.self, List.self, Disable.self, Enable.self, ResetPassword.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an account; prints a random password unless --password-stdin is given.")

        @Argument(help: "Login e-mail address.")
        var email: String

        @Option(help: "viewer (read), responder (change ticket status) or admin.")
        var role: UserRole = .viewer

        @Option(help: "Full name shown on the dashboard and in the audit trail.")
        var name: String?

        @Flag(help: "Read the password from standard input instead of generating one.")
        var passwordStdin = false

        func run() async throws {
            try await withUsers { users in
                let password = try readOrGeneratePassword(fromStdin: passwordStdin)
                let user = try await users.add(
                    email: email, passwordHash: try await PasswordHasher().hash(password), fullName: name, role: role
                )
                Console.print("Created \(user.role.rawValue) \(user.email).")
                if !passwordStdin { Console.print("Password: \(password)") }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List accounts.")

        func run() async throws {
            try await withUsers { users in
                let all = try await users.all()
                let rows = [["EMAIL", "ROLE", "STATE", "CREATED", "LAST LOGIN"]] + all.map { user in
                    [user.email, user.role.rawValue, user.disabled ? "disabled" : "active", user.createdAt, user.lastLogin ?? "never"]
                }
                let widths = (0..<5).map { column in rows.map { $0[column].count }.max() ?? 0 }
                for row in rows {
                    Console.print(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  "))
                }
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop an account from logging in.")

        @Argument(help: "Login e-mail address.")
        var email: String

        func run() async throws {
            try await withUsers { users in
                try await users.setDisabled(email: email, true)
                Console.print("Disabled \(UserStore.normalize(email: email)).")
            }
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let a disabled account log in again.")

        @Argument(help: "Login e-mail address.")
        var email: String

        func run() async throws {
            try await withUsers { users in
                try await users.setDisabled(email: email, false)
                Console.print("Enabled \(UserStore.normalize(email: email)).")
            }
        }
    }

    struct ResetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a new password; prints a random one unless --password-stdin is given.")

        @Argument(help: "Login e-mail address.")
        var email: String

        @Flag(help: "Read the new password from standard input instead of generating one.")
        var passwordStdin = false

        func run() async throws {
            try await withUsers { users in
                let password = try readOrGeneratePassword(fromStdin: passwordStdin)
                try await users.setPasswordHash(email: email, try await PasswordHasher().hash(password))
                Console.print("Password of \(UserStore.normalize(email: email)) changed.")
                if !passwordStdin { Console.print("Password: \(password)") }
            }
        }
    }
}

extension UserRole: ExpressibleByArgument {}

/// Opens the configured database (migrating it if needed) for an account
/// command, and turns the store's refusals into one-line errors.
private func withUsers(_ body: (UserStore) async throws -> Void) async throws {
    try await CommandFailure.run {
        do {
            try await withMigratedDatabase { database in try await body(UserStore(database: database)) }
        } catch let error as UserStoreError {
            throw CommandError(message: error.description)
        }
    }
}

private func readOrGeneratePassword(fromStdin: Bool) throws -> String {
    guard fromStdin else { return RandomSecret.password() }
    guard let line = readLine(strippingNewline: true), line.count >= 8 else {
        throw CommandError(message: "expected a password of at least 8 characters on standard input")
    }
    return line
}
