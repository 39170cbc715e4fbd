import Foundation
import HTTPTypes
import OmniaCore
import SQLKit
import Synchronization

/// `POST /v1/checkout/evaluate`: reads what the engine needs — the channel and its store's time
/// zone, the customer's tier and history, which entered codes are valid — then runs the tenant's
/// compiled promotions on the cart. It writes nothing: an evaluation can be asked for as often as a
/// cart changes; budgets and uses are taken when the sale is committed.
struct CheckoutEvaluationService: Sendable {
    let services: AppServices

    func evaluate(on sql: any SQLDatabase, caller: Caller, _ request: EvaluateCheckoutRequest, client: String?) async throws -> CheckoutEvaluation {
        let cart = try await prepare(on: sql, caller: caller, request, client: client)
        let run = try await self.run(cart, on: sql)
        var answer = Self.answer(run.result, cart: cart, codes: cart.codes,
                                 pointsToEarn: try await pointsToEarn(cart, run.result, on: sql, tenantID: caller.tenantID),
                                 unavailable: run.unavailable, explain: request.explain == true, at: services.nowMilliseconds)
        if request.wallet == true, let customerID = cart.customerID { answer.tenders = try await tenders(of: customerID, for: cart, on: sql) }
        return answer
    }

    /// The customer's gift cards, store credit and points that can pay for the cart: in its
    /// currency, usable now, with value available, and allowed in its channel and country.
    private func tenders(of customerID: String, for cart: Cart, on sql: any SQLDatabase) async throws -> [CheckoutEvaluation.WalletTender] {
        let currency = cart.currency.code
        let now = services.nowMilliseconds
        let cards = try await GiftCardService(services: services).cards(on: sql, tenantID: cart.tenantID, customerID: customerID).filter { card in
            card.currency == currency && card.status == "active" && card.available > 0 && (card.expiresAt.map { $0.milliseconds > now } ?? true)
                && (card.channels.map { $0.contains(cart.channel.code) } ?? true)
                && (card.countries.map { countries in cart.input.country.map(countries.contains) ?? false } ?? true)
        }
        let credit = try await StoreCreditService(services: services).credits(on: sql, tenantID: cart.tenantID, customerID: customerID)
            .filter { $0.currency == currency && $0.available > 0 }
        let points = try await LoyaltyService(services: services).memberships(on: sql, tenantID: cart.tenantID, customerID: customerID)
            .filter { $0.currency == currency && $0.availableValue > 0 }
        return cards.map { .init(type: InstrumentType.giftCard.rawValue, id: $0.id, available: $0.available, points: nil, codeLast4: $0.codeLast4) }
            + credit.map { .init(type: InstrumentType.storeCredit.rawValue, id: $0.id, available: $0.available, points: nil, codeLast4: nil) }
            + points.map { .init(type: InstrumentType.points.rawValue, id: $0.id, available: $0.availableValue, points: $0.available, codeLast4: nil) }
    }

    /// A cart checked and everything the engine needs read: the channel and its store's local time,
    /// the customer's facts, each entered code accepted or refused, the compiled catalog.
    struct Cart: Sendable {
        let tenantID: String
        let channel: Channel
        let currency: Currency
        let customerID: String?
        let at: Int64
        let localDay: Int32
        let input: CheckoutInput
        let catalog: PromotionCatalog.Entry
        let codes: [CheckoutEvaluation.Code]
        /// The accepted coupons, by the campaign each unlocks: a commit takes a use of each one whose promotion applied.
        let coupons: [String: CouponService.Resolved]
    }

    func prepare(on sql: any SQLDatabase, caller: Caller, _ request: EvaluateCheckoutRequest, client: String?) async throws -> Cart {
        let tenantID = caller.tenantID
        var validator = Validator()
        let channel = try await CheckoutHoldService(services: services).checkoutChannel(on: sql, caller: caller, request.channel, into: &validator)
        let currency = validator.currency(request.currency, field: "currency")
        if let currency, !caller.acceptedCurrencies.contains(currency.code) {
            validator.fail("currency", "currency_not_accepted", "currency must be one the tenant accepts: \(caller.acceptedCurrencies.sorted().joined(separator: ", "))")
        }
        let lines = Self.lines(request.lines, into: &validator)
        var at = services.nowMilliseconds
        if let text = request.at {
            if let parsed = RFC3339.milliseconds(text) { at = parsed } else { validator.fail("at", "invalid_time", "at must be an RFC 3339 time") }
        }
        let codes = (request.codes ?? []).map { $0.trimmingCharacters(in: .whitespaces).uppercased() }
        if codes.count > EvaluateCheckoutRequest.maximumCodes {
            validator.fail("codes", "invalid_length", "codes lists at most \(EvaluateCheckoutRequest.maximumCodes) codes")
        }
        for (index, code) in codes.enumerated() where code.isEmpty || code.utf8.count > 64 {
            validator.fail("codes[\(index)]", "invalid_code", "codes[\(index)] must be 1 to 64 characters")
        }
        let country = request.country.flatMap { validator.country($0, field: "country") }
        var customerID: String?
        if let requested = request.customerId {
            customerID = try await CustomerStore(tenantID: tenantID).resolvedID(on: sql, requested, into: &validator)
        }
        guard validator.isValid, let channel, let currency else { throw Problem.validation(validator.errors) }

        let catalog = try await services.promotionCatalog.engine(on: sql, tenantID: tenantID, services: services)
        let place = try await self.place(of: channel, on: sql, tenantID: tenantID, tenantTimeZone: caller.tenantTimeZone)
        let (localDay, localMinute) = LocalClock.day(at: at, timeZone: place.timeZone)
        let customer = try await customerID.asyncMap { try await facts(of: $0, currency: currency, on: sql, tenantID: tenantID) }
        // Each entered code is a promotion's own code or a coupon; a coupon is checked as its validation would be.
        var codeResults: [CheckoutEvaluation.Code] = []
        var coupons: [String: CouponService.Resolved] = [:]
        for code in codes {
            if catalog.promotionCodes.contains(code) {
                codeResults.append(.init(code: code, status: "accepted", unlocks: "promotion_code", reason: nil, detail: nil))
                continue
            }
            try services.admitCodeLookup(caller.keyID, client: client)
            do {
                let coupon = try await CouponService(services: services).usable(on: sql, caller: caller, code: code, channel: channel.id, customerID: customerID)
                if coupons[coupon.campaign.id] == nil { coupons[coupon.campaign.id] = coupon }
                codeResults.append(.init(code: code, status: "accepted", unlocks: coupon.campaign.id, reason: nil, detail: nil))
            } catch let problem as Problem where problem.status != .tooManyRequests {
                codeResults.append(.init(code: code, status: "rejected", unlocks: nil, reason: problem.code, detail: problem.detail))
            }
        }
        let input = CheckoutInput(currency: currency, lines: lines, customer: customer, channelCode: channel.code, channelKind: channel.kind,
                                  storeID: channel.locationId, country: country ?? place.country, localDay: localDay, localMinute: localMinute, codes: codes)
        return Cart(tenantID: tenantID, channel: channel, currency: currency, customerID: customerID, at: at, localDay: localDay, input: input, catalog: catalog,
                    codes: codeResults, coupons: coupons)
    }

    /// The engine run on a prepared cart, leaving out the promotions whose budget or limit is used
    /// up — and one whose discount here would pass what is left of its budget.
    func run(_ cart: Cart, on sql: any SQLDatabase) async throws -> (result: PromotionEvaluation, unavailable: [String: PromotionUnavailability]) {
        let usage = try await PromotionUsage(tenantID: cart.tenantID)
            .snapshot(on: sql, quotas: cart.catalog.quotas, day: cart.localDay, customerID: cart.customerID)
        var unavailable = usage.unavailable
        let unlocked = Set(cart.coupons.keys)
        var result = cart.catalog.engine.evaluate(cart.input, unlockedCampaigns: unlocked, unavailable: unavailable.mapValues(\.detail))
        // Each pass rules out at least one more promotion, so this ends within the quota'd ones.
        while let over = result.applied.first(where: { applied in usage.remainingDiscount[applied.promotionID].map { applied.discount > $0 } ?? false }) {
            unavailable[over.promotionID] = .init(code: "promotion_budget_exhausted",
                                                  detail: "what is left of its budget (\(usage.remainingDiscount[over.promotionID] ?? 0)) is less than its discount here")
            result = cart.catalog.engine.evaluate(cart.input, unlockedCampaigns: unlocked, unavailable: unavailable.mapValues(\.detail))
        }
        return (result, unavailable)
    }

    /// Earning as recording the sale will do it (`LoyaltyService`): on each line's net, in the channel, at the tier.
    func pointsToEarn(_ cart: Cart, _ result: PromotionEvaluation, on sql: any SQLDatabase, tenantID: String) async throws -> Int64? {
        guard let customer = cart.input.customer,
            let programme = try await LoyaltyProgrammeService(services: services).activeProgrammes(on: sql, tenantID: tenantID)[cart.currency.code]
        else { return nil }
        let nets = zip(cart.input.lines, result.lineDiscounts).map { LoyaltyRules.Line(category: $0.category, net: $0.total - $1) }
        return programme.rules.earn(nets, channel: cart.channel.code, tierCode: customer.tier, occurredAt: cart.at).reduce(0, +)
    }

    private static func lines(_ inputs: [EvaluateLineInput]?, into validator: inout Validator) -> [CheckoutInput.Line] {
        guard let inputs, (1...EvaluateCheckoutRequest.maximumLines).contains(inputs.count) else {
            validator.fail("lines", inputs == nil ? "required" : "invalid_length", "lines must list 1 to \(EvaluateCheckoutRequest.maximumLines) lines")
            return []
        }
        var lines: [CheckoutInput.Line] = []
        for (index, input) in inputs.enumerated() {
            let field = "lines[\(index)]"
            let sku = validator.text(input.sku, field: "\(field).sku", maxLength: 100)
            let category = validator.text(input.category, field: "\(field).category", required: false, maxLength: 200)
            let brand = validator.text(input.brand, field: "\(field).brand", required: false, maxLength: 200)
            if let quantity = input.quantity, !(1...EvaluateCheckoutRequest.maximumQuantity).contains(quantity) {
                validator.fail("\(field).quantity", quantity < 0 ? "negative_quantity" : "out_of_range",
                               "\(field).quantity must be 1 to \(EvaluateCheckoutRequest.maximumQuantity) (a return is not a cart)")
            } else if input.quantity == nil {
                validator.fail("\(field).quantity", "required", "\(field).quantity is required")
            }
            let price = validator.amount(input.unitPrice, field: "\(field).unit_price")
            let tags = (input.tags ?? []).enumerated().compactMap { tagIndex, tag in validator.text(tag, field: "\(field).tags[\(tagIndex)]", maxLength: 100) }
            guard let sku, let quantity = input.quantity, (1...EvaluateCheckoutRequest.maximumQuantity).contains(quantity), let price else { continue }
            lines.append(.init(sku: sku, category: category, brand: brand, quantity: quantity, unitPrice: price, tags: tags))
        }
        return lines
    }

    /// The store's time zone and country for a channel bound to a location; the tenant's otherwise.
    private func place(of channel: Channel, on sql: any SQLDatabase, tenantID: String, tenantTimeZone: String) async throws -> (timeZone: String, country: String?) {
        guard let locationID = channel.locationId,
            let row = try await sql.raw("SELECT timezone, country FROM locations WHERE tenant_id = \(bind: tenantID) AND id = \(bind: locationID)").first()
        else { return (tenantTimeZone, nil) }
        return (try row.decode(column: "timezone", as: String.self), try row.decode(column: "country", as: String?.self))
    }

    /// What a promotion may know of the customer: birthday, tier in the currency's programme, and
    /// history in every channel (orders) and in this currency (spend), as the live aggregates have it.
    /// The sums are cast back to BIGINT: PostgreSQL sums BIGINTs as NUMERIC.
    private func facts(of customerID: String, currency: Currency, on sql: any SQLDatabase, tenantID: String) async throws -> CheckoutInput.Customer {
        let row = try await sql.raw("""
            SELECT c.birth_date,
              (SELECT CAST(COALESCE(SUM(s.orders), 0) AS BIGINT) FROM customer_channel_stats s
               WHERE s.tenant_id = c.tenant_id AND s.customer_id = c.id) AS orders,
              (SELECT CAST(COALESCE(SUM(s.sales_amount - s.returned_amount), 0) AS BIGINT) FROM customer_channel_stats s
               WHERE s.tenant_id = c.tenant_id AND s.customer_id = c.id AND s.currency = \(bind: currency.code)) AS spend,
              (SELECT m.tier FROM loyalty_members m JOIN loyalty_programmes p ON p.tenant_id = m.tenant_id AND p.id = m.programme_id
               WHERE m.tenant_id = c.tenant_id AND m.customer_id = c.id AND p.status = 'active' AND p.currency = \(bind: currency.code)) AS tier,
              (SELECT \(unsafeRaw: SegmentCodes.aggregate(services.database.dialect)) FROM segment_members sm
               JOIN segments g ON g.tenant_id = sm.tenant_id AND g.id = sm.segment_id
               WHERE sm.tenant_id = c.tenant_id AND sm.customer_id = c.id AND g.status = 'active') AS segments
            FROM customers c WHERE c.tenant_id = \(bind: tenantID) AND c.id = \(bind: customerID)
            """).first()
        return CheckoutInput.Customer(
            id: customerID, tier: try row?.decode(column: "tier", as: String?.self),
            segments: SegmentCodes.split(try row?.decode(column: "segments", as: String?.self) ?? nil),
            birthday: try row?.decode(column: "birth_date", as: String?.self).flatMap(RuleCalendar.day),
            orders: try row?.decode(column: "orders", as: Int64.self) ?? 0, lifetimeSpend: try row?.decode(column: "spend", as: Int64.self) ?? 0)
    }

    static func answer(_ result: PromotionEvaluation, cart: Cart, codes: [CheckoutEvaluation.Code], pointsToEarn: Int64?,
                       unavailable: [String: PromotionUnavailability], explain: Bool, at: Int64) -> CheckoutEvaluation {
        let input = cart.input, catalog = cart.catalog
        let lines = input.lines.enumerated().map { index, line in
            CheckoutEvaluation.Line(
                line: index, sku: line.sku, quantity: line.quantity, total: result.lineTotals[index], discount: result.lineDiscounts[index],
                netTotal: result.lineTotals[index] - result.lineDiscounts[index],
                promotions: result.applied.compactMap { applied in
                    applied.lineDiscounts[index] > 0 ? .init(promotionId: applied.promotionID, amount: applied.lineDiscounts[index]) : nil
                })
        }
        return CheckoutEvaluation(
            currency: input.currency.code, customerId: cart.customerID, channel: cart.channel.code, subtotal: result.subtotal, discount: result.discount,
            total: result.total, freeShipping: result.freeShipping, bonusPoints: result.bonusPoints, pointsToEarn: pointsToEarn, lines: lines,
            applied: result.applied.map { applied in
                .init(promotionId: applied.promotionID, version: applied.version, name: catalog.byID[applied.promotionID]?.name ?? "", discount: applied.discount,
                      freeShipping: applied.freeShipping, bonusPoints: applied.bonusPoints, issuesCoupons: applied.couponCampaigns,
                      issuesGiftCards: applied.giftCardAmounts, condition: catalog.byID[applied.promotionID]?.condition?.text,
                      unlockedBy: catalog.byID[applied.promotionID].flatMap { promotion in
                          switch promotion.unlock {
                          case .none: nil
                          case .code(let code): code
                          case .couponCampaign(let campaign): campaign
                          }
                      })
            },
            notApplied: explain ? result.notApplied.map {
                // A used-up budget or limit says which, as a commit would refuse it.
                .init(promotionId: $0.promotionID, name: catalog.byID[$0.promotionID]?.name ?? "",
                      reason: unavailable[$0.promotionID]?.code ?? $0.reason.rawValue, detail: $0.detail)
            } : nil,
            codes: codes, catalogVersion: catalog.version, evaluatedAt: StoredTime(milliseconds: at))
    }
}

/// Local calendar days and times of day in an IANA time zone, the zone looked up once per process.
enum LocalClock {
    private static let zones = Mutex<[String: TimeZone]>([:])

    /// Days since 1970-01-01 and the minute of the day, in `timeZone`, at `milliseconds`.
    static func day(at milliseconds: Int64, timeZone identifier: String) -> (day: Int32, minute: Int16) {
        let local = milliseconds / 1_000 + Int64(utcOffsetSeconds(at: milliseconds, timeZone: identifier))
        let day = Self.day(ofLocalSeconds: local)
        return (Int32(day), Int16((local - day * 86_400) / 60))
    }

    /// Days since 1970-01-01 of a local time in seconds, rounding down before 1970 too.
    private static func day(ofLocalSeconds local: Int64) -> Int64 {
        local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
    }

    /// Local days of many times in one zone, for scans of hundreds of thousands: the zone's offset
    /// is looked up once per quarter hour of UTC time rather than per time. Offsets change only on
    /// a quarter hour (every zone's offset is a whole number of quarter hours, and changes happen on
    /// a local quarter hour, 02:00 or 03:00), so the days are those `LocalClock.day` gives.
    struct Days {
        let timeZone: String
        private var offsets: [Int64: Int] = [:]

        init(timeZone: String) {
            self.timeZone = timeZone
        }

        mutating func day(at milliseconds: Int64) -> Int32 {
            let quarter = milliseconds >= 0 ? milliseconds / 900_000 : (milliseconds - 899_999) / 900_000
            let offset: Int
            if let known = offsets[quarter] {
                offset = known
            } else {
                offset = LocalClock.utcOffsetSeconds(at: quarter * 900_000, timeZone: timeZone)
                offsets[quarter] = offset
            }
            return Int32(LocalClock.day(ofLocalSeconds: milliseconds / 1_000 + Int64(offset)))
        }
    }

    /// The zone's offset from UTC at `milliseconds`, in seconds.
    static func utcOffsetSeconds(at milliseconds: Int64, timeZone identifier: String) -> Int {
        let zone = zones.withLock { zones in
            if let zone = zones[identifier] { return zone }
            let zone = TimeZone(identifier: identifier) ?? TimeZone(secondsFromGMT: 0)!
            if zones.count < 1_000 { zones[identifier] = zone }
            return zone
        }
        return zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(milliseconds / 1_000)))
    }
}
