import HTTPTypes
import OmniaCore
import SQLKit

extension LoyaltyService {
    /// The memberships of `customerID` (a root: merged members' points moved to it), each with its
    /// balance, tier, qualifying points and next expiries.
    func memberships(on sql: any SQLDatabase, tenantID: String, customerID: String) async throws -> [LoyaltyMembership] {
        let members = try await members(on: sql, tenantID: tenantID, customerIDs: [customerID])
        guard !members.isEmpty else { return [] }
        let programmes = try await LoyaltyProgrammeService(services: services).programmes(on: sql, ids: members.map(\.programmeID), tenantID: tenantID)
        let accountIDs = members.flatMap { [$0.accountID, Self.debtAccountID($0.accountID)] }
        let accounts = try await LedgerStore(tenantID: tenantID).accounts(on: sql, ids: accountIDs).reduce(into: [String: LedgerAccount]()) { $0[$1.id] = $1 }
        let now = services.nowMilliseconds
        var memberships: [LoyaltyMembership] = []
        for member in members {
            guard let programme = programmes[member.programmeID], let account = accounts[member.accountID] else { continue }
            let debt = max(-(accounts[Self.debtAccountID(member.accountID)]?.balance.posted ?? 0), 0)
            let qualifying = try await qualifyingPoints(on: sql, tenantID: tenantID, [member.accountID], since: now - programme.rules.qualificationWindow)
            let expiring = try await sql.raw("""
                SELECT remaining, expires_at FROM loyalty_lots
                WHERE tenant_id = \(bind: tenantID) AND account_id = \(bind: member.accountID) AND remaining > 0 AND expires_at IS NOT NULL
                ORDER BY expires_at, id LIMIT 5
                """).all().map { PointsExpiry(points: try $0.decode(column: "remaining", as: Int64.self),
                                              expiresAt: StoredTime(milliseconds: try $0.decode(column: "expires_at", as: Int64.self))) }
            let available = max(account.balance.available, 0)
            memberships.append(LoyaltyMembership(
                id: member.accountID, programmeId: programme.id, customerId: member.customerID, currency: programme.currency,
                balance: account.balance.posted - debt, available: available, availableValue: programme.rules.value(of: available), debt: debt,
                tier: programme.rules.tier(member.tier), tierUntil: StoredTime(milliseconds: member.tierUntil),
                qualifyingPoints: qualifying[member.accountID] ?? 0, nextExpiries: expiring))
        }
        return memberships
    }

    /// An agent's adjustment: points added as a lot (repaying any debt first) or taken first to
    /// expire first; audited with its reason.
    func adjust(on sql: any SQLDatabase, caller: Caller, customerID requested: String, _ request: LoyaltyAdjustmentRequest,
                actor: Actor) async throws -> LoyaltyMembership {
        let tenantID = caller.tenantID
        guard IDGenerator.isWellFormed(requested, prefix: .customer),
            let customer = try await CustomerStore(tenantID: tenantID).resolvedRow(on: sql, id: requested)
        else { throw Problem.notFound("customer") }
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
            let available = try await LedgerStore(tenantID: tenantID).lockedAccounts(on: sql, [member.accountID])[member.accountID]?.balance.available ?? 0
            guard available >= -points else { throw Self.insufficientPoints(available: available) }
            _ = try await take(on: sql, tenantID: tenantID, member: member, upTo: -points, purpose: Self.adjustedPurpose, firstLot: nil, reason: reason,
                               requestID: actor.requestID, now: now)
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
