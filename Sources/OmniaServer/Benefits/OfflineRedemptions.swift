import Foundation
import HTTPTypes
import OmniaCore
import SQLKit

/// Redemptions a store till made while it had no connection, synced when it is back. Each comes
/// with its original time (`occurred_at`) and its own `Idempotency-Key`, so a sync repeated after
/// a dropped connection never applies one twice. One that can still be honoured is a redemption
/// like any other; one that cannot — the card was spent elsewhere meanwhile, disabled, the coupon
/// used — is recorded as a `RedemptionException` with the amount at risk, for someone to review:
/// never silently dropped, never taken into a negative balance.
struct OfflineRedemptions: Sendable {
    let services: AppServices

    /// What became of a synced redemption: the redemption, or the exception recorded instead.
    enum Outcome: Encodable, Sendable {
        case redeemed(CheckoutHold)
        case exception(RedemptionException)

        func encode(to encoder: any Encoder) throws {
            switch self {
            case .redeemed(let hold): try hold.encode(to: encoder)
            case .exception(let exception): try exception.encode(to: encoder)
            }
        }

        /// 201 for a redemption, 202 for an exception (accepted, for review).
        var status: HTTPResponse.Status {
            if case .exception = self { return .accepted }
            return .created
        }
    }

    /// Redeems, or records why it could not: the redemption runs under a savepoint, so a refusal
    /// part-way (one card taken, the next refused) leaves nothing of it, and the exception is
    /// written in the same transaction. `refusedCode` is a refusal found before (a code or PIN
    /// that no longer matches): the exception is recorded straight away. Bad input is still 400.
    func sync(on sql: any SQLDatabase, caller: Caller, _ request: CreateHoldRequest, cardIDsByCode: [Int: String], refusedCode: Problem?,
              actor: Actor) async throws -> Outcome {
        let holds = CheckoutHoldService(services: services)
        // Checked whole first, whatever happens next: bad input is a 400 even when a code no longer
        // matches (its position stands in as resolved, so only the rest of the request is judged).
        let unresolved = (request.instruments ?? []).indices.filter { request.instruments![$0].code != nil && cardIDsByCode[$0] == nil }
        let standIns = Dictionary(uniqueKeysWithValues: unresolved.map { ($0, "unresolved-\($0)") })
        let checked = try await holds.validate(on: sql, caller: caller, request, kind: "redemption",
                                               cardIDsByCode: cardIDsByCode.merging(standIns) { given, _ in given }, now: services.nowMilliseconds)
        if let refusedCode { return .exception(try await record(refusedCode, checked, request, on: sql, caller: caller, actor: actor)) }
        try await sql.raw("SAVEPOINT offline_redemption").run()
        do {
            let hold = try await holds.create(on: sql, caller: caller, request, kind: "redemption", cardIDsByCode: cardIDsByCode, actor: actor)
            try await sql.raw("RELEASE SAVEPOINT offline_redemption").run()
            return .redeemed(hold)
        } catch let problem as Problem where Self.isUnhonourable(problem) {
            try await sql.raw("ROLLBACK TO SAVEPOINT offline_redemption").run()
            try await sql.raw("RELEASE SAVEPOINT offline_redemption").run()
            return .exception(try await record(problem, checked, request, on: sql, caller: caller, actor: actor))
        }
    }

    /// A refusal about the instruments' state now (409, or a code no longer found), not about the request.
    static func isUnhonourable(_ problem: Problem) -> Bool {
        problem.status == .conflict || problem.status == .notFound
    }

    private func record(_ problem: Problem, _ checked: CheckoutHoldService.CheckedRequest, _ request: CreateHoldRequest, on sql: any SQLDatabase,
                        caller: Caller, actor: Actor) async throws -> RedemptionException {
        let now = services.nowMilliseconds
        let channelID = checked.channel.id
        let customerID = checked.customerID
        // The instruments as sent (validated: at most 20, each amount within bounds), codes by their last four characters.
        let instruments = zip(request.instruments ?? [], checked.instruments).map { input, valid in
            ExceptionInstrument(type: valid.type.rawValue, id: input.id, codeLast4: input.code.map { code in
                String(code.uppercased().filter { $0.isASCII && ($0.isLetter || $0.isNumber) }.suffix(4))
            }, amount: valid.amount)
        }
        // Points count at what they would have paid: the point value of the checkout currency's programme.
        var pointValue: Int64 = 1
        if checked.instruments.contains(where: { $0.type == .points }),
            let programme = try await LoyaltyProgrammeService(services: services).activeProgramme(on: sql, tenantID: caller.tenantID, currency: checked.currency) {
            pointValue = programme.rules.pointValue
        }
        let atRisk = checked.instruments.filter(\.type.holdsValue).reduce(Int64(0)) { $0 + $1.amount * ($1.type == .points ? pointValue : 1) }
        let exception = RedemptionException(
            id: services.ids.make(.redemptionException), status: "open", channelId: channelID, customerId: customerID, reference: checked.reference,
            occurredAt: checked.occurredAt.map(StoredTime.init(milliseconds:)), currency: checked.currency, amountAtRisk: atRisk, instruments: instruments, code: problem.code,
            detail: problem.detail, resolution: nil, createdAt: StoredTime(milliseconds: now), resolvedAt: nil)
        try await sql.raw("""
            INSERT INTO redemption_exceptions (tenant_id, id, status, channel_id, customer_id, reference, occurred_at, currency, amount_at_risk,
                                               instruments, code, detail, resolution, created_at, resolved_at)
            VALUES (\(bind: caller.tenantID), \(bind: exception.id), 'open', \(bind: channelID), \(bind: customerID), \(bind: exception.reference),
                    \(bind: exception.occurredAt?.milliseconds), \(bind: exception.currency), \(bind: atRisk),
                    \(bind: String(decoding: try JSONCoding.encode(instruments), as: UTF8.self)), \(bind: exception.code), \(bind: exception.detail), NULL,
                    \(bind: now), NULL)
            """).run()
        try await services.events.append(on: sql, tenantID: caller.tenantID, type: "redemption.exception", data: exception, requestID: actor.requestID)
        return exception
    }

    // MARK: Review

    /// A page of the tenant's exceptions, newest first, optionally of one status.
    func page(on sql: any SQLDatabase, tenantID: String, status: String?, page: PageRequest) async throws -> [RedemptionException] {
        var query: SQLQueryString = "SELECT * FROM redemption_exceptions WHERE tenant_id = \(bind: tenantID)"
        if let status { query += " AND status = \(bind: status)" }
        if let cursor = page.startingAfter { query += " AND id < \(bind: cursor)" }
        query += " ORDER BY id DESC LIMIT \(literal: page.limit + 1)"
        return try await sql.raw(query).all().map(Self.exception)
    }

    /// Marks an open exception resolved with what was done about it; audited.
    func resolve(on sql: any SQLDatabase, tenantID: String, id: String, _ request: ResolveExceptionRequest, actor: Actor) async throws -> RedemptionException {
        var validator = Validator()
        let resolution = validator.text(request.resolution, field: "resolution", maxLength: 500)
        guard validator.isValid, let resolution else { throw Problem.validation(validator.errors) }
        guard IDGenerator.isWellFormed(id, prefix: .redemptionException) else { throw Problem.notFound("redemption exception") }
        let now = services.nowMilliseconds
        let updated = try await sql.raw("""
            UPDATE redemption_exceptions SET status = 'resolved', resolution = \(bind: resolution), resolved_at = \(bind: now)
            WHERE tenant_id = \(bind: tenantID) AND id = \(bind: id) AND status = 'open'
            RETURNING *
            """).all()
        guard let row = updated.first else {
            let exists = try await sql.raw("SELECT id FROM redemption_exceptions WHERE tenant_id = \(bind: tenantID) AND id = \(bind: id)").all()
            guard !exists.isEmpty else { throw Problem.notFound("redemption exception") }
            throw Problem(.conflict, code: "exception_resolved", detail: "the exception was resolved already")
        }
        let exception = try Self.exception(row)
        try await services.audit.record(on: sql, tenantID: tenantID, actor: actor.id, action: "redemption_exception.resolve",
                                        targetType: "redemption_exception", targetID: id, details: ["resolution": .string(resolution)],
                                        requestID: actor.requestID)
        try await services.events.append(on: sql, tenantID: tenantID, type: "redemption_exception.resolved", data: exception, requestID: actor.requestID)
        return exception
    }

    private static func exception(_ row: any SQLRow) throws -> RedemptionException {
        RedemptionException(
            id: try row.decode(column: "id", as: String.self), status: try row.decode(column: "status", as: String.self),
            channelId: try row.decode(column: "channel_id", as: String.self), customerId: try row.decode(column: "customer_id", as: String?.self),
            reference: try row.decode(column: "reference", as: String?.self),
            occurredAt: try row.decode(column: "occurred_at", as: Int64?.self).map(StoredTime.init(milliseconds:)),
            currency: try row.decode(column: "currency", as: String.self), amountAtRisk: try row.decode(column: "amount_at_risk", as: Int64.self),
            instruments: try JSONCoding.decoder.decode([ExceptionInstrument].self, from: Data(try row.decode(column: "instruments", as: String.self).utf8)),
            code: try row.decode(column: "code", as: String.self), detail: try row.decode(column: "detail", as: String.self),
            resolution: try row.decode(column: "resolution", as: String?.self),
            createdAt: StoredTime(milliseconds: try row.decode(column: "created_at", as: Int64.self)),
            resolvedAt: try row.decode(column: "resolved_at", as: Int64?.self).map(StoredTime.init(milliseconds:)))
    }
}
