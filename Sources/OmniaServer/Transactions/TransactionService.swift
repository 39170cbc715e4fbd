import Foundation
import OmniaCore
import SQLKit

/// A sale or return as recorded: `created` is false when a till's retry found it already recorded.
struct RecordedTransaction: Encodable, Sendable {
    let transaction: SalesTransaction
    let created: Bool

    func encode(to encoder: any Encoder) throws { try transaction.encode(to: encoder) }
}

/// Sales, returns and receipt claims from every channel: validation, customer resolution, the
/// conditional writes that keep returns within what was sold, the 360 aggregates, and the
/// `transaction.recorded` / `receipt.issued` events — all in the caller's transaction.
struct TransactionService: Sendable {
    let services: AppServices

    private var dialect: SQLDialectKind { services.database.dialect }

    /// Records a sale or return. A channel's retry of an external id with the same content returns
    /// the stored transaction (`created` false); with other content it is a 409.
    ///
    /// Every refusal is decided before the first write, so a caller recording many transactions in
    /// one database transaction (bulk import) can report a refused one and go on; only a
    /// `RetryableConflict` — a concurrent writer got there first — needs the whole transaction again.
    func record(on sql: any SQLDatabase, caller: Caller, _ request: RecordTransactionRequest, actor: Actor,
                emitEvents: Bool = true) async throws -> RecordedTransaction {
        try await record(on: sql, caller: caller, draft: try validate(request, caller: caller), actor: actor, emitEvents: emitEvents)
    }

    /// The request checked on its own (no database): done before entering the database
    /// transaction where it can be, so the single SQLite writer spends no time on it.
    func validate(_ request: RecordTransactionRequest, caller: Caller) throws -> TransactionDraft {
        try TransactionValidation.draft(request, now: services.nowMilliseconds, accepted: caller.acceptedCurrencies, policy: caller.identityPolicy)
    }

    /// Records a validated request (`validate`). A checkout commit passes the hash of its own
    /// request (`contentHash`), which its retry repeats whatever the promotions decide then, and
    /// the bonus points its promotions give per line (`bonusPoints`).
    func record(on sql: any SQLDatabase, caller: Caller, draft: TransactionDraft, actor: Actor, emitEvents: Bool = true,
                contentHash givenHash: String? = nil, bonusPoints: [Int64]? = nil) async throws -> RecordedTransaction {
        let tenantID = caller.tenantID
        let store = TransactionStore(tenantID: tenantID)
        let (channelID, locationID) = try await place(of: draft, on: sql, caller: caller)
        let contentHash = try givenHash ?? draft.contentHash(channelID: channelID, locationID: locationID)
        if let existing = try await store.existing(on: sql, channelID: channelID, externalID: draft.externalID) {
            guard existing.contentHash == contentHash else {
                throw TransactionError.externalIDTaken(externalID: draft.externalID, transactionID: existing.id)
            }
            return RecordedTransaction(transaction: try await store.views(on: sql, [existing])[0], created: false)
        }
        let plan = switch draft.kind {
        case .sale: try salePlan(draft)
        case .return: try await returnPlan(draft, on: sql, store: store, channelID: channelID)
        }
        // The customer named by id or identifiers, or nobody for an anonymous sale.
        let customerID = try await services.identity.namedCustomer(
            on: sql, tenantID: tenantID, policy: caller.identityPolicy, id: draft.customerID, identifiers: draft.identifiers, field: "customer.id",
            channelID: channelID, actor: actor) ?? plan.inheritedCustomerID
        for takeBack in plan.takeBacks {
            let returnedNow = try await store.takeBack(on: sql, saleID: takeBack.saleID, lineNumber: takeBack.lineNumber, quantity: takeBack.quantity)
            // Another return of the line committed since the plan was made: plan again on fresh data.
            guard returnedNow == takeBack.returnedBefore + takeBack.quantity else { throw TransactionRaceLost() }
        }
        var tenders = draft.tenders
        if let original = plan.original {
            tenders = try await refundInstruments(on: sql, caller: caller, draft: draft, plan: plan, original: original, customerID: customerID, actor: actor)
        }
        let row = try makeRow(draft, plan: plan, tenantID: tenantID, channelID: channelID, locationID: locationID, customerID: customerID,
                              contentHash: contentHash, tenders: tenders)
        try await store.insert(on: sql, row, lines: plan.lines)
        if let owner = row.customerId {
            var delta = CustomerStatsDelta()
            delta.add(row, lines: plan.lines, customerID: owner)
            try await CustomerStatsStore(tenantID: tenantID, dialect: dialect).record(on: sql, delta)
        }
        // Points: a sale of an identified customer earns; a return takes back what its lines earned.
        let loyalty = LoyaltyService(services: services)
        var loyaltyEvents: [LoyaltyService.PendingEvent] = []
        if draft.kind == .sale, let owner = row.customerId {
            loyaltyEvents = try await loyalty.earn(on: sql, tenantID: tenantID, [.init(row: row, lines: plan.lines, customerID: owner,
                                                                                       bonusPoints: bonusPoints)], requestID: actor.requestID)
        } else if draft.kind == .return, let saleID = plan.originalID {
            try await loyalty.reverse(on: sql, tenantID: tenantID, returnID: row.id, saleID: saleID, plan.takeBacks.map {
                LoyaltyService.ReturnedLine(originalLine: $0.lineNumber, sold: $0.sold, returnedBefore: $0.returnedBefore, quantity: $0.quantity)
            }, requestID: actor.requestID)
            try await PromotionRedemptionStore(tenantID: tenantID).giveBack(on: sql, saleID: saleID, saleLines: plan.saleLines, takeBacks: plan.takeBacks,
                                                                            services: services, actor: actor)
        }
        let transaction = SalesTransaction(row: row, lines: plan.lines, discounts: draft.discounts, taxes: plan.taxes, tenders: tenders ?? [])
        if emitEvents {
            try await services.events.append(on: sql, tenantID: tenantID, [("transaction.recorded", transaction, actor.requestID),
                                                                            ("receipt.issued", ReceiptIssued(transaction), actor.requestID)] + loyaltyEvents)
        } else if !loyaltyEvents.isEmpty {
            try await services.events.append(on: sql, tenantID: tenantID, loyaltyEvents)
        }
        return RecordedTransaction(transaction: transaction, created: true)
    }

    /// The row a planned transaction is stored as: its id, receipt token and (an anonymous sale's) claim code are made here.
    func makeRow(_ draft: TransactionDraft, plan: Plan, tenantID: String, channelID: String, locationID: String?, customerID: String?,
                 contentHash: String, tenders: [Tender]? = nil) throws -> TransactionRow {
        TransactionRow(
            id: services.ids.make(.transaction), kind: draft.kind.rawValue, channelId: channelID, locationId: locationID,
            externalId: draft.externalID, customerId: customerID, originalId: plan.originalID, occurredAt: draft.occurredAt, currency: plan.currency,
            subtotal: plan.subtotal, discountTotal: plan.discountTotal, taxTotal: plan.taxes.map(\.amount).reduce(0, +),
            taxesIncluded: plan.taxesIncluded ? 1 : 0, total: plan.total, discounts: try JSONCoding.text(draft.discounts),
            taxes: try JSONCoding.text(plan.taxes), tenders: try JSONCoding.text(tenders ?? draft.tenders ?? []),
            claimCode: draft.kind == .sale && customerID == nil ? ClaimCode.generate() : nil, claimedAt: nil,
            receiptToken: ReceiptToken.generate(tenantID: tenantID, issuedAt: services.nowMilliseconds), contentHash: contentHash,
            createdAt: services.nowMilliseconds)
    }

    /// What a transaction will write, worked out (and checked) before anything is written.
    struct Plan: Sendable {
        struct TakeBack: Sendable {
            let saleID: String
            let lineNumber: Int
            let quantity: Int64
            /// The units the sale line sold.
            let sold: Int64
            /// The line's returned quantity the plan was made with.
            let returnedBefore: Int64
        }

        var lines: [TransactionLine]
        var originalID: String?
        var currency: String
        var subtotal: Int64
        var discountTotal: Int64
        var taxes: [TaxAmount]
        var taxesIncluded: Bool
        var total: Int64
        /// A return lands on its sale's customer unless it names one.
        var inheritedCustomerID: String?
        var takeBacks: [TakeBack] = []
        /// A return's sale, and what its earlier returns refunded in all (taxes included).
        var original: TransactionRow? = nil
        var refundedBefore: Int64 = 0
        /// A return's sale's lines as they were before it (what promotions' give-backs are worked out from).
        var saleLines: [TransactionLine] = []
    }

    // MARK: Sales

    func salePlan(_ draft: TransactionDraft) throws -> Plan {
        let totals = draft.lines.map { $0.total ?? 0 }
        let subtotal = totals.reduce(0, +)
        let discountTotal = draft.discounts.map(\.amount).reduce(0, +)
        guard discountTotal <= subtotal else { throw TransactionError.discountsExceedSubtotal(discounts: discountTotal, subtotal: subtotal) }
        let shares = TransactionMath.allocate(discountTotal, over: totals)
        let lines = draft.lines.enumerated().map { index, line in
            TransactionLine(lineNumber: index + 1, sku: line.sku ?? "", name: line.name, category: line.category, quantity: line.quantity,
                            unitPrice: line.unitPrice ?? 0, discount: line.discount, total: totals[index], netTotal: totals[index] - shares[index],
                            returnedQuantity: 0, originalLine: nil, reason: line.reason)
        }
        let taxTotal = draft.taxes.map(\.amount).reduce(0, +)
        let total = subtotal - discountTotal + (draft.taxesIncluded ? 0 : taxTotal)
        try checkTotals(draft, total: total)
        return Plan(lines: lines, originalID: nil, currency: draft.currency ?? "", subtotal: subtotal, discountTotal: discountTotal,
                    taxes: draft.taxes, taxesIncluded: draft.taxesIncluded, total: total, inheritedCustomerID: nil)
    }

    // MARK: Returns

    /// A return: each line takes units back from a line of the original sale (in any channel) and
    /// refunds its share of that line's net amount and of the sale's taxes. The units are taken
    /// back later by conditional writes, which a concurrent return can make fail (then all is retried).
    private func returnPlan(_ draft: TransactionDraft, on sql: any SQLDatabase, store: TransactionStore, channelID: String) async throws -> Plan {
        let original = try await originalSale(of: draft, on: sql, store: store, channelID: channelID)
        var validator = Validator()
        if let currency = draft.currency, currency != original.currency {
            validator.fail("currency", "currency_mismatch", "a return is in the currency of its sale, \(original.currency)")
        }
        if draft.occurredAt < original.occurredAt {
            validator.fail("occurred_at", "before_original", "a return cannot happen before the sale it takes back")
        }
        let soldLines = try await store.linesForReturn(on: sql, dialect: dialect, saleID: original.id)
        var pairs: [(TransactionDraft.Line, TransactionLine)] = []
        for (index, line) in draft.lines.enumerated() {
            guard let number = line.originalLine, let sold = soldLines.first(where: { $0.lineNumber == number }) else {
                validator.fail("lines[\(index)].original_line", "unknown_line", "the sale \(original.id) has no line \(line.originalLine ?? 0)")
                continue
            }
            if let sku = line.sku, sku != sold.sku {
                validator.fail("lines[\(index)].sku", "sku_mismatch", "line \(number) of the sale is \(sold.sku), not \(sku)")
            }
            pairs.append((line, sold))
        }
        guard validator.isValid else { throw Problem.validation(validator.errors) }

        var lines: [TransactionLine] = []
        var takeBacks: [Plan.TakeBack] = []
        var overReturns: [FieldError] = []
        for (index, (line, sold)) in pairs.enumerated() {
            let left = sold.quantity - sold.returnedQuantity
            guard line.quantity <= left else {
                overReturns.append(FieldError(field: "lines[\(index)].quantity", code: "over_return",
                                              detail: "line \(sold.lineNumber) of \(original.id) sold \(sold.quantity); only \(left) can still be returned"))
                continue
            }
            let refund = TransactionMath.refund(net: sold.netTotal, sold: sold.quantity, alreadyReturned: sold.returnedQuantity, quantity: line.quantity)
            lines.append(TransactionLine(lineNumber: index + 1, sku: sold.sku, name: sold.name, category: sold.category, quantity: line.quantity,
                                         unitPrice: sold.unitPrice, discount: line.quantity * sold.unitPrice - refund, total: refund, netTotal: refund,
                                         returnedQuantity: 0, originalLine: sold.lineNumber, reason: line.reason))
            takeBacks.append(Plan.TakeBack(saleID: original.id, lineNumber: sold.lineNumber, quantity: line.quantity, sold: sold.quantity,
                                           returnedBefore: sold.returnedQuantity))
        }
        guard overReturns.isEmpty else { throw TransactionError.overReturn(overReturns) }

        let subtotal = lines.map(\.total).reduce(0, +)
        // Taxes come back in proportion to the net refunded, by cumulative shares like line refunds,
        // so returning everything in any number of returns gives back exactly the tax charged.
        let soldNet = original.subtotal - original.discountTotal
        let refundedBefore = try await store.refundedSubtotal(on: sql, saleID: original.id)
        let originalTaxes = (try? JSONCoding.decoder.decode([TaxAmount].self, from: Data(original.taxes.utf8))) ?? []
        let taxes = originalTaxes.map { tax in
            TaxAmount(name: tax.name, rate: tax.rate, amount: soldNet == 0 ? 0 : TransactionMath.refund(
                net: tax.amount, sold: soldNet, alreadyReturned: min(refundedBefore, soldNet - subtotal), quantity: subtotal))
        }
        let taxesIncluded = original.taxesIncluded != 0
        let total = subtotal + (taxesIncluded ? 0 : taxes.map(\.amount).reduce(0, +))
        try checkTotals(draft, total: total)
        return Plan(lines: lines, originalID: original.id, currency: original.currency, subtotal: subtotal, discountTotal: 0, taxes: taxes,
                    taxesIncluded: taxesIncluded, total: total, inheritedCustomerID: original.customerId, takeBacks: takeBacks, original: original,
                    refundedBefore: try await store.refundedTotal(on: sql, saleID: original.id), saleLines: soldLines)
    }

    private func originalSale(of draft: TransactionDraft, on sql: any SQLDatabase, store: TransactionStore, channelID: String) async throws -> TransactionRow {
        var found: TransactionRow?
        if let id = draft.originalID {
            found = IDGenerator.isWellFormed(id, prefix: .transaction) ? try await store.row(on: sql, id: id) : nil
        } else if let externalID = draft.originalExternalID {
            var saleChannel = channelID
            if let reference = draft.originalChannel {
                guard let resolved = try await services.platform.knownChannel(on: sql, tenantID: store.tenantID, reference) else {
                    throw Problem.validation([FieldError(field: "original.channel", code: "unknown_channel",
                                                         detail: "original.channel does not name a channel (by code or id) of this tenant")])
                }
                saleChannel = resolved.id
            }
            found = try await store.existing(on: sql, channelID: saleChannel, externalID: externalID)
        }
        guard let found else {
            throw Problem.validation([FieldError(field: "original", code: "unknown_original", detail: "no transaction of this tenant matches original")])
        }
        guard found.kind == TransactionKind.sale.rawValue else {
            throw Problem.validation([FieldError(field: "original", code: "original_not_sale", detail: "\(found.id) is a return; a return takes back a sale")])
        }
        return found
    }

    // MARK: Shared steps

    private func checkTotals(_ draft: TransactionDraft, total: Int64) throws {
        if let stated = draft.statedTotal, stated != total { throw TransactionError.totalMismatch(stated: stated, computed: total) }
        if let tenders = draft.tenders {
            let tendered = tenders.map(\.amount).reduce(0, +)
            if tendered != total { throw TransactionError.tendersMismatch(tendered: tendered, total: total) }
        }
    }

    /// The channel (and location) a transaction is recorded in. A key bound to a channel or location
    /// stamps it; naming another one is refused rather than silently overridden.
    func place(of draft: TransactionDraft, on sql: any SQLDatabase, caller: Caller) async throws -> (channelID: String, locationID: String?) {
        try await place(of: draft, caller: caller, lookup: PlaceLookup(
            channel: { try await services.platform.knownChannel(on: sql, tenantID: caller.tenantID, $0) },
            location: { try await resolveLocation($0, on: sql, tenantID: caller.tenantID) }))
    }

    /// How `place` finds a channel or location by code or id: in the database, or in a bulk
    /// import's directory of them (`PlaceDirectory`).
    struct PlaceLookup: Sendable {
        let channel: @Sendable (String) async throws -> Channel?
        let location: @Sendable (String) async throws -> String?
    }

    func place(of draft: TransactionDraft, caller: Caller, lookup: PlaceLookup) async throws -> (channelID: String, locationID: String?) {
        var validator = Validator()
        var channel: Channel?
        if let reference = draft.channel {
            channel = try await lookup.channel(reference)
            if channel == nil { validator.fail("channel", "unknown_channel", "channel does not name a channel (by code or id) of this tenant") }
        }
        if let bound = caller.channelID {
            if let channel, channel.id != bound {
                validator.fail("channel", "channel_mismatch", "this key records transactions for channel \(bound) only")
            }
            if channel == nil && draft.channel == nil { channel = try await lookup.channel(bound) }
        } else if draft.channel == nil {
            validator.fail("channel", "required", "channel is required (its code or id)")
        }
        var locationID = channel?.locationId
        if let reference = draft.location {
            locationID = try await lookup.location(reference)
            if locationID == nil { validator.fail("location", "unknown_location", "location does not name a location (by code or id) of this tenant") }
        }
        if let bound = caller.locationID {
            if draft.location != nil, let locationID, locationID != bound {
                validator.fail("location", "location_mismatch", "this key records transactions for location \(bound) only")
            }
            locationID = bound
        }
        guard validator.isValid, let channel else { throw Problem.validation(validator.errors) }
        return (channel.id, locationID)
    }

    private func resolveLocation(_ reference: String, on sql: any SQLDatabase, tenantID: String) async throws -> String? {
        let column = IDGenerator.isWellFormed(reference, prefix: .location) ? "id" : "code"
        // Locations are never changed or deleted: an independent read.
        return try await sql.independentRows("""
            SELECT id FROM locations WHERE tenant_id = \(bind: tenantID) AND \(unsafeRaw: column) = \(bind: reference)
            """).first?.decode(column: "id", as: String.self)
    }
}
