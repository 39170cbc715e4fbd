import Foundation
import Logging
import ServiceLifecycle

/// Periodic clean-up: forgets `Idempotency-Key`s past their retention (24 h by default).
struct HousekeepingService: Service {
    let services: AppServices
    static let interval = Duration.seconds(600)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await runOnce()
                } catch {
                    services.logger.error("housekeeping failed", metadata: ["error": .string(String(describing: error))])
                }
                try? await Task.sleep(for: Self.interval)
            }
        }
    }

    func runOnce() async throws {
        let retention = services.config.idempotencyRetention.components.seconds * 1000
        let purged = try await services.idempotency.purge(olderThan: services.nowMilliseconds - retention)
        if purged > 0 { services.logger.info("purged idempotency keys", metadata: ["count": .stringConvertible(purged)]) }
    }
}
