import ArgumentParser
import Foundation
import OmniaCore
import OmniaServer

/// `omnia recs evaluate`: how well recommendations would have predicted each customer's last basket.
struct RecsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "recs", abstract: "Product recommendation tools.", subcommands: [Evaluate.self])

    struct Evaluate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Evaluate recommendations offline on the tenant's own sales (leave the last basket out).",
            discussion: """
                Each customer's last basket is held out; a model built from every other basket recommends 10 items from the \
                customer's earlier history, and precision@10, hit-rate@10 and NDCG@10 are reported for the blended recommender \
                and for the popularity and item-to-item baselines, as a table and as JSON. Writes nothing. \
                Exit status: 0 when evaluated, 1 on failure.
                """
        )
        @Option(help: "Tenant id (ten_…) or exact name (default: every tenant with sales).") var tenant: String?
        @Option(help: "Evaluate at most this many customers per tenant, evenly sampled (0: all).") var customers = 5_000
        @OptionGroup var databaseOptions: DatabaseOptions

        func run() async throws {
            try await runReportingErrors {
                let reports = try await withServices(databaseOptions) { services in
                    try await RecommendationEvaluationRun(services: services).run(tenant: tenant, maximumCustomers: customers > 0 ? customers : nil)
                }
                for report in reports {
                    let seconds = String(format: "%.1f", Double(report.milliseconds) / 1_000)
                    print("\(report.tenantId): \(report.baskets) baskets, \(report.lines) lines, evaluated in \(seconds) s")
                    print(report.evaluation.table)
                    print(String(decoding: try JSONWriter.encode(report), as: UTF8.self))
                }
                if reports.isEmpty { print("no tenant with sales yet") }
            }
        }
    }
}
