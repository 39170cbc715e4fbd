import Foundation
import OmniaServer

/// `omnia bench --scenario campaigns.audience`: an audience campaign assigning a unique coupon to
/// each of 100,000 customers, its rule read on every one, run as the job runs it, in this process.
enum CampaignMeasurement {
    static let customers = 100_000

    static func run(database: DatabaseURL, databaseLabel: String) async throws -> BenchResult {
        let (seconds, outcome) = try await DatabaseFactory.with(database, logger: commandLogger()) { store in
            let services = AppServices(config: AppConfig(), database: store, logger: commandLogger())
            let seeded = try await DemoSeed.run(services, tenantName: "Campaign bench \(UUID().uuidString.prefix(8))")
            try await BenchSeed.customers(services, tenantID: seeded.tenantID, count: Self.customers)
            let coupons = try await BenchSeed.couponCampaign(services, tenantID: seeded.tenantID, codes: Self.customers)
            _ = try await BenchSeed.audienceCampaign(services, tenantID: seeded.tenantID, couponCampaignID: coupons, controlPercent: 0)
            let started = DispatchTime.now().uptimeNanoseconds
            let outcome = try await BenchSeed.runCampaign(services)
            return (Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9, outcome)
        }
        guard let outcome, outcome.coupons == Int64(Self.customers) else { throw BenchError("the campaign did not reach every customer: \(String(describing: outcome))") }
        print(String(format: "assigned %d coupons to an audience of %d customers in %.1f s: %.0f/s", outcome.coupons, outcome.targeted, seconds,
                     Double(outcome.coupons) / seconds))
        return BenchResult(scenario: "campaigns.audience", database: databaseLabel, connections: 1, duration: seconds, latenciesNanoseconds: [UInt64(seconds * 1e9)],
                           errors: 0, target: "100,000 customers <= 60 s")
    }
}
