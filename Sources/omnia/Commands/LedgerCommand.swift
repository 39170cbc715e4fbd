import ArgumentParser
import Foundation
import OmniaServer

/// `omnia ledger verify`: the benefits ledger's invariants, checked from its transfers.
struct LedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ledger", abstract: "Benefits ledger tools.", subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check that every unit sums to zero and every cached balance equals its transfers.",
            discussion: "Exit status: 0 when every ledger checked is sound, 2 when something was found (and listed), 1 on failure."
        )
        @Option(help: "Tenant id (ten_…) or exact name (default: every tenant with a ledger).") var tenant: String?
        @OptionGroup var databaseOptions: DatabaseOptions

        func run() async throws {
            var unsound = false
            try await runReportingErrors {
                let verifications = try await withServices(databaseOptions) { services in
                    try await OperatorTools(services: services).verifyLedger(tenant: tenant)
                }
                for verification in verifications {
                    let verdict = verification.findings.isEmpty ? "sound" : "\(verification.findings.count) finding(s)"
                    print("\(verification.tenantID): \(verification.accounts) accounts, \(verdict)")
                    for finding in verification.findings { print("  \(finding)") }
                    unsound = unsound || !verification.findings.isEmpty
                }
                if verifications.isEmpty { print("no ledger accounts yet") }
            }
            if unsound { throw ExitCode(2) }
        }
    }
}
