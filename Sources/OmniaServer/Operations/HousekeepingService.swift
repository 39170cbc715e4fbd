import Foundation
import Logging
import ServiceLifecycle

/// Periodic upkeep: forgets `Idempotency-Key`s past their retention (24 h by default), and on
/// PostgreSQL refreshes the planner's statistics of the tables every tenant grows, so a tenant that
/// grew since the last ANALYZE is not planned as if it were empty (see `refreshPlannerStatistics`).
struct HousekeepingService: Service {
    let services: AppServices
    static let interval = Duration.seconds(600)

    func run() async throws {
        await repeatUntilShutdown(every: Self.interval, logger: services.logger, failure: "housekeeping failed") { [self] in try await runOnce() }
    }

    func runOnce() async throws {
        let retention = services.config.idempotencyRetention.components.seconds * 1000
        let purged = try await services.idempotency.purge(olderThan: services.nowMilliseconds - retention)
        if purged > 0 { services.logger.info("purged idempotency keys", metadata: ["count": .stringConvertible(purged)]) }
        await services.database.refreshPlannerStatistics(Self.growingTables, logger: services.logger)
    }

    /// ANALYZE reads a fixed-size sample of each table, so the cost stays flat as they grow.
    static let growingTables = ["customers", "customer_identifiers", "transactions", "transaction_lines", "customer_channel_stats",
                                "customer_categories", "customer_location_stats", "journey_events"]
}
