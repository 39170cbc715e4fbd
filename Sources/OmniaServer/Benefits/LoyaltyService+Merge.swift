import OmniaCore
import SQLKit

extension LoyaltyService {
    /// When `mergedID` merges into `survivorID`, the merged member's points move to the survivor's
    /// account in each programme by a ledger transfer, their lots with them (each keeping its
    /// expiry and saying whose it was), any debt too, and the survivor keeps the higher tier.
    /// What moved is recorded with the merge, for `unmerge`.
    func merge(on sql: any SQLDatabase, tenantID: String, survivorID: String, mergedID: String, mergeID: String, requestID: String?) async throws {
        let merged = try await members(on: sql, tenantID: tenantID, customerIDs: [mergedID])
        guard !merged.isEmpty else { return }
        let programmes = try await LoyaltyProgrammeService(services: services).programmes(on: sql, ids: merged.map(\.programmeID), tenantID: tenantID)
        let now = services.nowMilliseconds
        for from in merged {
            guard let programme = programmes[from.programmeID],
                let to = try await members(on: sql, tenantID: tenantID, programme: programme, customerIDs: [survivorID], now: now)[survivorID]
            else { continue }
            let points = try await movePoints(on: sql, tenantID: tenantID, from: from.accountID, to: to.accountID, origins: nil, reason: mergeID,
                                              requestID: requestID, now: now)
            let debt = try await moveDebt(on: sql, tenantID: tenantID, from: from.accountID, to: to.accountID, atMost: .max, reason: mergeID,
                                          requestID: requestID, now: now)
            let tier = programme.rules.higher(to.tier, from.tier)
            let until = max(to.tierUntil, from.tierUntil)
            try await setTiers(on: sql, tenantID: tenantID, [(to.accountID, tier, until)], now: now)
            try await sql.raw("""
                INSERT INTO loyalty_merge_moves (tenant_id, merge_id, programme_id, from_account_id, to_account_id, points, debt, survivor_tier_before,
                                                 survivor_tier_until_before, survivor_tier_after)
                VALUES (\(bind: tenantID), \(bind: mergeID), \(bind: programme.id), \(bind: from.accountID), \(bind: to.accountID), \(bind: points),
                        \(bind: debt), \(bind: to.tier), \(bind: to.tierUntil), \(bind: tier))
                """).run()
            try await services.events.append(on: sql, tenantID: tenantID, type: "loyalty.points_merged", data: PointsMovement(
                accountId: to.accountID, programmeId: programme.id, customerId: survivorID, points: points, sourceId: mergeID,
                reason: "merged from \(from.accountID)"), requestID: requestID)
            if tier != to.tier {
                try await services.events.append(on: sql, tenantID: tenantID, type: "loyalty.tier_changed", data: TierChange(
                    accountId: to.accountID, programmeId: programme.id, customerId: survivorID, from: to.tier, to: tier,
                    until: StoredTime(milliseconds: until)), requestID: requestID)
            }
        }
    }

    /// Undoes what `merge` moved for the merge `mergeID`: the lots that came from the customers
    /// going back (`restoredIDs`) return to the restored member with what is left of them — points
    /// spent while merged stay spent — the debt moved back as far as it is still owed, and the
    /// survivor's tier is what it was before unless it changed since.
    func unmerge(on sql: any SQLDatabase, tenantID: String, mergeID: String, restoredIDs: [String], requestID: String?) async throws {
        let moves = try await sql.raw("""
            SELECT * FROM loyalty_merge_moves WHERE tenant_id = \(bind: tenantID) AND merge_id = \(bind: mergeID) ORDER BY programme_id
            """).all()
        let now = services.nowMilliseconds
        for move in moves {
            let programmeID = try move.decode(column: "programme_id", as: String.self)
            let restored = try move.decode(column: "from_account_id", as: String.self)
            let survivor = try move.decode(column: "to_account_id", as: String.self)
            let origins = try await sql.raw("""
                SELECT account_id FROM loyalty_members WHERE tenant_id = \(bind: tenantID) AND programme_id = \(bind: programmeID)
                  AND customer_id IN (\(binds: restoredIDs))
                """).all().map { try $0.decode(column: "account_id", as: String.self) }
            let points = try await movePoints(on: sql, tenantID: tenantID, from: survivor, to: restored, origins: Set(origins), reason: mergeID,
                                              requestID: requestID, now: now)
            _ = try await moveDebt(on: sql, tenantID: tenantID, from: survivor, to: restored, atMost: try move.decode(column: "debt", as: Int64.self),
                                   reason: mergeID, requestID: requestID, now: now)
            if let member = try await member(on: sql, tenantID: tenantID, accountID: survivor),
                member.tier == (try move.decode(column: "survivor_tier_after", as: String.self)) {
                try await setTiers(on: sql, tenantID: tenantID, [(survivor, try move.decode(column: "survivor_tier_before", as: String.self),
                                                                  try move.decode(column: "survivor_tier_until_before", as: Int64.self))], now: now)
            }
            if let member = try await member(on: sql, tenantID: tenantID, accountID: restored) {
                try await services.events.append(on: sql, tenantID: tenantID, type: "loyalty.points_unmerged", data: PointsMovement(
                    accountId: restored, programmeId: programmeID, customerId: member.customerID, points: points, sourceId: mergeID,
                    reason: "moved back from \(survivor)"), requestID: requestID)
            }
        }
    }

    /// Moves the points of `from`'s lots (those whose origin is one of `origins`, or all) to `to`:
    /// as much as `from` has available (an open hold's points stay), the lots re-pointed whole —
    /// the latest to expire first — and the last one split. Returns the points moved.
    private func movePoints(on sql: any SQLDatabase, tenantID: String, from: String, to: String, origins: Set<String>?, reason: String,
                            requestID: String?, now: Int64) async throws -> Int64 {
        let ledger = LedgerStore(tenantID: tenantID)
        let accounts = try await ledger.lockedAccounts(on: sql, [from, to].sorted())
        guard let source = accounts[from], accounts[to] != nil else { return 0 }
        let lots = try await lotsLeft(on: sql, tenantID: tenantID, accountID: from, limit: 100_000).filter { origins?.contains($0.originAccountID) ?? true }
        var left = min(lots.reduce(0) { $0 + $1.remaining }, max(source.balance.available, 0))
        let moved = left
        guard moved > 0 else { return 0 }
        _ = try await ledger.post(on: sql, [LedgerTransferRequest(debitAccountID: from, creditAccountID: to, amount: moved, unit: .points)],
                                  ids: services.ids, reason: reason, requestID: requestID, now: now)
        var whole: [String] = []
        for lot in lots.reversed() where left > 0 {
            if lot.remaining <= left {
                whole.append(lot.id)
                left -= lot.remaining
                continue
            }
            try await addRemaining(on: sql, tenantID: tenantID, [(lot.id, -left)])
            try await insertLots(on: sql, tenantID: tenantID, [LotRow(
                id: services.ids.make(.loyaltyLot), accountID: to, originAccountID: lot.originAccountID, kind: "moved", sourceID: lot.id, points: left,
                remaining: left, qualifying: 0, linePoints: nil, earnedAt: lot.earnedAt, expiresAt: lot.expiresAt)])
            left = 0
        }
        if !whole.isEmpty {
            try await sql.raw("UPDATE loyalty_lots SET account_id = \(bind: to) WHERE tenant_id = \(bind: tenantID) AND id IN (\(binds: whole))").run()
        }
        return moved
    }

    /// Moves up to `atMost` of the debt on `from`'s debt account to `to`'s. Returns the debt moved.
    private func moveDebt(on sql: any SQLDatabase, tenantID: String, from: String, to: String, atMost: Int64, reason: String, requestID: String?,
                          now: Int64) async throws -> Int64 {
        let ledger = LedgerStore(tenantID: tenantID)
        let (fromDebt, toDebt) = (Self.debtAccountID(from), Self.debtAccountID(to))
        guard let account = try await ledger.accounts(on: sql, ids: [fromDebt]).first else { return 0 }
        let debt = min(-account.balance.posted, atMost)
        guard debt > 0 else { return 0 }
        let owner = try await member(on: sql, tenantID: tenantID, accountID: to)?.customerID
        try await ledger.open(on: sql, id: toDebt, unit: .points, kind: "points_debt", customerID: owner, flags: [], now: now)
        _ = try await ledger.post(on: sql, [LedgerTransferRequest(debitAccountID: toDebt, creditAccountID: fromDebt, amount: debt, unit: .points)],
                                  ids: services.ids, reason: reason, requestID: requestID, now: now)
        try await markInDebt(on: sql, tenantID: tenantID, accountID: to)
        return debt
    }
}
