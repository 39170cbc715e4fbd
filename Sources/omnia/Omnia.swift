import ArgumentParser
import OmniaCore

/// `omnia`: the server and its operator tools. Each subcommand parses flags and calls the library.
@main
struct Omnia: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "omnia",
        abstract: "Omnia — one customer across every channel: the API server and its tools.",
        version: OmniaVersion.current,
        subcommands: [Serve.self, Migrate.self, TenantCommand.self, KeyCommand.self, ImportCommand.self, IdentityCommand.self, LedgerCommand.self, RecsCommand.self, Bench.self, Version.self]
    )
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version.")
    func run() { print("omnia \(OmniaVersion.current)") }
}
