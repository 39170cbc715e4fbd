import Logging
import ServiceLifecycle
import OmniaCore
import SQLKit

extension LoyaltyService {
    /// Puts `points` a refund gave back onto a points account as a new lot, which expires by the
    /// programme's rule from now (the spent lots are gone), and counts toward no tier.
    func refundPoints(on sql: any SQLDatabase, tenantID: String, accountID: String, points: Int64, holdID: String, now: Int64) async throws {
        guard let member = try await member(on: sql, tenantID: tenantID, accountID: accountID),
            let programme = try await LoyaltyProgrammeService(services: services).programme(on: sql, tenantID: tenantID, id: member.programmeID)
        else { throw LotsOutOfStep(accountID: accountID, missing: points) }
        try await insertLots(on: sql, tenantID: tenantID, [LotRow(
            id: services.ids.make(.loyaltyLot), accountID: accountID, originAccountID: accountID, kind: "refund", sourceID: holdID, points: points,
            remaining: points, qualifying: 0, linePoints: nil, earnedAt: now, expiresAt: programme.rules.expiry(earnedAt: now))])
    }

    /// Points accounts whose lots do not add up to their posted balance (the service never leaves
    /// one; a hand-edited database might): what `ledger verify` reports.
    static func lotsOutOfStep(on sql: any SQLDatabase, tenantID: String, limit: Int) async throws -> [(accountID: String, lots: Int64, balance: Int64)] {
        try await sql.raw("""
            SELECT a.id, a.credits_posted - a.debits_posted AS balance,
                (SELECT CAST(COALESCE(SUM(l.remaining), 0) AS BIGINT) FROM loyalty_lots l WHERE l.tenant_id = a.tenant_id AND l.account_id = a.id) AS lots
            FROM ledger_accounts a WHERE a.tenant_id = \(bind: tenantID) AND a.kind = 'points'
              AND a.credits_posted - a.debits_posted <> (SELECT COALESCE(SUM(l.remaining), 0) FROM loyalty_lots l
                                                        WHERE l.tenant_id = a.tenant_id AND l.account_id = a.id)
            ORDER BY a.id LIMIT \(literal: limit)
            """).all().map { (try $0.decode(column: "id", as: String.self), try $0.decode(column: "lots", as: Int64.self),
                              try $0.decode(column: "balance", as: Int64.self)) }
    }

    // MARK: Expiry

    /// Lots with points left whose expiry has passed, over every tenant, soonest first.
    static func dueLots(on sql: any SQLDatabase, now: Int64, limit: Int) async throws -> [(tenantID: String, lotID: String)] {
        try await sql.raw("""
            SELECT tenant_id, id FROM loyalty_lots WHERE remaining > 0 AND expires_at IS NOT NULL AND expires_at <= \(bind: now)
            ORDER BY expires_at, id LIMIT \(literal: limit)
            """).all().map { (try $0.decode(column: "tenant_id", as: String.self), try $0.decode(column: "id", as: String.self)) }
    }

    /// Expires what is left of a lot past its expiry: the points leave the member's account for the
    /// `points_expired` control account. Points an open hold reserves stay until it resolves (its
    /// capture spends this lot first; a void leaves it for the next sweep). Returns how many expired.
    func expire(on sql: any SQLDatabase, tenantID: String, lotID: String) async throws -> Int64 {
        let now = services.nowMilliseconds
        let lotQuery: SQLQueryString = "SELECT * FROM loyalty_lots WHERE tenant_id = \(bind: tenantID) AND id = \(bind: lotID)"
        guard let seen = try await sql.raw(lotQuery).all().first.map(Self.lot) else { return 0 }
        // The account locked first, then the lot read again: a sweep on another server that expired
        // it meanwhile has left it empty, and this one takes nothing more.
        _ = try await LedgerStore(tenantID: tenantID).lockedAccounts(on: sql, [seen.accountID])
        guard let lot = try await sql.raw(lotQuery).all().first.map(Self.lot),
            let expiresAt = lot.expiresAt, expiresAt <= now, lot.remaining > 0,
            let member = try await member(on: sql, tenantID: tenantID, accountID: lot.accountID) else { return 0 }
        let expired = try await take(on: sql, tenantID: tenantID, member: member, upTo: lot.remaining, purpose: Self.expiredPurpose, firstLot: lot.id,
                                     reason: "expired \(lot.id)", requestID: nil, now: now)
        guard expired > 0 else { return 0 }
        try await services.events.append(on: sql, tenantID: tenantID, type: "loyalty.points_expired", data: PointsMovement(
            accountId: member.accountID, programmeId: member.programmeID, customerId: member.customerID, points: expired, sourceId: lot.id,
            reason: "expired"), requestID: nil)
        return expired
    }

    /// Members whose tier window has ended, over every tenant: the sweep re-evaluates them.
    static func tiersDue(on sql: any SQLDatabase, now: Int64, limit: Int) async throws -> [(tenantID: String, accountID: String)] {
        try await sql.raw("""
            SELECT tenant_id, account_id FROM loyalty_members WHERE tier_until <= \(bind: now) ORDER BY tier_until LIMIT \(literal: limit)
            """).all().map { (try $0.decode(column: "tenant_id", as: String.self), try $0.decode(column: "account_id", as: String.self)) }
    }
}

/// Expires points past their lot's expiry and re-evaluates tiers whose window ended, each in its
/// own transaction; one that fails is logged and left for the next sweep.
struct LoyaltySweep: Sendable {
    let services: AppServices
    static let batch = 200

    /// Returns the points expired and the tiers re-evaluated.
    func sweep() async throws -> (points: Int64, tiers: Int) {
        var points: Int64 = 0
        var seen = Set<String>()
        while true {
            let due = try await services.database.read { [services] sql in
                try await LoyaltyService.dueLots(on: sql, now: services.nowMilliseconds, limit: Self.batch)
            }.filter { !seen.contains($0.lotID) }
            for (tenantID, lotID) in due {
                seen.insert(lotID)
                do {
                    points += try await services.database.transaction { [services] sql in
                        try await LoyaltyService(services: services).expire(on: sql, tenantID: tenantID, lotID: lotID)
                    }
                } catch {
                    services.logger.error("points could not be expired", metadata: [
                        "tenant_id": .string(tenantID), "lot_id": .string(lotID), "error": .string(String(describing: error)),
                    ])
                }
            }
            // A lot held by an open hold stays due: each is tried once per sweep.
            if due.isEmpty { break }
        }
        let now = services.nowMilliseconds
        let tiers = try await services.database.read { sql in try await LoyaltyService.tiersDue(on: sql, now: now, limit: 10_000) }
        for (tenantID, group) in Dictionary(grouping: tiers, by: \.tenantID) {
            for chunk in group.map(\.accountID).chunks(of: Self.batch) {
                try await services.database.transaction { [services] sql in
                    try await LoyaltyService(services: services).reevaluate(on: sql, tenantID: tenantID, Array(chunk), requestID: nil, now: now)
                }
            }
        }
        return (points, tiers.count)
    }
}

/// Runs `LoyaltySweep` every minute: points expire, and tiers drop, within a minute of their time.
struct LoyaltySweepWorker: Service {
    let services: AppServices
    static let interval = Duration.seconds(60)

    func run() async throws {
        await repeatUntilShutdown(every: Self.interval, logger: services.logger, failure: "loyalty sweep failed") { [services] in
            let swept = try await LoyaltySweep(services: services).sweep()
            if swept.points > 0 || swept.tiers > 0 {
                services.logger.info("loyalty sweep", metadata: ["points_expired": .stringConvertible(swept.points), "tiers": .stringConvertible(swept.tiers)])
            }
        }
    }
}
