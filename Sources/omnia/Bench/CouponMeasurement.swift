import Foundation
import OmniaServer

/// `omnia bench --scenario coupons.generate`: generates 1,000,000 single-use codes for a new
/// unique campaign with the API's code, in this process, and reports how long it took.
enum CouponMeasurement {
    static let codes = 1_000_000

    static func run(database: DatabaseURL, databaseLabel: String) async throws -> BenchResult {
        let seconds = try await DatabaseFactory.with(database, logger: commandLogger()) { store in
            let services = AppServices(config: AppConfig(), database: store, logger: commandLogger())
            let seeded = try await DemoSeed.run(services, tenantName: "Coupon bench \(UUID().uuidString.prefix(8))")
            let started = DispatchTime.now().uptimeNanoseconds
            _ = try await BenchSeed.couponCampaign(services, tenantID: seeded.tenantID, codes: Self.codes)
            return Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        }
        print(String(format: "generated %d coupon codes in %.1f s: %.0f/s", Self.codes, seconds, Double(Self.codes) / seconds))
        return BenchResult(scenario: "coupons.generate", database: databaseLabel, connections: 1, duration: seconds, latenciesNanoseconds: [UInt64(seconds * 1e9)],
                           errors: 0, target: "1,000,000 codes <= 30 s")
    }
}
