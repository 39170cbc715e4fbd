import ArgumentParser
import Foundation
import OmniaServer

/// `omnia tenant create`: a new retail chain and its first admin key.
struct TenantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tenant", abstract: "Manage tenants.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a tenant and print its id and an admin API key (shown once).")
        @Option(help: "The chain's name, e.g. \"Moda Iberia\".") var name: String
        @Option(help: "Default ISO 4217 currency, e.g. EUR.") var currency: String
        @Option(help: "IANA time zone, e.g. Europe/Madrid.") var timezone: String
        @Option(help: "ISO 3166-1 alpha-2 country, e.g. ES.") var country: String?
        @OptionGroup var databaseOptions: DatabaseOptions

        func run() async throws {
            try await runReportingErrors {
                let (tenant, key) = try await withServices(databaseOptions) { services in
                    try await OperatorTools(services: services).createTenant(name: name, currency: currency, timezone: timezone, country: country)
                }
                print("tenant \(tenant.id) \"\(tenant.name)\" created")
                print("admin API key (shown once, store it safely): \(key.key)")
            }
        }
    }
}

/// `omnia key create|revoke`: least-privilege keys for tills, web shops and agents.
struct KeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "key", abstract: "Manage API keys.", subcommands: [Create.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an API key and print it (shown once).")
        @Option(help: "Tenant id (ten_…) or exact name.") var tenant: String
        @Option(help: "Comma-separated scopes: admin, pos, ecommerce, service, analytics:read.") var scopes: String
        @Option(help: "Bind the key to a channel (id or code).") var channel: String?
        @Option(help: "Bind the key to a location (id).") var location: String?
        @Option(help: "A name to recognise the key by.") var name: String?
        @OptionGroup var databaseOptions: DatabaseOptions

        func run() async throws {
            try await runReportingErrors {
                let scopeList = scopes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                let key = try await withServices(databaseOptions) { services in
                    try await OperatorTools(services: services).createKey(tenant: tenant, name: name, scopes: scopeList,
                                                                          channel: channel, location: location)
                }
                print("key \(key.id) with scopes \(key.scopes.joined(separator: ",")) created")
                print("API key (shown once, store it safely): \(key.key)")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an API key for good.")
        @Option(help: "Tenant id (ten_…) or exact name.") var tenant: String
        @Argument(help: "The key's id (key_…).") var keyID: String
        @OptionGroup var databaseOptions: DatabaseOptions

        func run() async throws {
            try await runReportingErrors {
                try await withServices(databaseOptions) { services in
                    try await OperatorTools(services: services).revokeKey(tenant: tenant, keyID: keyID)
                }
                print("key \(keyID) revoked")
            }
        }
    }
}
