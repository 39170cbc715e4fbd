import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import OmniaServer

/// `omnia bench --scenario analytics`: a chain of 100,000 customers and about a million sales over
/// 200 days (`AnalyticsBench.seed`), then — as the jobs run them, in this process — RFM, lifetime
/// value fitted and scored, five dynamic segments computed and refreshed, the recommendation
/// model rebuilt and one sale's profile upkeep; then the journey analytics reports, each read
/// ten times over HTTP from a server on the same database. Prints every figure and the process's
/// peak memory; the row's latencies are the reports'.
enum AnalyticsMeasurement {
    static let customers = 100_000
    static let days = 200
    static let journeyPaths = [
        "/v1/analytics/channel-mix?interval=week", "/v1/analytics/channel-transitions", "/v1/analytics/cross-channel", "/v1/analytics/ropo",
        "/v1/analytics/abandoned-carts", "/v1/analytics/store-identification", "/v1/analytics/returns", "/v1/analytics/maturity",
    ]
    static let readsPerReport = 10

    static func run(database: DatabaseURL, databaseLabel: String, childDatabase: String, folder: URL, customers: Int = customers) async throws -> BenchResult {
        let (admin, figures) = try await DatabaseFactory.with(database, logger: commandLogger()) { store in
            let services = AppServices(config: AppConfig(), database: store, logger: commandLogger())
            let seeded = try await DemoSeed.run(services, tenantName: "Analytics bench \(UUID().uuidString.prefix(8))")
            let data = try await AnalyticsBench.seed(services, tenantID: seeded.tenantID, customers: customers, days: days, folder: folder)
            print(String(format: "seeded %d customers, %d sales (%d lines) and %d journey events in %.0f s", data.customers, data.transactions, data.lines,
                         data.events, data.seconds))
            return (seeded.adminKey, try await AnalyticsBench.measure(services, tenantID: seeded.tenantID))
        }
        let peak = ImportMeasurement.peakResidentMegabytes()
        print(String(format: "RFM of %d customers: %.2f s (target <= 10 s)", figures.rfmCustomers, figures.rfm))
        print(String(format: "lifetime value fitted and scored for %d customers: %.2f s (target <= 20 s)", figures.clvCustomers, figures.clv))
        print(String(format: "5 dynamic segments over %d customers: first computation %.2f s, refreshed again %.2f s (target <= 2 s)",
                     figures.segmentCustomers, figures.segmentsFirst, figures.segmentsAgain))
        print(String(format: "recommendation model rebuilt from %d lines: %.2f s (target <= 60 s)", figures.recommendationLines, figures.recommendationsRebuild))
        print(String(format: "one sale's profile upkeep (its aggregates' upserts): %.0f µs (target <= 1 ms added to an ingest)", figures.profileUpkeepMicroseconds))
        print(String(format: "peak resident memory of this process: %.0f MB (target <= 1 GB)", peak))

        // The reports over HTTP, one after another, from a server on the same database.
        let server = try ServerProcess(arguments: ["--database", childDatabase, "--rate-limit", "0", "--log-level", "error", "--no-workers"])
        defer { server.stop() }
        let port = try await server.port()
        let connection = try await LoadConnection.connect(host: "127.0.0.1", port: port, group: MultiThreadedEventLoopGroup.singleton)
        var latencies: [UInt64] = []
        var errors = 0
        for path in journeyPaths {
            var slowest: UInt64 = 0
            for _ in 0..<readsPerReport {
                let started = DispatchTime.now().uptimeNanoseconds
                let (status, _) = try await connection.send(method: .GET, path: path, headers: [("Authorization", "Bearer \(admin)")], body: nil)
                let took = DispatchTime.now().uptimeNanoseconds - started
                if status != 200 { errors += 1 }
                latencies.append(took)
                slowest = max(slowest, took)
            }
            print(String(format: "  %@: slowest of %d reads %.0f ms", path, readsPerReport, Double(slowest) / 1e6))
        }
        await connection.close()
        let total = Double(latencies.reduce(0, +)) / 1e9
        var result = BenchResult(scenario: "analytics", database: databaseLabel, connections: 1, duration: total, latenciesNanoseconds: latencies, errors: errors,
                                 target: "journey reports p99 <= 500 ms; RFM <= 10 s, CLV <= 20 s, segments <= 2 s, RSS <= 1 GB")
        result.books = String(format: "RFM %.2f s, CLV %.2f s, segments %.2f s (first %.2f s), recommendations rebuild %.2f s, profile upkeep %.0f µs, peak RSS %.0f MB",
                              figures.rfm, figures.clv, figures.segmentsAgain, figures.segmentsFirst, figures.recommendationsRebuild,
                              figures.profileUpkeepMicroseconds, peak)
        return result
    }
}
