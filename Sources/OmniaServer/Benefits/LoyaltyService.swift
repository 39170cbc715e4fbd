import Foundation
import OmniaCore
import SQLKit

/// A customer's membership of a programme as stored: their points account and tier.
struct LoyaltyMember: Sendable, Equatable {
    let accountID: String
    let programmeID: String
    let customerID: String
    let tier: String
    let tierUntil: Int64
    /// Whether a return may have left a debt the next earnings repay.
    var inDebt: Bool = false
}

/// Loyalty points on the ledger. A member's points live on their points account (`pts_…`, which
/// never goes below zero) and, alongside, in lots — one per earning, adjustment or refund — that
/// say when each point expires and what of it qualifies toward a tier. Every change to an account's
/// posted points changes its lots by as much, after the ledger change locked the account, so the
/// lots always add up to the account's balance (`ledger verify` checks it).
///
/// A sale with an identified customer earns in the active programme of its currency, whichever
/// path recorded it (one request, a grouped write, a bulk import, a receipt claimed later); its
/// returns take back each line's points in proportion. Points a return takes back that were
/// already spent are written off (policy `forbid`) or become a debt on the member's debt account
/// (`pts_…_debt`, policy `allow`) that their next earnings repay first.
struct LoyaltyService: Sendable {
    let services: AppServices

    static let issuedPurpose = "points_issued"
    static let reversedPurpose = "points_reversed"
    static let expiredPurpose = "points_expired"
    static let adjustedPurpose = "points_adjusted"

    static func debtAccountID(_ accountID: String) -> String { accountID + "_debt" }

    private var programmes: LoyaltyProgrammeService { LoyaltyProgrammeService(services: services) }

    // MARK: Members

    /// The members of `programme` for each of `customerIDs` (roots), enrolled now when they were not:
    /// a member row and its points account, in two statements for all. Two first earnings at once
    /// enrol once: the unique index decides, and both read the winner's row after.
    func members(on sql: any SQLDatabase, tenantID: String, programme: StoredLoyaltyProgramme, customerIDs: Set<String>,
                 now: Int64) async throws -> [String: LoyaltyMember] {
        try await members(on: sql, tenantID: tenantID, programme: programme, customerIDs: customerIDs, now: now, qualifyingSince: nil).mapValues(\.member)
    }

    /// As above, each with their qualifying points since `qualifyingSince` read in the same
    /// statement (0 when not asked for): what a sale's earning needs, in one read.
    func members(on sql: any SQLDatabase, tenantID: String, programme: StoredLoyaltyProgramme, customerIDs: Set<String>, now: Int64,
                 qualifyingSince: Int64?) async throws -> [String: (member: LoyaltyMember, qualifying: Int64)] {
        guard !customerIDs.isEmpty else { return [:] }
        var found = try await members(on: sql, tenantID: tenantID, programmeID: programme.id, customerIDs: Array(customerIDs), qualifyingSince: qualifyingSince)
        let missing = customerIDs.subtracting(found.keys).sorted()
        guard !missing.isEmpty else { return found }
        let base = programme.rules.baseTier.code
        let until = now + programme.rules.qualificationWindow
        let made = Dictionary(uniqueKeysWithValues: missing.map { ($0, services.ids.make(.loyaltyAccount)) })
        try await sql.insertRows(into: "loyalty_members", columns: ["tenant_id", "account_id", "programme_id", "customer_id", "tier", "tier_until",
                                                                  "in_debt", "created_at", "updated_at"], missing,
                                 suffix: " ON CONFLICT DO NOTHING") { customerID, values in
            values.add(tenantID)
            values.add(made[customerID]!)
            values.add(programme.id)
            values.add(customerID)
            values.add(base)
            values.add(until)
            values.add(0)
            values.add(now)
            values.add(now)
        }
        found.merge(try await members(on: sql, tenantID: tenantID, programmeID: programme.id, customerIDs: missing, qualifyingSince: qualifyingSince)) { old, _ in old }
        let opened = missing.compactMap { customerID in found[customerID].flatMap { $0.member.accountID == made[customerID] ? $0.member : nil } }
        try await LedgerStore(tenantID: tenantID).openAccounts(on: sql, opened.map { member in
            (member.accountID, LedgerUnit.points, "points", member.customerID, LedgerAccountFlags.debitsMustNotExceedCredits)
        }, now: now)
        return found
    }

    func members(on sql: any SQLDatabase, tenantID: String, programmeID: String, customerIDs: [String]) async throws -> [String: LoyaltyMember] {
        try await members(on: sql, tenantID: tenantID, programmeID: programmeID, customerIDs: customerIDs, qualifyingSince: nil).mapValues(\.member)
    }

    /// Members earning may need, read before the write's transaction: by programme, the members
    /// of `customerIDs` (roots) in each active programme, with their qualifying points. On
    /// PostgreSQL the read runs before BEGIN (`independentRows`), so a group of returning
    /// customers' sales stays one self-committing statement; what it does not find, `earn` reads as ever.
    typealias PrefetchedMembers = [String: [String: (member: LoyaltyMember, qualifying: Int64)]]

    func prefetchMembers(on sql: any SQLDatabase, tenantID: String, customerIDs: Set<String>) async throws -> PrefetchedMembers {
        guard !customerIDs.isEmpty else { return [:] }
        let now = services.nowMilliseconds
        var prefetched: PrefetchedMembers = [:]
        for programme in try await programmes.activeProgrammes(on: sql, tenantID: tenantID).values {
            prefetched[programme.id] = try await members(on: sql, tenantID: tenantID, programmeID: programme.id, customerIDs: Array(customerIDs),
                                                         qualifyingSince: now - programme.rules.qualificationWindow, independent: true)
        }
        return prefetched
    }

    private func members(on sql: any SQLDatabase, tenantID: String, programmeID: String, customerIDs: [String],
                         qualifyingSince: Int64?, independent: Bool = false) async throws -> [String: (member: LoyaltyMember, qualifying: Int64)] {
        let qualifying: SQLQueryString = qualifyingSince.map { since in """
            (SELECT CAST(COALESCE(SUM(l.qualifying), 0) AS BIGINT) FROM loyalty_lots l
             WHERE l.tenant_id = m.tenant_id AND l.account_id = m.account_id AND l.earned_at >= \(bind: since) AND l.qualifying > 0)
            """ } ?? "0"
        let query: SQLQueryString = """
            SELECT m.*, \(qualifying) AS qualifying FROM loyalty_members m WHERE m.tenant_id = \(bind: tenantID) AND m.programme_id = \(bind: programmeID)
              AND m.customer_id IN (\(binds: customerIDs))
            """
        let rows = try await (independent ? sql.independentRows(query) : sql.raw(query).all())
            .map { (try Self.member($0), try $0.decode(column: "qualifying", as: Int64.self)) }
        return Dictionary(uniqueKeysWithValues: rows.map { ($0.0.customerID, $0) })
    }

    func member(on sql: any SQLDatabase, tenantID: String, accountID: String) async throws -> LoyaltyMember? {
        try await sql.raw("SELECT * FROM loyalty_members WHERE tenant_id = \(bind: tenantID) AND account_id = \(bind: accountID)").all().first.map(Self.member)
    }

    /// Every membership of the customers named (roots or not).
    func members(on sql: any SQLDatabase, tenantID: String, customerIDs: [String]) async throws -> [LoyaltyMember] {
        guard !customerIDs.isEmpty else { return [] }
        return try await sql.raw("""
            SELECT * FROM loyalty_members WHERE tenant_id = \(bind: tenantID) AND customer_id IN (\(binds: customerIDs)) ORDER BY account_id
            """).all().map(Self.member)
    }

    static func member(_ row: any SQLRow) throws -> LoyaltyMember {
        LoyaltyMember(accountID: try row.decode(column: "account_id", as: String.self), programmeID: try row.decode(column: "programme_id", as: String.self),
                      customerID: try row.decode(column: "customer_id", as: String.self), tier: try row.decode(column: "tier", as: String.self),
                      tierUntil: try row.decode(column: "tier_until", as: Int64.self), inDebt: try row.decode(column: "in_debt", as: Int.self) != 0)
    }

    // MARK: Earning

    /// A sale that may earn: its row (with the customer it landed on, a root) and lines.
    struct EarningSale: Sendable {
        let row: TransactionRow
        let lines: [TransactionLine]
        let customerID: String
        /// Per line, promotions' bonus points earned with it (and taken back with it by a return).
        var bonusPoints: [Int64]? = nil
    }

    /// Points given to a member: a new lot, after any debt is repaid.
    struct Credit: Sendable {
        let member: LoyaltyMember
        let programme: StoredLoyaltyProgramme
        let points: Int64
        let kind: String
        let sourceID: String
        let qualifying: Int64
        let linePoints: [Int64]?
        let earnedAt: Int64
        let reason: String?
    }

    /// Earns the points of `sales` in the active programme of each one's currency, in a handful of
    /// statements whatever their number (a bulk import's batch is one call): one read of the
    /// programmes, one of the members (none when `prefetched` has them all), one ledger write
    /// (`postUnrefusable`), one insert of the lots, and the members' tiers re-evaluated together.
    /// Returns the events to append with the sales' own (`loyalty.points_earned`, `loyalty.tier_changed`).
    func earn(on sql: any SQLDatabase, tenantID: String, _ sales: [EarningSale], requestID: String?,
              prefetched: PrefetchedMembers = [:]) async throws -> [PendingEvent] {
        guard !sales.isEmpty else { return [] }
        let active = try await programmes.activeProgrammes(on: sql, tenantID: tenantID)
        let earning = sales.filter { active[$0.row.currency] != nil }
        guard !earning.isEmpty else { return [] }
        let now = services.nowMilliseconds
        var channelCodes: [String: String] = [:]
        if active.values.contains(where: { $0.rules.earnRules.contains { $0.channels != nil } }) {
            // Channels never change: known to the process, they cost no statement.
            for channelID in Set(earning.map(\.row.channelId)) {
                channelCodes[channelID] = try await services.platform.knownChannel(on: sql, tenantID: tenantID, channelID)?.code
            }
        }
        var credits: [Credit] = []
        var earners: [String: (member: LoyaltyMember, rules: LoyaltyRules, qualifying: Int64)] = [:]
        for (currency, group) in Dictionary(grouping: earning, by: \.row.currency) {
            let programme = active[currency]!
            var members = prefetched[programme.id] ?? [:]
            let unread = Set(group.map(\.customerID)).subtracting(members.keys)
            if !unread.isEmpty {
                members.merge(try await self.members(on: sql, tenantID: tenantID, programme: programme, customerIDs: unread, now: now,
                                                     qualifyingSince: now - programme.rules.qualificationWindow)) { _, read in read }
            }
            for sale in group {
                guard let (member, qualifying) = members[sale.customerID] else { continue }
                earners[member.accountID] = (member, programme.rules, (earners[member.accountID]?.qualifying ?? qualifying))
                var linePoints = programme.rules.earn(sale.lines.map { LoyaltyRules.Line(category: $0.category, net: $0.netTotal) },
                                                      channel: channelCodes[sale.row.channelId] ?? "", tierCode: member.tier, occurredAt: sale.row.occurredAt)
                if let bonus = sale.bonusPoints, bonus.count == linePoints.count { linePoints = zip(linePoints, bonus).map { $0 + $1 } }
                let points = linePoints.reduce(0, +)
                guard points > 0 else { continue }
                if sale.row.occurredAt >= now - programme.rules.qualificationWindow { earners[member.accountID]?.qualifying += points }
                credits.append(Credit(member: member, programme: programme, points: points, kind: "earn", sourceID: sale.row.id, qualifying: points,
                                      linePoints: linePoints, earnedAt: sale.row.occurredAt, reason: nil))
            }
        }
        let events = try await credit(on: sql, tenantID: tenantID, credits, purpose: Self.issuedPurpose, event: "loyalty.points_earned",
                                      requestID: requestID, now: now)
        return events + (try await upgrade(on: sql, tenantID: tenantID, Array(earners.values), requestID: requestID, now: now))
    }

    typealias PendingEvent = (type: String, data: any Encodable, requestID: String?)

    /// Raises the tiers earning has qualified members for, at once. Only an upgrade is written
    /// here: a tier is otherwise reviewed when its window ends (the sweep), which keeps a member
    /// who still qualifies and lowers one who no longer does — so a sale costs no tier write.
    private func upgrade(on sql: any SQLDatabase, tenantID: String, _ earners: [(member: LoyaltyMember, rules: LoyaltyRules, qualifying: Int64)],
                         requestID: String?, now: Int64) async throws -> [PendingEvent] {
        let changes = earners.compactMap { member, rules, qualifying -> (member: LoyaltyMember, tier: String, until: Int64)? in
            let (tier, until) = rules.evaluate(current: member.tier, until: member.tierUntil, qualifying: qualifying, now: now)
            return tier != member.tier ? (member, tier, until) : nil
        }
        try await setTiers(on: sql, tenantID: tenantID, changes.map { ($0.member.accountID, $0.tier, $0.until) }, now: now)
        return Self.tierEvents(changes, requestID: requestID)
    }

    /// Gives each credit's points: first to the member's debt, if a return left one, then onto their
    /// account as a new lot that expires by the programme's rule. One ledger write and one insert.
    func credit(on sql: any SQLDatabase, tenantID: String, _ credits: [Credit], purpose: String, event: String, requestID: String?,
                now: Int64) async throws -> [PendingEvent] {
        guard !credits.isEmpty else { return [] }
        let ledger = LedgerStore(tenantID: tenantID)
        // Debts are read only for members a return left owing.
        let debtIDs = Array(Set(credits.filter(\.member.inDebt).map { Self.debtAccountID($0.member.accountID) }))
        var debts = try await ledger.accounts(on: sql, ids: debtIDs).reduce(into: [String: Int64]()) { $0[$1.id] = -$1.balance.posted }
        var transfers: [LedgerTransferRequest] = []
        // Each transfer says where its points come from: the agent's reason, or the sale that earned them.
        var reasons: [String?] = []
        var lots: [(credit: Credit, id: String, remaining: Int64)] = []
        // One part of the control account for the whole batch: each member's own part would have a
        // batch of sales lock every part, and concurrent batches queue behind one another.
        let control = LedgerStore.controlAccountID(purpose, unit: .points, for: credits[0].sourceID)
        for credit in credits {
            let accountID = credit.member.accountID
            let debtID = Self.debtAccountID(accountID)
            let repaid = min(max(debts[debtID] ?? 0, 0), credit.points)
            if repaid > 0 {
                debts[debtID, default: 0] -= repaid
                transfers.append(LedgerTransferRequest(debitAccountID: control, creditAccountID: debtID, amount: repaid, unit: .points))
                reasons.append(credit.reason ?? credit.sourceID)
            }
            if credit.points > repaid {
                transfers.append(LedgerTransferRequest(debitAccountID: control, creditAccountID: accountID, amount: credit.points - repaid, unit: .points))
                reasons.append(credit.reason ?? credit.sourceID)
            }
            lots.append((credit, services.ids.make(.loyaltyLot), credit.points - repaid))
        }
        try await ledger.postUnrefusable(on: sql, transfers, reasons: reasons, requestID: requestID, ids: services.ids, now: now)
        let repaid = debtIDs.filter { (debts[$0] ?? 0) <= 0 }.map { String($0.dropLast("_debt".count)) }
        if !repaid.isEmpty {
            try await sql.raw("UPDATE loyalty_members SET in_debt = 0 WHERE tenant_id = \(bind: tenantID) AND account_id IN (\(binds: repaid))").run()
        }
        try await insertLots(on: sql, tenantID: tenantID, lots.map { entry in
            LotRow(id: entry.id, accountID: entry.credit.member.accountID, originAccountID: entry.credit.member.accountID, kind: entry.credit.kind,
                   sourceID: entry.credit.sourceID, points: entry.credit.points, remaining: entry.remaining, qualifying: entry.credit.qualifying,
                   linePoints: entry.credit.linePoints, earnedAt: entry.credit.earnedAt,
                   expiresAt: entry.credit.programme.rules.expiry(earnedAt: entry.credit.earnedAt))
        })
        return credits.map { credit in
            (type: event, data: PointsMovement(accountId: credit.member.accountID, programmeId: credit.programme.id, customerId: credit.member.customerID,
                                               points: credit.points, sourceId: credit.sourceID, reason: credit.reason) as any Encodable, requestID: requestID)
        }
    }

    // MARK: Returns

    /// A line a return takes back, as the return's plan saw the sale line.
    struct ReturnedLine: Sendable {
        let originalLine: Int
        let sold: Int64
        let returnedBefore: Int64
        let quantity: Int64
    }

    /// Takes back, in proportion per line, the points the sale `saleID` earned for what `returnID`
    /// returns; they no longer qualify toward a tier either. Points already spent follow the
    /// programme's negative-balance policy. Nothing when the sale earned nothing.
    func reverse(on sql: any SQLDatabase, tenantID: String, returnID: String, saleID: String, _ lines: [ReturnedLine], requestID: String?) async throws {
        guard let lot = try await sql.raw("""
            SELECT * FROM loyalty_lots WHERE tenant_id = \(bind: tenantID) AND source_id = \(bind: saleID) AND kind = 'earn'
            """).all().first.map(Self.lot), let linePoints = lot.linePoints else { return }
        let points = lines.reduce(Int64(0)) { sum, line in
            guard line.originalLine >= 1, line.originalLine <= linePoints.count else { return sum }
            return sum + LoyaltyRules.reversal(earned: linePoints[line.originalLine - 1], sold: line.sold, alreadyReturned: line.returnedBefore,
                                               quantity: line.quantity)
        }
        guard points > 0, let member = try await member(on: sql, tenantID: tenantID, accountID: lot.accountID),
            let programme = try await programmes.programme(on: sql, tenantID: tenantID, id: member.programmeID) else { return }
        let now = services.nowMilliseconds
        try await sql.raw("""
            UPDATE loyalty_lots SET qualifying = CASE WHEN qualifying > \(bind: points) THEN qualifying - \(bind: points) ELSE 0 END
            WHERE tenant_id = \(bind: tenantID) AND id = \(bind: lot.id)
            """).run()
        let taken = try await take(on: sql, tenantID: tenantID, member: member, upTo: points, purpose: Self.reversedPurpose, firstLot: lot.id,
                                   reason: returnID, requestID: requestID, now: now)
        var writtenOff = points - taken
        if writtenOff > 0 && programme.rules.negativeBalance == .allow {
            let ledger = LedgerStore(tenantID: tenantID)
            let debtID = Self.debtAccountID(member.accountID)
            try await ledger.open(on: sql, id: debtID, unit: .points, kind: "points_debt", customerID: member.customerID, flags: [], now: now)
            _ = try await ledger.post(on: sql, [LedgerTransferRequest(debitAccountID: debtID, creditAccountID: LedgerStore.controlAccountID(
                Self.reversedPurpose, unit: .points, for: member.accountID), amount: writtenOff, unit: .points)],
                                      ids: services.ids, reason: returnID, requestID: requestID, now: now)
            try await markInDebt(on: sql, tenantID: tenantID, accountID: member.accountID)
            writtenOff = 0
        }
        var movement = PointsMovement(accountId: member.accountID, programmeId: member.programmeID, customerId: member.customerID, points: points,
                                      sourceId: returnID, reason: "return of \(saleID)")
        movement.writtenOff = writtenOff > 0 ? writtenOff : nil
        try await services.events.append(on: sql, tenantID: tenantID, type: "loyalty.points_reversed", data: movement, requestID: requestID)
        try await reevaluate(on: sql, tenantID: tenantID, [member.accountID], requestID: requestID, now: now)
    }

    /// Takes up to `points` of what the member has available to `purpose`'s control account and
    /// from their lots (`firstLot` before the others); returns how many it took.
    func take(on sql: any SQLDatabase, tenantID: String, member: LoyaltyMember, upTo points: Int64, purpose: String, firstLot: String?, reason: String?,
              requestID: String?, now: Int64) async throws -> Int64 {
        let ledger = LedgerStore(tenantID: tenantID)
        let control = LedgerStore.controlAccountID(purpose, unit: .points, for: member.accountID)
        try await ledger.openControlAccounts(on: sql, [control: .points], now: now)
        guard let account = try await ledger.lockedAccounts(on: sql, [member.accountID])[member.accountID] else { return 0 }
        let taken = min(points, max(account.balance.available, 0))
        guard taken > 0 else { return 0 }
        _ = try await ledger.post(on: sql, [LedgerTransferRequest(debitAccountID: member.accountID, creditAccountID: control, amount: taken, unit: .points)],
                                  ids: services.ids, reason: reason, requestID: requestID, now: now)
        try await consumeLots(on: sql, tenantID: tenantID, accountID: member.accountID, points: taken, firstLot: firstLot)
        return taken
    }

    // MARK: Lots

    struct LotRow: Sendable {
        let id: String
        let accountID: String
        let originAccountID: String
        let kind: String
        let sourceID: String
        let points: Int64
        let remaining: Int64
        let qualifying: Int64
        let linePoints: [Int64]?
        let earnedAt: Int64
        let expiresAt: Int64?
    }

    func insertLots(on sql: any SQLDatabase, tenantID: String, _ lots: [LotRow]) async throws {
        let linePoints = try lots.map { try $0.linePoints.map { try JSONCoding.text($0) } }
        try await sql.insertRows(into: "loyalty_lots", columns: ["tenant_id", "id", "account_id", "origin_account_id", "kind", "source_id", "points",
                                                               "remaining", "qualifying", "line_points", "earned_at", "expires_at"],
                                 Array(zip(lots, linePoints))) { entry, values in
            let (lot, linePoints) = entry
            values.add(tenantID)
            values.add(lot.id)
            values.add(lot.accountID)
            values.add(lot.originAccountID)
            values.add(lot.kind)
            values.add(lot.sourceID)
            values.add(lot.points)
            values.add(lot.remaining)
            values.add(lot.qualifying)
            values.add(linePoints)
            values.add(lot.earnedAt)
            values.add(lot.expiresAt)
        }
    }

    static func lot(_ row: any SQLRow) throws -> LotRow {
        LotRow(id: try row.decode(column: "id", as: String.self), accountID: try row.decode(column: "account_id", as: String.self),
               originAccountID: try row.decode(column: "origin_account_id", as: String.self), kind: try row.decode(column: "kind", as: String.self),
               sourceID: try row.decode(column: "source_id", as: String.self), points: try row.decode(column: "points", as: Int64.self),
               remaining: try row.decode(column: "remaining", as: Int64.self), qualifying: try row.decode(column: "qualifying", as: Int64.self),
               linePoints: try row.decode(column: "line_points", as: String?.self).map { try JSONCoding.decoder.decode([Int64].self, from: Data($0.utf8)) },
               earnedAt: try row.decode(column: "earned_at", as: Int64.self), expiresAt: try row.decode(column: "expires_at", as: Int64?.self))
    }

    /// The account's lots with points left, in spending order (first to expire first), `limit` at most.
    func lotsLeft(on sql: any SQLDatabase, tenantID: String, accountID: String, limit: Int = 1_000) async throws -> [LotRow] {
        try await sql.raw("""
            SELECT * FROM loyalty_lots WHERE tenant_id = \(bind: tenantID) AND account_id = \(bind: accountID) AND remaining > 0
            ORDER BY CASE WHEN expires_at IS NULL THEN 1 ELSE 0 END, expires_at, id LIMIT \(literal: limit)
            """).all().map(Self.lot)
    }

    /// Takes `points` from the account's lots — `firstLot` first, then first to expire — after the
    /// ledger took them from the account in this transaction (which locked it).
    func consumeLots(on sql: any SQLDatabase, tenantID: String, accountID: String, points: Int64, firstLot: String? = nil) async throws {
        let lots = try await lotsLeft(on: sql, tenantID: tenantID, accountID: accountID)
        let takes = LoyaltyLots.take(points, from: lots.map { LoyaltyLots.Lot(id: $0.id, remaining: $0.remaining, expiresAt: $0.expiresAt) },
                                     first: firstLot)
        let missing = points - takes.reduce(0) { $0 + $1.points }
        guard missing == 0 else { throw LotsOutOfStep(accountID: accountID, missing: missing) }
        try await addRemaining(on: sql, tenantID: tenantID, takes.map { ($0.id, -$0.points) })
    }

    /// Adds to each lot's remaining points in one statement: (lot, change).
    func addRemaining(on sql: any SQLDatabase, tenantID: String, _ changes: [(String, Int64)]) async throws {
        guard !changes.isEmpty else { return }
        var values: SQLQueryString = ""
        for (index, (id, change)) in changes.enumerated() {
            values += "\(unsafeRaw: index == 0 ? "" : ", ")(\(bind: id), \(bind: change))"
        }
        try await sql.raw("""
            UPDATE loyalty_lots SET remaining = remaining + v.column2
            FROM (VALUES \(values)) AS v WHERE loyalty_lots.tenant_id = \(bind: tenantID) AND loyalty_lots.id = v.column1
            """).run()
    }

    // MARK: Tiers

    /// Re-evaluates the tiers of the members of `accountIDs` from their qualifying points now;
    /// writes the changed ones in one statement and says `loyalty.tier_changed` for each new tier.
    func reevaluate(on sql: any SQLDatabase, tenantID: String, _ accountIDs: [String], requestID: String?, now: Int64) async throws {
        guard !accountIDs.isEmpty else { return }
        let members = try await sql.raw("""
            SELECT * FROM loyalty_members WHERE tenant_id = \(bind: tenantID) AND account_id IN (\(binds: accountIDs))
            """).all().map(Self.member)
        let programmes = try await self.programmes.programmes(on: sql, ids: Array(Set(members.map(\.programmeID))), tenantID: tenantID)
        var changes: [(member: LoyaltyMember, tier: String, until: Int64)] = []
        for (programmeID, group) in Dictionary(grouping: members, by: \.programmeID) {
            guard let rules = programmes[programmeID]?.rules else { continue }
            let qualifying = try await qualifyingPoints(on: sql, tenantID: tenantID, group.map(\.accountID), since: now - rules.qualificationWindow)
            for member in group {
                let (tier, until) = rules.evaluate(current: member.tier, until: member.tierUntil, qualifying: qualifying[member.accountID] ?? 0, now: now)
                if tier != member.tier || until != member.tierUntil { changes.append((member, tier, until)) }
            }
        }
        try await recordTiers(on: sql, tenantID: tenantID, changes, requestID: requestID, now: now)
    }

    /// Writes tier changes in one statement and says `loyalty.tier_changed` for each new tier.
    private func recordTiers(on sql: any SQLDatabase, tenantID: String, _ changes: [(member: LoyaltyMember, tier: String, until: Int64)],
                             requestID: String?, now: Int64) async throws {
        try await setTiers(on: sql, tenantID: tenantID, changes.map { ($0.member.accountID, $0.tier, $0.until) }, now: now)
        let events = Self.tierEvents(changes, requestID: requestID)
        if !events.isEmpty { try await services.events.append(on: sql, tenantID: tenantID, events) }
    }

    private static func tierEvents(_ changes: [(member: LoyaltyMember, tier: String, until: Int64)], requestID: String?) -> [PendingEvent] {
        changes.filter { $0.tier != $0.member.tier }.map { change in
            (type: "loyalty.tier_changed", data: TierChange(accountId: change.member.accountID, programmeId: change.member.programmeID,
                                                            customerId: change.member.customerID, from: change.member.tier, to: change.tier,
                                                            until: StoredTime(milliseconds: change.until)) as any Encodable, requestID: requestID)
        }
    }

    func markInDebt(on sql: any SQLDatabase, tenantID: String, accountID: String) async throws {
        try await sql.raw("UPDATE loyalty_members SET in_debt = 1 WHERE tenant_id = \(bind: tenantID) AND account_id = \(bind: accountID)").run()
    }

    func setTiers(on sql: any SQLDatabase, tenantID: String, _ changes: [(accountID: String, tier: String, until: Int64)], now: Int64) async throws {
        guard !changes.isEmpty else { return }
        var values: SQLQueryString = ""
        for (index, change) in changes.enumerated() {
            values += "\(unsafeRaw: index == 0 ? "" : ", ")(\(bind: change.accountID), \(bind: change.tier), \(bind: change.until))"
        }
        // Held to the commit on PostgreSQL, as earning's other writes are (a later read in the transaction sends it first).
        try await sql.runDeferrable("""
            UPDATE loyalty_members SET tier = v.column2, tier_until = v.column3, updated_at = \(bind: now)
            FROM (VALUES \(values)) AS v WHERE loyalty_members.tenant_id = \(bind: tenantID) AND loyalty_members.account_id = v.column1
            """)
    }

    /// Each account's points earned since `since` that still qualify (what returns left of them).
    func qualifyingPoints(on sql: any SQLDatabase, tenantID: String, _ accountIDs: [String], since: Int64) async throws -> [String: Int64] {
        guard !accountIDs.isEmpty else { return [:] }
        return try await sql.raw("""
            SELECT account_id, CAST(COALESCE(SUM(qualifying), 0) AS BIGINT) AS qualifying FROM loyalty_lots
            WHERE tenant_id = \(bind: tenantID) AND account_id IN (\(binds: accountIDs)) AND earned_at >= \(bind: since) AND qualifying > 0
            GROUP BY account_id
            """).all().reduce(into: [:]) { $0[try $1.decode(column: "account_id", as: String.self)] = try $1.decode(column: "qualifying", as: Int64.self) }
    }
}

/// An account's lots hold fewer points than the ledger just took from it: the books and the lots
/// disagree, which `ledger verify` reports. The transaction rolls back.
struct LotsOutOfStep: Error {
    let accountID: String
    let missing: Int64
}
