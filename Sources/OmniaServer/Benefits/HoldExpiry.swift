import Foundation
import Logging
import OmniaCore
import ServiceLifecycle

/// Voids holds past their expiry, so value a checkout reserved and never captured becomes
/// available again: checkout holds first (each `expired`, with a `hold.expired` event), then any
/// ledger hold left. Each hold is voided in its own transaction; one captured or voided meanwhile
/// is skipped (its open row is gone, so the void is refused), and one that fails otherwise is
/// logged and left for the next sweep without holding up the others.
struct HoldExpiry: Sendable {
    let services: AppServices
    static let batch = 200

    /// Expires every checkout hold and voids every ledger hold expired by now; returns how many of each.
    func sweep() async throws -> Int {
        try await expireCheckoutHolds() + voidLedgerHolds()
    }

    private func expireCheckoutHolds() async throws -> Int {
        var expired = 0
        while true {
            let now = services.nowMilliseconds
            let due = try await services.database.read { sql in try await CheckoutHoldService.expiredHolds(on: sql, now: now, limit: Self.batch) }
            var progressed = false
            for (tenantID, holdID) in due {
                do {
                    let changed = try await services.database.transaction { [services] sql in
                        try await CheckoutHoldService(services: services).expire(on: sql, tenantID: tenantID, id: holdID)
                    }
                    if changed { expired += 1 }
                    progressed = true
                } catch {
                    services.logger.error("an expired checkout hold could not be released", metadata: [
                        "tenant_id": .string(tenantID), "hold_id": .string(holdID), "error": .string(String(describing: error)),
                    ])
                }
            }
            if due.count < Self.batch || !progressed { return expired }
        }
    }

    private func voidLedgerHolds() async throws -> Int {
        var voided = 0
        while true {
            let now = services.nowMilliseconds
            let expired = try await services.database.read { sql in try await LedgerStore.expiredHolds(on: sql, now: now, limit: Self.batch) }
            var progressed = false
            for (tenantID, holdID) in expired {
                do {
                    _ = try await services.database.transaction { [services] sql in
                        try await LedgerStore(tenantID: tenantID).void(on: sql, holdID: holdID, expired: true, ids: services.ids, reason: nil,
                                                                       requestID: nil, now: services.nowMilliseconds)
                    }
                    voided += 1
                    progressed = true
                } catch let refused as LedgerRefused where refused.refusal == .holdAlreadyResolved {
                    progressed = true
                } catch {
                    services.logger.error("an expired hold could not be voided", metadata: [
                        "tenant_id": .string(tenantID), "hold_id": .string(holdID), "error": .string(String(describing: error)),
                    ])
                }
            }
            // A full batch of holds that all failed would come back unchanged: leave them to the next sweep.
            if expired.count < Self.batch || !progressed { return voided }
        }
    }
}

/// Runs `HoldExpiry` every few seconds: a hold is released within `interval` of its expiry.
struct HoldExpiryWorker: Service {
    let services: AppServices
    static let interval = Duration.seconds(5)

    func run() async throws {
        await repeatUntilShutdown(every: Self.interval, logger: services.logger, failure: "hold expiry sweep failed") { [services] in
            let voided = try await HoldExpiry(services: services).sweep()
            if voided > 0 { services.logger.info("expired holds voided", metadata: ["count": .stringConvertible(voided)]) }
        }
    }
}
