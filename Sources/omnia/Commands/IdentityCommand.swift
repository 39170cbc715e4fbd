import ArgumentParser
import Foundation
import OmniaServer

/// `omnia identity match`: probabilistic matching of a tenant's customers, run at once.
struct IdentityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "identity", abstract: "Customer identity tools.", subcommands: [Match.self])

    struct Match: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Find customers that are likely one person (Fellegi–Sunter, weights learned from the data).",
            discussion: """
                Pairs scoring at or above --threshold are merged; those at or above --review-threshold go to the review queue \
                (GET /v1/identity/candidates). With --dry-run nothing changes: the pairs are listed and kept as 'proposed'. \
                Exit status: 0 when the job succeeded, 1 otherwise.
                """
        )
        @Option(help: "Tenant id (ten_…) or exact name.") var tenant: String
        @Option(help: "Merge pairs with at least this match probability (default 0.99).") var threshold: Double?
        @Option(help: "Queue pairs with at least this probability for review (default 0.5).") var reviewThreshold: Double?
        @Flag(help: "Score and list the pairs; merge and queue nothing.") var dryRun = false
        @Option(help: "How many of the most probable pairs to print.") var show = 20
        @OptionGroup var databaseOptions: DatabaseOptions

        func run() async throws {
            var failed = false
            try await runReportingErrors {
                let started = Date()
                let report = try await withServices(databaseOptions) { services in
                    try await OperatorTools(services: services).matchCustomers(tenant: tenant, threshold: threshold, reviewThreshold: reviewThreshold,
                                                                               dryRun: dryRun, show: show)
                }
                let seconds = String(format: "%.1f", Date().timeIntervalSince(started))
                for pair in report.pairs {
                    let probability = String(format: "%.4f", pair.probability)
                    let evidence = "same: \(pair.same.joined(separator: ",")); similar: \(pair.similar.joined(separator: ","))"
                    print("\(pair.candidateID)  \(pair.leftCustomerID) ~ \(pair.rightCustomerID)  p=\(probability)  \(pair.action) (\(pair.status))  \(evidence)")
                }
                let verb = report.dryRun ? "would merge" : "merged"
                let queued = report.dryRun ? "would queue" : "queued"
                print("job \(report.jobID) \(report.status) in \(seconds) s: \(report.records) customers, \(report.candidatePairs) candidate pairs scored, "
                      + "\(report.merged) \(verb), \(report.queuedForReview) \(queued) for review, \(report.alreadyDecided) decided before")
                if let error = report.error { print("error: \(error)") }
                failed = report.status != "succeeded"
            }
            if failed { throw ExitCode.failure }
        }
    }
}
