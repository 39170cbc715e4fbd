import OmniaCore
import SQLKit

extension TransactionService {
    /// Gives an anonymous sale — and its returns, anonymous too — to a customer who presents its
    /// claim code in any channel. Claiming again for the same customer answers the same; a code
    /// another customer claimed is a 409.
    func claim(on sql: any SQLDatabase, caller: Caller, _ request: ClaimReceiptRequest, actor: Actor) async throws -> ClaimResult {
        var validator = Validator()
        var code: String?
        if let text = request.claimCode {
            code = ClaimCode.normalize(text)
            if code == nil { validator.fail("claim_code", "invalid_claim_code", "a claim code is 12 letters and digits, as printed: K7QM-4XZP-9RTA") }
        } else {
            validator.fail("claim_code", "required", "claim_code is required")
        }
        let identifiers = CustomerValidation.identifiers(request.identifiers, field: "identifiers", policy: caller.identityPolicy, into: &validator)
        switch (request.customerId, request.identifiers?.isEmpty ?? true) {
        case (nil, true): validator.fail("customer_id", "required", "name the customer by customer_id or by identifiers")
        case (.some, false): validator.fail("customer_id", "ambiguous_customer", "give customer_id or identifiers, not both")
        default: break
        }
        if let channelID = request.channelId,
            try await !services.platform.exists(on: sql, table: "channels", prefix: .channel, tenantID: caller.tenantID, id: channelID) {
            validator.fail("channel_id", "unknown_channel", "channel_id does not name a channel of this tenant")
        }
        guard validator.isValid, let code else { throw Problem.validation(validator.errors) }

        let customers = CustomerStore(tenantID: caller.tenantID)
        guard let customerID = try await services.identity.namedCustomer(
            on: sql, tenantID: caller.tenantID, policy: caller.identityPolicy, id: request.customerId, identifiers: identifiers, field: "customer_id",
            channelID: request.channelId, actor: actor)
        else { throw Problem.validation([FieldError(field: "customer_id", code: "required", detail: "name the customer by customer_id or by identifiers")]) }

        let store = TransactionStore(tenantID: caller.tenantID)
        let now = services.nowMilliseconds
        guard let sale = try await store.claim(on: sql, claimCode: code, customerID: customerID, now: now) else {
            guard let claimed = try await store.row(on: sql, claimCode: code) else { throw TransactionError.claimCodeNotFound }
            var owner: String?
            if let holder = claimed.customerId { owner = try await customers.resolvedRow(on: sql, id: holder)?.id }
            guard owner == customerID else { throw TransactionError.alreadyClaimed(transactionID: claimed.id) }
            let returns = try await sql.raw("""
                SELECT * FROM transactions WHERE tenant_id = \(bind: caller.tenantID) AND original_id = \(bind: claimed.id)
                AND customer_id = \(bind: claimed.customerId) ORDER BY id
                """).rows(TransactionRow.self)
            let views = try await store.views(on: sql, [claimed] + returns)
            return ClaimResult(customerId: customerID, transaction: views[0], returns: Array(views.dropFirst()))
        }
        let returns = try await store.claimReturns(on: sql, saleID: sale.id, customerID: customerID, now: now)
        let views = try await store.views(on: sql, [sale] + returns)
        var delta = CustomerStatsDelta()
        for (row, view) in zip([sale] + returns, views) { delta.add(row, lines: view.lines, customerID: customerID) }
        try await CustomerStatsStore(tenantID: caller.tenantID, dialect: services.database.dialect).record(on: sql, delta)
        try await earnClaimed(sale: sale, views: views, customerID: customerID, on: sql, tenantID: caller.tenantID, requestID: actor.requestID)
        let result = ClaimResult(customerId: customerID, transaction: views[0], returns: Array(views.dropFirst()))
        try await services.events.append(on: sql, tenantID: caller.tenantID, type: "receipt.claimed", data: result, requestID: actor.requestID)
        return result
    }

    /// A claimed sale earns as if its customer had been named at the till, and each of its returns
    /// claimed with it then takes its share back, in the order they happened.
    private func earnClaimed(sale: TransactionRow, views: [SalesTransaction], customerID: String, on sql: any SQLDatabase, tenantID: String,
                             requestID: String?) async throws {
        let loyalty = LoyaltyService(services: services)
        let earned = try await loyalty.earn(on: sql, tenantID: tenantID, [.init(row: sale, lines: views[0].lines, customerID: customerID)],
                                            requestID: requestID)
        try await services.events.append(on: sql, tenantID: tenantID, earned)
        var returned: [Int: Int64] = [:]
        for view in views.dropFirst() {
            let lines = view.lines.compactMap { line -> LoyaltyService.ReturnedLine? in
                guard let number = line.originalLine, let sold = views[0].lines.first(where: { $0.lineNumber == number }) else { return nil }
                defer { returned[number, default: 0] += line.quantity }
                return LoyaltyService.ReturnedLine(originalLine: number, sold: sold.quantity, returnedBefore: returned[number] ?? 0, quantity: line.quantity)
            }
            try await loyalty.reverse(on: sql, tenantID: tenantID, returnID: view.id, saleID: sale.id, lines, requestID: requestID)
        }
    }
}
