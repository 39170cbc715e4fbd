import HTTPTypes
import OmniaCore
import SQLKit

extension LoyaltyService {
    /// The memberships of `customerID` (a root: merged members' points moved to it), each with its
    /// balance, tier, qualifying points and next expiries — in two statements whatever their number
    /// (the wallet reads them on every open): the members with their accounts, debts and qualifying
    /// points, then their next expiries. Programmes come from the active ones a second old at most.
    func memberships(on sql: any SQLDatabase, tenantID: String, customerID: String) async throws -> [LoyaltyMembership] {
        let programmeService = LoyaltyProgrammeService(services: services)
        var programmes = Dictionary(uniqueKeysWithValues: try await programmeService.activeProgrammes(on: sql, tenantID: tenantID).values.map { ($0.id, $0) })
        let known = Array(programmes.values)
        // Qualifying points are counted over each programme's window; a member of a programme not
        // active (rare) is read with the widest, then counted again below.
        let window = known.map(\.rules.qualificationWindow).max() ?? Int64(LoyaltyRules.dayRange.upperBound) * 86_400_000
        let now = services.nowMilliseconds
        let rows = try await sql.raw("""
            SELECT m.*, a.debits_posted, a.credits_posted, a.debits_pending, d.debits_posted AS debt_debits, d.credits_posted AS debt_credits,
                (SELECT CAST(COALESCE(SUM(l.qualifying), 0) AS BIGINT) FROM loyalty_lots l
                 WHERE l.tenant_id = m.tenant_id AND l.account_id = m.account_id AND l.earned_at >= \(bind: now - window) AND l.qualifying > 0) AS qualifying
            FROM loyalty_members m
            JOIN ledger_accounts a ON a.tenant_id = m.tenant_id AND a.id = m.account_id
            LEFT JOIN ledger_accounts d ON d.tenant_id = m.tenant_id AND d.id = m.account_id || '_debt'
            WHERE m.tenant_id = \(bind: tenantID) AND m.customer_id = \(bind: customerID) ORDER BY m.account_id
            """).all()
        guard !rows.isEmpty else { return [] }
        let members = try rows.map(Self.member)
        let missing = Set(members.map(\.programmeID)).subtracting(programmes.keys)
        if !missing.isEmpty { programmes.merge(try await programmeService.programmes(on: sql, ids: Array(missing), tenantID: tenantID)) { old, _ in old } }
        var expiring: [String: [PointsExpiry]] = [:]
        for row in try await sql.raw("""
            SELECT account_id, remaining, expires_at FROM loyalty_lots
            WHERE tenant_id = \(bind: tenantID) AND account_id IN (\(binds: members.map(\.accountID))) AND remaining > 0 AND expires_at IS NOT NULL
            ORDER BY account_id, expires_at, id
            """).all() {
            let accountID = try row.decode(column: "account_id", as: String.self)
            guard expiring[accountID, default: []].count < 5 else { continue }
            expiring[accountID, default: []].append(PointsExpiry(points: try row.decode(column: "remaining", as: Int64.self),
                                                                 expiresAt: StoredTime(milliseconds: try row.decode(column: "expires_at", as: Int64.self))))
        }
        var memberships: [LoyaltyMembership] = []
        for (member, row) in zip(members, rows) {
            guard let programme = programmes[member.programmeID] else { continue }
            let (debitsPosted, creditsPosted, debitsPending) = (try row.decode(column: "debits_posted", as: Int64.self),
                                                                try row.decode(column: "credits_posted", as: Int64.self),
                                                                try row.decode(column: "debits_pending", as: Int64.self))
            let debt = max((try row.decode(column: "debt_debits", as: Int64?.self) ?? 0) - (try row.decode(column: "debt_credits", as: Int64?.self) ?? 0), 0)
            var qualifying = try row.decode(column: "qualifying", as: Int64.self)
            if programme.rules.qualificationWindow != window {
                qualifying = try await qualifyingPoints(on: sql, tenantID: tenantID, [member.accountID], since: now - programme.rules.qualificationWindow)[member.accountID] ?? 0
            }
            let available = max(creditsPosted - debitsPosted - debitsPending, 0)
            memberships.append(LoyaltyMembership(
                id: member.accountID, programmeId: programme.id, customerId: member.customerID, currency: programme.currency,
                balance: creditsPosted - debitsPosted - debt, available: available, availableValue: programme.rules.value(of: available), debt: debt,
                tier: programme.rules.tier(member.tier), tierUntil: StoredTime(milliseconds: member.tierUntil),
                qualifyingPoints: qualifying, nextExpiries: expiring[member.accountID] ?? []))
        }
        return memberships
    }

    /// An agent's adjustment: points added as a lot (repaying any debt first) or taken first to
    /// expire first; audited with its reason.
    func adjust(on sql: any SQLDatabase, caller: Caller, customerID requested: String, _ request: LoyaltyAdjustmentRequest,
                actor: Actor) async throws -> LoyaltyMembership {
        let tenantID = caller.tenantID
        let customer = try await CustomerStore(tenantID: tenantID).requiredResolvedRow(on: sql, id: requested)
        var validator = Validator()
        let programmes = LoyaltyProgrammeService(services: services)
        var programme: StoredLoyaltyProgramme?
        if let id = request.programmeId {
            programme = IDGenerator.isWellFormed(id, prefix: .loyaltyProgramme) ? try await programmes.programme(on: sql, tenantID: tenantID, id: id) : nil
            if programme == nil { validator.fail("programme_id", "unknown_programme", "programme_id does not name a loyalty programme of this tenant") }
        } else {
            programme = try await programmes.activeProgramme(on: sql, tenantID: tenantID, currency: caller.tenantCurrency)
            if programme == nil {
                validator.fail("programme_id", "required", "the tenant has no active programme in \(caller.tenantCurrency); name one by programme_id")
            }
        }
        let reason = validator.text(request.reason, field: "reason", maxLength: 500)
        let points = request.points ?? 0
        if request.points == nil {
            validator.fail("points", "required", "points is required: positive to add, negative to take")
        } else if points == 0 || points.magnitude > 1_000_000_000 {
            validator.fail("points", "out_of_range", "points must be a non-zero whole number of at most 1000000000 either way")
        }
        guard validator.isValid, let programme, let reason else { throw Problem.validation(validator.errors) }

        let now = services.nowMilliseconds
        let adjustmentID = services.ids.make(.loyaltyAdjustment)
        let member: LoyaltyMember
        if points > 0 {
            guard let enrolled = try await members(on: sql, tenantID: tenantID, programme: programme, customerIDs: [customer.id], now: now)[customer.id]
            else { throw Problem.notFound("customer") }
            member = enrolled
            let events = try await credit(on: sql, tenantID: tenantID, [Credit(
                member: member, programme: programme, points: points, kind: "adjustment", sourceID: adjustmentID, qualifying: 0, linePoints: nil,
                earnedAt: now, reason: reason)], purpose: Self.adjustedPurpose, event: "loyalty.points_adjusted", requestID: actor.requestID, now: now)
            try await services.events.append(on: sql, tenantID: tenantID, events)
        } else {
            guard let existing = try await members(on: sql, tenantID: tenantID, programmeID: programme.id, customerIDs: [customer.id])[customer.id]
            else { throw Self.insufficientPoints(available: 0) }
            member = existing
            // `take` stops at what is available: short of it, the request's transaction rolls back what it took.
            let taken = try await take(on: sql, tenantID: tenantID, member: member, upTo: -points, purpose: Self.adjustedPurpose, firstLot: nil,
                                       reason: reason, requestID: actor.requestID, now: now)
            guard taken == -points else { throw Self.insufficientPoints(available: taken) }
            try await services.events.append(on: sql, tenantID: tenantID, type: "loyalty.points_adjusted", data: PointsMovement(
                accountId: member.accountID, programmeId: programme.id, customerId: member.customerID, points: points, sourceId: adjustmentID,
                reason: reason), requestID: actor.requestID)
        }
        try await services.audit.record(on: sql, tenantID: tenantID, actor: actor.id, action: "loyalty.adjust", targetType: "loyalty_account",
                                        targetID: member.accountID, details: ["points": .integer(points), "reason": .string(reason),
                                                                              "adjustment_id": .string(adjustmentID)], requestID: actor.requestID)
        guard let membership = try await memberships(on: sql, tenantID: tenantID, customerID: customer.id).first(where: { $0.id == member.accountID })
        else { throw Problem.notFound("loyalty membership") }
        return membership
    }

    static func insufficientPoints(available: Int64) -> Problem {
        Problem(.conflict, code: "insufficient_points", detail: "the member has \(available) points available; an adjustment cannot take more",
                extensions: ["available": .integer(available)])
    }
}
