import Foundation
import OmniaCore
import OmniaServer

/// `omnia bench --scenario identity.match`: a tenant holding a store CRM's 10,000 customers and a
/// web shop's 10,000 (6,000 of them messy copies of CRM people: typos, swapped names, missing and
/// changed values), matched by `omnia identity match`'s code in this process. Reports the whole
/// job's time (read, block, compare, learn, merge, queue) and precision/recall against the truth.
enum MatchMeasurement {
    static let perSystem = 10_000
    static let overlap = 6_000

    static func run(database: DatabaseURL, databaseLabel: String) async throws -> BenchResult {
        var generator = SyntheticCustomers(seed: 20261123)
        let (crm, shop, truth) = generator.twoSystems(crm: perSystem, shop: perSystem, overlap: overlap)
        let (seconds, report, found) = try await DatabaseFactory.with(database, logger: commandLogger()) { store in
            let services = AppServices(config: AppConfig(), database: store, logger: commandLogger())
            let seeded = try await DemoSeed.run(services, tenantName: "Match bench \(UUID().uuidString.prefix(8))")
            let customerIDs = try await BenchSeed.profiles(services, tenantID: seeded.tenantID, crm + shop)
            let recordOf = Dictionary(uniqueKeysWithValues: customerIDs.map { ($0.value, $0.key) })
            let started = DispatchTime.now().uptimeNanoseconds
            let report = try await OperatorTools(services: services).matchCustomers(tenant: seeded.tenantID, threshold: nil, reviewThreshold: nil,
                                                                                    dryRun: false, show: 0)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            let pairs = try await OperatorTools(services: services).matchedPairs(tenant: seeded.tenantID, jobID: report.jobID)
            let found = Set(pairs.map { pair in
                let records = [recordOf[pair.0] ?? "", recordOf[pair.1] ?? ""].sorted { $0.hasPrefix("p") && !$1.hasPrefix("p") }
                return "\(records[0])|\(records[1])"
            })
            return (seconds, report, found)
        }
        let truePositives = Double(found.intersection(truth).count)
        let precision = truePositives / Double(max(found.count, 1)), recall = truePositives / Double(truth.count)
        let f1 = 2 * precision * recall / max(precision + recall, 1e-9)
        print(String(format: "matched %d customers in %.1f s: %d candidate pairs, %d merged, %d queued for review; "
                     + "merged + queued vs truth: precision %.4f, recall %.4f, F1 %.4f", report.records, seconds, report.candidatePairs,
                     report.merged, report.queuedForReview, precision, recall, f1))
        return BenchResult(scenario: "identity.match", database: databaseLabel, connections: 1, duration: seconds,
                           latenciesNanoseconds: [UInt64(seconds * 1e9)], errors: report.status == "succeeded" ? 0 : 1,
                           target: String(format: "10,000 x 10,000 <= 60 s; F1 %.4f (precision %.4f, recall %.4f)", f1, precision, recall))
    }
}
