import Foundation
import OmniaCore
import SQLKit

/// Holds and redemptions over a checkout's instruments. A hold reserves an amount on each
/// instrument (a pending ledger transfer per part) until it is captured — all or part, the rest
/// released — voided, or expires; a redemption takes the amounts at once (a posted transfer per
/// part). Either is all or nothing: one instrument refusing (too little on it, disabled, not
/// allowed in this channel) refuses the checkout and writes nothing. A captured amount can be
/// refunded back onto its instruments.
///
/// Whether a hold is still open is decided by one conditional update of its row, so a capture
/// racing a void or another capture (two tills, two servers, a retried request) resolves it once.
struct CheckoutHoldService: Sendable {
    let services: AppServices

    static let defaultExpirySeconds = 900
    static let expirySeconds = 30...604_800
    static let maximumInstruments = 20

    // MARK: Create

    /// Holds (`kind: hold`) or redeems (`kind: redemption`) the request's instruments. Instruments
    /// given by code were resolved to cards beforehand (`GiftCardService.resolve`, outside this
    /// transaction so that a wrong PIN counts even though the request fails): `cardIDsByCode` holds
    /// their ids, by the instrument's position.
    func create(on sql: any SQLDatabase, caller: Caller, _ request: CreateHoldRequest, kind: String, cardIDsByCode: [Int: String],
                actor: Actor) async throws -> CheckoutHold {
        let now = services.nowMilliseconds
        let checked = try await validate(on: sql, caller: caller, request, kind: kind, cardIDsByCode: cardIDsByCode, now: now)
        let ledger = LedgerStore(tenantID: caller.tenantID)
        let id = services.ids.make(.checkoutHold)
        var country = checked.country
        var parts: [CheckoutHoldPart] = []
        if checked.instruments.count > 1 {
            let currency = LedgerUnit.currency(Currency(code: checked.currency)!)
            try await lockAccounts(of: checked.instruments.filter(\.type.holdsValue).map { ($0.type, $0.id, $0.type == .points ? .points : currency) },
                                   on: sql, tenantID: caller.tenantID)
        }
        var partsByPosition: [Int: CheckoutHoldPart] = [:]
        var coupons: [(position: Int, coupon: CouponService.Resolved)] = []
        for (position, instrument) in checked.instruments.enumerated() {
            let currency: String
            var pointValue: Int64?
            switch instrument.type {
            case .giftCard:
                let card = try await usableCard(on: sql, tenantID: caller.tenantID, instrument.id, position: position, now: now)
                if let refusal = try await restriction(of: card, checked, country: &country, on: sql, tenantID: caller.tenantID) {
                    throw CheckoutHoldError.restricted(refusal, position: position)
                }
                currency = card.currency
            case .storeCredit:
                currency = try await ownedStoreCredit(on: sql, tenantID: caller.tenantID, instrument.id, customerID: checked.customerID, position: position)
            case .points:
                let programme = try await ownedPoints(on: sql, tenantID: caller.tenantID, instrument.id, customerID: checked.customerID, position: position)
                currency = programme.currency
                pointValue = programme.rules.pointValue
            case .coupon:
                let couponService = CouponService(services: services)
                guard let coupon = try await couponService.resolve(on: sql, tenantID: caller.tenantID, instrument.id) else {
                    throw CouponError.notFound.naming(position)
                }
                if let refusal = try await couponService.refusal(of: coupon, channel: checked.channel, customerID: checked.customerID, now: now, on: sql,
                                                                 tenantID: caller.tenantID) {
                    throw refusal.naming(position)
                }
                coupons.append((position, coupon))
                continue
            }
            guard currency == checked.currency else { throw CheckoutHoldError.currencyMismatch(currency, checkout: checked.currency, position: position) }
            let unit = instrument.type == .points ? LedgerUnit.points : LedgerUnit.currency(Currency(code: currency)!)
            let transfer = LedgerTransferRequest(debitAccountID: instrument.id,
                                                 creditAccountID: Self.redeemedAccount(instrument.type, unit: unit, instrumentID: instrument.id),
                                                 amount: instrument.amount, unit: unit)
            let written: LedgerTransfer
            do {
                if kind == "hold" {
                    written = try await ledger.hold(on: sql, transfer, expiresAt: checked.expiresAt!, ids: services.ids, reason: id,
                                                    requestID: actor.requestID, now: now)
                } else {
                    written = try await ledger.post(on: sql, [transfer], ids: services.ids, reason: id, requestID: actor.requestID, now: now)[0]
                    if instrument.type == .points {
                        try await LoyaltyService(services: services).consumeLots(on: sql, tenantID: caller.tenantID, accountID: instrument.id,
                                                                                 points: instrument.amount)
                    }
                }
            } catch let refused as LedgerRefused {
                throw CheckoutHoldError.refused(refused, position: position)
            }
            partsByPosition[position] = CheckoutHoldPart(instrumentType: instrument.type.rawValue, instrumentId: instrument.id, unit: unit.rawValue,
                                                         amount: instrument.amount, captured: kind == "hold" ? 0 : instrument.amount, refunded: 0,
                                                         transferId: written.id, pointValue: pointValue)
        }
        // Coupon uses after the value, in campaign order: two checkouts using the same campaigns
        // take their counters in one order, never waiting on each other in a cycle.
        for (position, coupon) in coupons.sorted(by: { ($0.coupon.campaign.id, $0.coupon.code) < ($1.coupon.campaign.id, $1.coupon.code) }) {
            do {
                try await CouponService(services: services).take(coupon, customerID: checked.customerID, holdID: id, redeemed: kind == "redemption",
                                                                 on: sql, tenantID: caller.tenantID, now: now)
            } catch let problem as Problem {
                throw problem.naming(position)
            }
            partsByPosition[position] = CheckoutHoldPart(instrumentType: InstrumentType.coupon.rawValue, instrumentId: coupon.code, unit: "uses",
                                                         amount: 1, captured: kind == "hold" ? 0 : 1, refunded: 0, transferId: nil)
        }
        parts = (0..<checked.instruments.count).map { partsByPosition[$0]! }
        let hold = CheckoutHold(id: id, kind: kind, status: kind == "hold" ? "open" : "captured", channelId: checked.channel.id, currency: checked.currency, country: country,
                                customerId: checked.customerID, reference: checked.reference,
                                expiresAt: checked.expiresAt.map(StoredTime.init(milliseconds:)),
                                occurredAt: checked.occurredAt.map(StoredTime.init(milliseconds:)), parts: parts,
                                createdAt: StoredTime(milliseconds: now), updatedAt: StoredTime(milliseconds: now))
        try await insert([hold], on: sql, tenantID: caller.tenantID)
        try await services.events.append(on: sql, tenantID: caller.tenantID, type: kind == "hold" ? "hold.created" : "redemption.created",
                                         data: hold, requestID: actor.requestID)
        return hold
    }

    struct CheckedRequest: Sendable {
        let channel: Channel
        /// The store the checkout runs in: the key's, or the channel's.
        let locationID: String?
        let currency: String
        let occurredAt: Int64?
        let country: String?
        let customerID: String?
        let reference: String?
        let expiresAt: Int64?
        let instruments: [(type: InstrumentType, id: String, amount: Int64)]
    }

    /// The channel a checkout runs in: the one `reference` names (code or id), or the key's when it
    /// is bound to one and none is named. A key bound to a channel checks out there only, as its
    /// sales are recorded there (`channel_mismatch`). Shared with coupon validation.
    func checkoutChannel(on sql: any SQLDatabase, caller: Caller, _ reference: String?, into validator: inout Validator) async throws -> Channel? {
        let platform = PlatformService(services: services)
        guard let reference else {
            guard let bound = caller.channelID else {
                validator.fail("channel", "required", "channel is required (its code or id)")
                return nil
            }
            return try await platform.knownChannel(on: sql, tenantID: caller.tenantID, bound)
        }
        guard let text = validator.text(reference, field: "channel", maxLength: 100) else { return nil }
        guard let channel = try await platform.knownChannel(on: sql, tenantID: caller.tenantID, text) else {
            validator.fail("channel", "unknown_channel", "channel does not name a channel of this tenant")
            return nil
        }
        if let bound = caller.channelID, channel.id != bound {
            validator.fail("channel", "channel_mismatch", "this key checks out in channel \(bound) only")
            return nil
        }
        return channel
    }

    /// Every field checked at once, each wrong one named; instruments must be distinct.
    func validate(on sql: any SQLDatabase, caller: Caller, _ request: CreateHoldRequest, kind: String, cardIDsByCode: [Int: String],
                          now: Int64) async throws -> CheckedRequest {
        let tenantID = caller.tenantID
        var validator = Validator()
        let currency = request.currency == nil ? Currency(code: caller.tenantCurrency) : validator.currency(request.currency, field: "currency")
        let channel = try await checkoutChannel(on: sql, caller: caller, request.channel, into: &validator)
        let country = validator.country(request.country, field: "country", required: false)
        let reference = validator.text(request.reference, field: "reference", required: false, maxLength: 200)
        var customerID: String?
        if let requested = request.customerId {
            customerID = try await CustomerStore(tenantID: tenantID).resolvedID(on: sql, requested, into: &validator)
        }
        var expiresAt: Int64?
        if kind == "hold" {
            let seconds = request.expiresIn ?? Self.defaultExpirySeconds
            if Self.expirySeconds.contains(seconds) {
                expiresAt = now + Int64(seconds) * 1000
            } else {
                validator.fail("expires_in", "out_of_range", "expires_in must be \(Self.expirySeconds.lowerBound) to \(Self.expirySeconds.upperBound) seconds")
            }
        } else if request.expiresIn != nil {
            validator.fail("expires_in", "not_for_redemptions", "a redemption takes its amounts at once; expires_in is for holds")
        }
        var occurredAt: Int64?
        if kind == "hold" {
            for (field, given) in [("occurred_at", request.occurredAt != nil), ("offline", request.offline != nil)] where given {
                validator.fail(field, "not_for_holds", "\(field) is for redemptions a till syncs after working offline")
            }
        } else if let text = request.occurredAt {
            occurredAt = TransactionValidation.occurredAt(text, field: "occurred_at", now: now, into: &validator)
        }
        var instruments: [(type: InstrumentType, id: String, amount: Int64)] = []
        let inputs = request.instruments ?? []
        if inputs.isEmpty || inputs.count > Self.maximumInstruments {
            validator.fail("instruments", inputs.isEmpty ? "required" : "too_many", "instruments must list 1 to \(Self.maximumInstruments) instruments")
        }
        var seen = Set<String>()
        for (position, input) in inputs.enumerated() {
            let field = "instruments[\(position)]"
            let type = validator.oneOf(input.type, InstrumentType.self, field: "\(field).type")
            let amount = validator.amount(input.amount ?? (type == .coupon ? 1 : nil), field: "\(field).amount")
            if amount == 0 { validator.fail("\(field).amount", "amount_not_positive", "\(field).amount must be at least 1") }
            if type == .coupon, let amount, amount != 1 { validator.fail("\(field).amount", "coupon_amount", "a coupon is used once per checkout: amount 1") }
            var id: String?
            switch (input.id, input.code) {
            case (let given?, nil):
                if let type, let prefix = type.idPrefix, IDGenerator.isWellFormed(given, prefix: prefix) { id = given } else if let type {
                    validator.fail("\(field).id", "unknown_instrument", "\(field).id does not name a \(type.noun) of this tenant")
                }
            case (nil, let code?):
                switch type {
                case .storeCredit: validator.fail("\(field).code", "no_code", "store credit has no code; name it by id")
                case .points: validator.fail("\(field).code", "no_code", "points have no code; name the points account by id, or give customer_id")
                case .coupon: id = code.trimmingCharacters(in: .whitespaces).uppercased()
                default: id = cardIDsByCode[position]
                }
            case (nil, nil) where type == .points:
                // A till knows the customer, not their points account: the one of the checkout's currency.
                if let customerID, let currency,
                    let programme = try await LoyaltyProgrammeService(services: services).activeProgramme(on: sql, tenantID: tenantID, currency: currency.code),
                    let member = try await LoyaltyService(services: services).members(on: sql, tenantID: tenantID, customerIDs: [customerID])
                        .first(where: { $0.programmeID == programme.id }) {
                    id = member.accountID
                } else {
                    validator.fail("\(field).id", customerID == nil ? "required" : "unknown_instrument", customerID == nil
                        ? "name the points account by id, or give customer_id to spend that customer's points"
                        : "the customer has no points in an active programme of the checkout's currency")
                }
            default:
                validator.fail(field, "id_or_code", "\(field) must name its instrument by id or by code, not both")
            }
            if input.pin != nil && input.code == nil { validator.fail("\(field).pin", "pin_needs_code", "\(field).pin goes with a code") }
            if let id, !seen.insert(id).inserted {
                validator.fail(field, "duplicate_instrument", "\(field) names an instrument listed before; list each once with its whole amount")
            }
            if let type, let id, let amount, amount > 0 { instruments.append((type, id, amount)) }
        }
        guard validator.isValid, let channel, let currency else { throw Problem.validation(validator.errors) }
        return CheckedRequest(channel: channel, locationID: caller.locationID ?? channel.locationId, currency: currency.code, occurredAt: occurredAt,
                              country: country, customerID: customerID, reference: reference, expiresAt: expiresAt,
                              instruments: instruments)
    }

    /// The card `id`, refused unless it can be spent now. A plain read, not a lock: a disable
    /// committing meanwhile is ordered after this redemption, and the card's balance is guarded by
    /// the ledger's own conditional update.
    private func usableCard(on sql: any SQLDatabase, tenantID: String, _ id: String, position: Int, now: Int64) async throws -> GiftCardRow {
        try Self.usable(try await GiftCardService.row(on: sql, tenantID: tenantID, id: id), position: position, now: now)
    }

    /// The card read, refused unless it exists and can be spent now (active, not expired).
    static func usable(_ card: GiftCardRow?, position: Int, now: Int64) throws -> GiftCardRow {
        guard let card else { throw CheckoutHoldError.unknownInstrument(position: position, noun: InstrumentType.giftCard.noun) }
        let status = card.status(at: now)
        guard status == "active" else { throw CheckoutHoldError.unusable(status, position: position) }
        return card
    }

    /// Why `card` may not be spent in the checkout's channel and country, or nil when it may. The
    /// country of a checkout in a store is the store's (read only when a card asks, and kept for the
    /// hold), whatever the request says; elsewhere it is the request's.
    func restriction(of card: GiftCardRow, _ checked: CheckedRequest, country: inout String?, on sql: any SQLDatabase,
                     tenantID: String) async throws -> String? {
        if let channels = card.channels, !channels.contains(checked.channel.code) {
            return "the gift card cannot be used in channel \(checked.channel.code)"
        }
        guard let countries = card.countries else { return nil }
        if let locationID = checked.locationID {
            country = try await sql.raw("SELECT country FROM locations WHERE tenant_id = \(bind: tenantID) AND id = \(bind: locationID)").all()
                .first?.decode(column: "country", as: String.self)
        }
        guard let country else { return "the gift card can only be used in \(countries.joined(separator: ", ")); say the checkout's country" }
        return countries.contains(country) ? nil : "the gift card cannot be used in \(country)"
    }

    /// Locks the accounts of a checkout over several cards — the cards and the control accounts they
    /// pay into — in one order (`LedgerStore.lockedAccounts`) before any changes, so that two such
    /// checkouts over the same cards never wait on each other in a cycle (PostgreSQL). One card needs nothing.
    private func lockAccounts(of instruments: [(type: InstrumentType, id: String, unit: LedgerUnit)], on sql: any SQLDatabase,
                              tenantID: String) async throws {
        guard instruments.count > 1 else { return }
        let controls = instruments.map { (Self.redeemedAccount($0.type, unit: $0.unit, instrumentID: $0.id), $0.unit) }
        let ledger = LedgerStore(tenantID: tenantID)
        try await ledger.openControlAccounts(on: sql, Dictionary(controls) { first, _ in first }, now: services.nowMilliseconds)
        _ = try await ledger.lockedAccounts(on: sql, Array(Set(instruments.map(\.id) + controls.map(\.0))))
    }

    private func lockAccounts(of hold: CheckoutHold, on sql: any SQLDatabase, tenantID: String) async throws {
        let valued = hold.parts.filter(\.holdsValue)
        guard valued.count > 1 else { return }
        try await lockAccounts(of: valued.compactMap { part in LedgerUnit(rawValue: part.unit).map { (part.type, part.instrumentId, $0) } }, on: sql,
                               tenantID: tenantID)
    }

    /// The currency of the store credit `id`, refused unless it belongs to the checkout's customer
    /// (or a customer merged into them): credit is spent by its owner, who must be named.
    private func ownedStoreCredit(on sql: any SQLDatabase, tenantID: String, _ id: String, customerID: String?, position: Int) async throws -> String {
        guard let row = try await sql.raw("""
            SELECT s.currency, c.canonical_id FROM store_credits s JOIN customers c ON c.tenant_id = s.tenant_id AND c.id = s.customer_id
            WHERE s.tenant_id = \(bind: tenantID) AND s.id = \(bind: id)
            """).all().first else { throw CheckoutHoldError.unknownInstrument(position: position, noun: InstrumentType.storeCredit.noun) }
        guard let customerID, try row.decode(column: "canonical_id", as: String.self) == customerID else {
            throw CheckoutHoldError.notOwned(position: position, type: .storeCredit)
        }
        return try row.decode(column: "currency", as: String.self)
    }

    /// The programme of the points account `id`, refused unless it belongs to the checkout's
    /// customer (or a customer merged into them) and its programme is active.
    private func ownedPoints(on sql: any SQLDatabase, tenantID: String, _ id: String, customerID: String?, position: Int) async throws -> StoredLoyaltyProgramme {
        guard let member = try await LoyaltyService(services: services).member(on: sql, tenantID: tenantID, accountID: id),
            let programme = try await LoyaltyProgrammeService(services: services).programme(on: sql, tenantID: tenantID, id: member.programmeID)
        else { throw CheckoutHoldError.unknownInstrument(position: position, noun: InstrumentType.points.noun) }
        let owner = try await CustomerStore(tenantID: tenantID).resolvedRow(on: sql, id: member.customerID)?.id
        guard let customerID, owner == customerID else { throw CheckoutHoldError.notOwned(position: position, type: .points) }
        guard programme.status == "active" else { throw CheckoutHoldError.programmeInactive(position: position) }
        return programme
    }

    /// The control account a part's redeemed amount goes to (split by instrument, `LedgerStore.controlShards`).
    static func redeemedAccount(_ type: InstrumentType, unit: LedgerUnit, instrumentID: String) -> String {
        LedgerStore.controlAccountID(type.redeemedPurpose, unit: unit, for: instrumentID)
    }

    // MARK: Capture, void, refund

    /// Captures `amount` of an open hold (all of it when absent), taken from its parts in order;
    /// what a part does not contribute is released.
    func capture(on sql: any SQLDatabase, tenantID: String, id: String, _ request: HoldAmountRequest, actor: Actor) async throws -> CheckoutHold {
        let now = services.nowMilliseconds
        let hold = try await existing(on: sql, tenantID: tenantID, id: id)
        try await lockAccounts(of: hold, on: sql, tenantID: tenantID)
        // Bad input first (400), then whether the hold is still open, then whether it holds that much (409s).
        let amount = try Self.amount(request, of: hold, available: .max, exceeded: CheckoutHoldError.exceedsHold)
        let reason = try Self.reason(request)
        try await resolve(hold, to: "captured", on: sql, tenantID: tenantID, now: now)
        if let amount, amount > hold.parts.filter(\.holdsValue).reduce(0, { $0 + $1.value(of: $1.amount) }) { throw CheckoutHoldError.exceedsHold }
        let ledger = LedgerStore(tenantID: tenantID)
        var remaining = amount ?? Int64.max
        var parts: [CheckoutHoldPart] = []
        for part in hold.parts {
            guard let transferID = part.transferId else {
                // A coupon's use is captured with the hold, whatever amount of value is.
                try await CouponService(services: services).redeemHeld(code: part.instrumentId, holdID: hold.id, on: sql, tenantID: tenantID, now: now)
                parts.append(part.with(captured: 1))
                continue
            }
            let taken = part.units(paying: remaining, atMost: part.amount)
            remaining -= part.value(of: taken)
            do {
                if taken > 0 {
                    _ = try await ledger.capture(on: sql, holdID: transferID, amount: taken, ids: services.ids, reason: reason ?? hold.id,
                                                 requestID: actor.requestID, now: now)
                    if part.type == .points {
                        try await LoyaltyService(services: services).consumeLots(on: sql, tenantID: tenantID, accountID: part.instrumentId, points: taken)
                    }
                } else {
                    _ = try await ledger.void(on: sql, holdID: transferID, ids: services.ids, reason: reason ?? hold.id, requestID: actor.requestID, now: now)
                }
            } catch let refused as LedgerRefused where [.holdExpired, .holdAlreadyResolved].contains(refused.refusal) {
                // The ledger's own sweep (on a server whose clock runs ahead) released the part first.
                throw CheckoutHoldError.notOpen("expired")
            } catch let refused as LedgerRefused {
                throw CheckoutHoldError.refused(refused, position: parts.count)
            }
            parts.append(part.with(captured: taken))
        }
        try await updateParts(parts, of: hold.id, on: sql, tenantID: tenantID)
        return try await record(hold.changed(status: "captured", parts: parts, at: now), event: "hold.captured", on: sql, tenantID: tenantID, actor: actor)
    }

    /// Releases an open hold whole.
    func void(on sql: any SQLDatabase, tenantID: String, id: String, _ request: HoldAmountRequest, actor: Actor) async throws -> CheckoutHold {
        let now = services.nowMilliseconds
        let hold = try await existing(on: sql, tenantID: tenantID, id: id)
        try await lockAccounts(of: hold, on: sql, tenantID: tenantID)
        if request.amount != nil {
            throw Problem.validation([FieldError(field: "amount", code: "not_for_voids", detail: "a void releases the whole hold; capture part of it instead")])
        }
        let reason = try Self.reason(request)
        try await resolve(hold, to: "voided", on: sql, tenantID: tenantID, now: now)
        try await voidParts(of: hold, expired: false, reason: reason, on: sql, tenantID: tenantID, requestID: actor.requestID, now: now)
        return try await record(hold.changed(status: "voided", parts: hold.parts, at: now), event: "hold.voided", on: sql, tenantID: tenantID, actor: actor)
    }

    /// Puts `amount` of what was captured (all not yet refunded when absent) back on the
    /// instruments, in the order of the parts: a return's refund to the card it was paid with.
    func refund(on sql: any SQLDatabase, tenantID: String, id: String, _ request: HoldAmountRequest, actor: Actor) async throws -> CheckoutHold {
        let now = services.nowMilliseconds
        let hold = try await existing(on: sql, tenantID: tenantID, id: id)
        guard hold.status == "captured" else { throw CheckoutHoldError.notCaptured(hold.status) }
        try await lockAccounts(of: hold, on: sql, tenantID: tenantID)
        let refundable = hold.refundable
        let amount = try Self.amount(request, of: hold, available: refundable, exceeded: CheckoutHoldError.exceedsRefundable(refundable))
        let reason = try Self.reason(request)
        // A whole refund also gives the checkout's coupon uses back; a partial one is value only.
        let couponsBack = amount == nil ? hold.parts.filter { !$0.holdsValue && $0.refunded < $0.captured } : []
        guard refundable > 0 || !couponsBack.isEmpty else { throw CheckoutHoldError.exceedsRefundable(0) }
        let ledger = LedgerStore(tenantID: tenantID)
        var remaining = amount ?? refundable
        var parts: [CheckoutHoldPart] = []
        for (position, part) in hold.parts.enumerated() {
            guard part.holdsValue else {
                guard amount == nil, part.refunded < part.captured else { parts.append(part); continue }
                let marked = try await sql.raw("""
                    UPDATE checkout_hold_parts SET refunded = 1
                    WHERE tenant_id = \(bind: tenantID) AND hold_id = \(bind: hold.id) AND position = \(bind: position) AND refunded = 0
                    RETURNING refunded
                    """).all()
                if !marked.isEmpty { try await giveBackCoupon(part, of: hold, on: sql, tenantID: tenantID, now: now) }
                parts.append(part.with(refunded: 1))
                continue
            }
            let given = part.units(paying: remaining, atMost: part.captured - part.refunded)
            remaining -= part.value(of: given)
            guard given > 0 else { parts.append(part); continue }
            // The part's refunded sum is raised only while it stays within what was captured: two
            // refunds of one hold at once cannot both give back the same amount.
            let raised = try await sql.raw("""
                UPDATE checkout_hold_parts SET refunded = refunded + \(bind: given)
                WHERE tenant_id = \(bind: tenantID) AND hold_id = \(bind: hold.id) AND position = \(bind: position)
                  AND refunded + \(bind: given) <= captured
                RETURNING refunded
                """).all()
            // What the row holds now, which a concurrent refund of this hold (PostgreSQL) may have raised too.
            guard let refundedNow = try raised.first?.decode(column: "refunded", as: Int64.self) else {
                throw CheckoutHoldError.exceedsRefundable(refundable)
            }
            let unit = LedgerUnit(rawValue: part.unit)!
            let back = LedgerTransferRequest(debitAccountID: Self.redeemedAccount(InstrumentType(rawValue: part.instrumentType)!, unit: unit,
                                                                                  instrumentID: part.instrumentId),
                                             creditAccountID: part.instrumentId, amount: given, unit: unit)
            do {
                _ = try await ledger.post(on: sql, [back], ids: services.ids, reason: reason ?? "refund \(hold.id)", requestID: actor.requestID, now: now)
                if part.type == .points {
                    try await LoyaltyService(services: services).refundPoints(on: sql, tenantID: tenantID, accountID: part.instrumentId, points: given,
                                                                              holdID: hold.id, now: now)
                }
            } catch let refused as LedgerRefused {
                throw CheckoutHoldError.refused(refused, position: position)
            }
            parts.append(part.with(refunded: refundedNow))
        }
        try await sql.raw("UPDATE checkout_holds SET updated_at = \(bind: now) WHERE tenant_id = \(bind: tenantID) AND id = \(bind: hold.id)").run()
        return try await record(hold.changed(status: hold.status, parts: parts, at: now), event: "hold.refunded", on: sql, tenantID: tenantID, actor: actor)
    }

    /// Releases a hold past its expiry (the sweep): its status becomes `expired`. False when it was
    /// resolved meanwhile.
    func expire(on sql: any SQLDatabase, tenantID: String, id: String) async throws -> Bool {
        let now = services.nowMilliseconds
        guard let hold = try await hold(on: sql, tenantID: tenantID, id: id) else { return false }
        let expired = try await sql.raw("""
            UPDATE checkout_holds SET status = 'expired', updated_at = \(bind: now)
            WHERE tenant_id = \(bind: tenantID) AND id = \(bind: id) AND status = 'open' AND expires_at <= \(bind: now)
            RETURNING id
            """).all()
        guard !expired.isEmpty else { return false }
        try await voidParts(of: hold, expired: true, reason: nil, on: sql, tenantID: tenantID, requestID: nil, now: now)
        _ = try await record(hold.changed(status: "expired", parts: hold.parts, at: now), event: "hold.expired", on: sql, tenantID: tenantID,
                             actor: Actor(id: "system", requestID: nil))
        return true
    }

    /// Open holds past their expiry, over every tenant, oldest first: what the sweep expires.
    static func expiredHolds(on sql: any SQLDatabase, now: Int64, limit: Int) async throws -> [(tenantID: String, holdID: String)] {
        try await sql.raw("""
            SELECT tenant_id, id FROM checkout_holds WHERE status = 'open' AND expires_at <= \(bind: now) ORDER BY expires_at LIMIT \(literal: limit)
            """).all().map { (try $0.decode(column: "tenant_id", as: String.self), try $0.decode(column: "id", as: String.self)) }
    }

    /// Voids each part's ledger hold. A part the ledger's own expiry sweep voided first is left as it is.
    private func voidParts(of hold: CheckoutHold, expired: Bool, reason: String?, on sql: any SQLDatabase, tenantID: String, requestID: String?,
                           now: Int64) async throws {
        let ledger = LedgerStore(tenantID: tenantID)
        for part in hold.parts {
            guard let transferID = part.transferId else {
                try await giveBackCoupon(part, of: hold, on: sql, tenantID: tenantID, now: now)
                continue
            }
            do {
                _ = try await ledger.void(on: sql, holdID: transferID, expired: expired, ids: services.ids, reason: reason ?? hold.id,
                                          requestID: requestID, now: now)
            } catch let refused as LedgerRefused where expired && refused.refusal == .holdAlreadyResolved {
                continue
            }
        }
    }

    /// Gives a coupon part's use back to its code, campaign and customer.
    private func giveBackCoupon(_ part: CheckoutHoldPart, of hold: CheckoutHold, on sql: any SQLDatabase, tenantID: String, now: Int64) async throws {
        let coupons = CouponService(services: services)
        guard let coupon = try await coupons.resolve(on: sql, tenantID: tenantID, part.instrumentId) else { return }
        try await coupons.giveBack(coupon, customerID: hold.customerId, holdID: hold.id, on: sql, tenantID: tenantID, now: now)
    }

    /// Moves an open hold to `status` in one conditional update — the step that makes a hold
    /// resolve once — or says why it cannot (captured, voided, expired).
    private func resolve(_ hold: CheckoutHold, to status: String, on sql: any SQLDatabase, tenantID: String, now: Int64) async throws {
        let changed = try await sql.raw("""
            UPDATE checkout_holds SET status = \(bind: status), updated_at = \(bind: now)
            WHERE tenant_id = \(bind: tenantID) AND id = \(bind: hold.id) AND status = 'open' AND expires_at > \(bind: now)
            RETURNING id
            """).all()
        guard changed.isEmpty else { return }
        let current = try await self.hold(on: sql, tenantID: tenantID, id: hold.id)
        throw CheckoutHoldError.notOpen(current.map { $0.status(at: now) } ?? hold.status)
    }

    private static func amount(_ request: HoldAmountRequest, of hold: CheckoutHold, available: Int64, exceeded: Problem) throws -> Int64? {
        guard let requested = request.amount else { return nil }
        var validator = Validator()
        let amount = validator.amount(requested, field: "amount")
        if amount == 0 { validator.fail("amount", "amount_not_positive", "amount must be at least 1") }
        guard validator.isValid, let amount else { throw Problem.validation(validator.errors) }
        guard amount <= available else { throw exceeded }
        return amount
    }

    private static func reason(_ request: HoldAmountRequest) throws -> String? {
        var validator = Validator()
        let reason = validator.text(request.reason, field: "reason", required: false, maxLength: 500)
        guard validator.isValid else { throw Problem.validation(validator.errors) }
        return reason
    }

    // MARK: Storage

    /// Writes holds and their parts, two statements for all.
    func insert(_ holds: [CheckoutHold], on sql: any SQLDatabase, tenantID: String) async throws {
        try await sql.insertRows(into: "checkout_holds", columns: Self.holdColumns, holds) { hold, values in
            values.add(tenantID)
            values.add(hold.id)
            values.add(hold.kind)
            values.add(hold.status)
            values.add(hold.channelId)
            values.add(hold.currency)
            values.add(hold.country)
            values.add(hold.customerId)
            values.add(hold.reference)
            values.add(hold.expiresAt?.milliseconds)
            values.add(hold.occurredAt?.milliseconds)
            values.add(hold.createdAt.milliseconds)
            values.add(hold.updatedAt.milliseconds)
        }
        let parts = holds.flatMap { hold in hold.parts.enumerated().map { (hold.id, $0.offset, $0.element) } }
        try await sql.insertRows(into: "checkout_hold_parts", columns: Self.partColumns, parts) { entry, values in
            let (holdID, position, part) = entry
            values.add(tenantID)
            values.add(holdID)
            values.add(position)
            values.add(part.instrumentType)
            values.add(part.instrumentId)
            values.add(part.unit)
            values.add(part.amount)
            values.add(part.captured)
            values.add(part.refunded)
            values.add(part.transferId)
            values.add(part.pointValue)
        }
    }

    private static let holdColumns = ["tenant_id", "id", "kind", "status", "channel_id", "currency", "country", "customer_id", "reference", "expires_at",
                                      "occurred_at", "created_at", "updated_at"]
    private static let partColumns = ["tenant_id", "hold_id", "position", "instrument_type", "instrument_id", "unit", "amount", "captured", "refunded",
                                      "transfer_id", "point_value"]

    private func updateParts(_ parts: [CheckoutHoldPart], of holdID: String, on sql: any SQLDatabase, tenantID: String) async throws {
        for (position, part) in parts.enumerated() {
            try await sql.raw("""
                UPDATE checkout_hold_parts SET captured = \(bind: part.captured)
                WHERE tenant_id = \(bind: tenantID) AND hold_id = \(bind: holdID) AND position = \(bind: position)
                """).run()
        }
    }

    private func record(_ hold: CheckoutHold, event: String, on sql: any SQLDatabase, tenantID: String, actor: Actor) async throws -> CheckoutHold {
        try await services.events.append(on: sql, tenantID: tenantID, type: event, data: hold, requestID: actor.requestID)
        return hold
    }

    // MARK: Reading

    /// The hold `id`, or 404.
    func existing(on sql: any SQLDatabase, tenantID: String, id: String) async throws -> CheckoutHold {
        guard IDGenerator.isWellFormed(id, prefix: .checkoutHold), let hold = try await hold(on: sql, tenantID: tenantID, id: id) else {
            throw Problem.notFound("hold")
        }
        return hold
    }

    /// The hold as a request sees it now: an open hold past its expiry reads `expired`.
    func current(on sql: any SQLDatabase, tenantID: String, id: String) async throws -> CheckoutHold {
        let hold = try await existing(on: sql, tenantID: tenantID, id: id)
        return hold.changed(status: hold.status(at: services.nowMilliseconds), parts: hold.parts, at: hold.updatedAt.milliseconds)
    }

    private func hold(on sql: any SQLDatabase, tenantID: String, id: String) async throws -> CheckoutHold? {
        guard let row = try await sql.raw("SELECT * FROM checkout_holds WHERE tenant_id = \(bind: tenantID) AND id = \(bind: id)").all().first else {
            return nil
        }
        let parts = try await sql.raw("""
            SELECT * FROM checkout_hold_parts WHERE tenant_id = \(bind: tenantID) AND hold_id = \(bind: id) ORDER BY position
            """).all().map { row in
            CheckoutHoldPart(instrumentType: try row.decode(column: "instrument_type", as: String.self),
                             instrumentId: try row.decode(column: "instrument_id", as: String.self), unit: try row.decode(column: "unit", as: String.self),
                             amount: try row.decode(column: "amount", as: Int64.self), captured: try row.decode(column: "captured", as: Int64.self),
                             refunded: try row.decode(column: "refunded", as: Int64.self), transferId: try row.decode(column: "transfer_id", as: String?.self),
                             pointValue: try row.decode(column: "point_value", as: Int64?.self))
        }
        return CheckoutHold(
            id: id, kind: try row.decode(column: "kind", as: String.self), status: try row.decode(column: "status", as: String.self),
            channelId: try row.decode(column: "channel_id", as: String.self), currency: try row.decode(column: "currency", as: String.self),
            country: try row.decode(column: "country", as: String?.self),
            customerId: try row.decode(column: "customer_id", as: String?.self), reference: try row.decode(column: "reference", as: String?.self),
            expiresAt: try row.decode(column: "expires_at", as: Int64?.self).map(StoredTime.init(milliseconds:)),
            occurredAt: try row.decode(column: "occurred_at", as: Int64?.self).map(StoredTime.init(milliseconds:)), parts: parts,
            createdAt: StoredTime(milliseconds: try row.decode(column: "created_at", as: Int64.self)),
            updatedAt: StoredTime(milliseconds: try row.decode(column: "updated_at", as: Int64.self)))
    }
}

extension CheckoutHold {
    /// The status a request sees: an open hold past its expiry is `expired` before the sweep gets to it.
    func status(at now: Int64) -> String {
        if status == "open", let expiresAt, now >= expiresAt.milliseconds { return "expired" }
        return status
    }

    /// What was captured and not yet refunded, in the checkout's currency.
    var refundable: Int64 { parts.filter(\.holdsValue).reduce(0) { $0 + $1.value(of: $1.captured - $1.refunded) } }

    func changed(status: String, parts: [CheckoutHoldPart], at now: Int64) -> CheckoutHold {
        CheckoutHold(id: id, kind: kind, status: status, channelId: channelId, currency: currency, country: country, customerId: customerId, reference: reference,
                     expiresAt: expiresAt, occurredAt: occurredAt, parts: parts, createdAt: createdAt, updatedAt: StoredTime(milliseconds: now))
    }
}

extension CheckoutHoldPart {
    var type: InstrumentType { InstrumentType(rawValue: instrumentType)! }

    /// Whether the part moved value on the ledger (a coupon part did not).
    var holdsValue: Bool { type.holdsValue }

    func with(captured: Int64? = nil, refunded: Int64? = nil) -> CheckoutHoldPart {
        CheckoutHoldPart(instrumentType: instrumentType, instrumentId: instrumentId, unit: unit, amount: amount, captured: captured ?? self.captured,
                         refunded: refunded ?? self.refunded, transferId: transferId, pointValue: pointValue)
    }
}
