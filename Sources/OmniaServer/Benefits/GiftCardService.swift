import Crypto
import Foundation
import OmniaCore
import SQLKit

/// Gift cards: issue, activate, reload, disable and look up by code — each card a ledger account
/// in its own currency, loaded from and spent to the tenant's control accounts, so a card sold
/// online is the same account a till redeems.
struct GiftCardService: Sendable {
    let services: AppServices

    /// Wrong PINs in a row before a card is locked, and for how long: 5 guesses per 15 minutes
    /// makes a 4-digit PIN take weeks to guess, on top of the per-key rate limit.
    static let pinAttempts = 5
    static let lockMilliseconds: Int64 = 15 * 60 * 1000
    /// The control account a card's value comes from when it is sold or reloaded.
    static let issuedPurpose = "gift_cards_issued"

    // MARK: Issue and change

    func issue(on sql: any SQLDatabase, caller: Caller, _ request: IssueGiftCardRequest, actor: Actor) async throws -> GiftCard {
        let now = services.nowMilliseconds
        var validator = Validator()
        let amount = validator.amount(request.amount ?? 0, field: "amount")
        let currency = request.currency == nil ? Currency(code: caller.tenantCurrency) : validator.currency(request.currency, field: "currency")
        if let currency, !caller.acceptedCurrencies.contains(currency.code) {
            validator.fail("currency", "currency_not_accepted", "currency must be one the tenant accepts: \(caller.acceptedCurrencies.sorted().joined(separator: ", "))")
        }
        if let pin = request.pin, !Self.isWellFormedPIN(pin) { validator.fail("pin", "invalid_pin", "pin must be 4 to 8 digits") }
        var expiresAt: Int64?
        if let text = request.expiresAt {
            expiresAt = RFC3339.milliseconds(text)
            if expiresAt == nil {
                validator.fail("expires_at", "invalid_time", "expires_at must be an RFC 3339 time such as 2027-12-31T23:59:59Z")
            } else if let expiresAt, expiresAt <= now {
                validator.fail("expires_at", "in_the_past", "expires_at must be in the future")
            }
        }
        var customerID: String?
        if let requested = request.customerId {
            customerID = try await CustomerStore(tenantID: caller.tenantID).resolvedID(on: sql, requested, into: &validator)
        }
        let channels = try await channelCodes(request.channels, on: sql, tenantID: caller.tenantID, into: &validator)
        let countries = Self.countries(request.countries, into: &validator)
        guard validator.isValid, let amount, let currency else { throw Problem.validation(validator.errors) }

        let id = services.ids.make(.giftCard)
        let code = GiftCardCode.generate()
        let status = request.active == false ? "inactive" : "active"
        let unit = LedgerUnit.currency(currency)
        let ledger = LedgerStore(tenantID: caller.tenantID)
        try await ledger.open(on: sql, id: id, unit: unit, kind: "gift_card", customerID: customerID, flags: .debitsMustNotExceedCredits, now: now)
        try await sql.raw("""
            INSERT INTO gift_cards (tenant_id, id, code_hash, code_last4, currency, status, customer_id, pin_hash, failed_pin_attempts, locked_until,
                                    expires_at, channels, countries, created_at, updated_at)
            VALUES (\(bind: caller.tenantID), \(bind: id), \(bind: Self.codeHash(tenantID: caller.tenantID, code)), \(bind: String(code.suffix(4)).uppercased()),
                    \(bind: currency.code), \(bind: status), \(bind: customerID), \(bind: request.pin.map { Self.pinHash(cardID: id, $0, pepper: services.config.pinPepper) }), 0, NULL,
                    \(bind: expiresAt), \(bind: try Self.storedList(channels)), \(bind: try Self.storedList(countries)), \(bind: now), \(bind: now))
            """).run()
        if amount > 0 { try await load(on: sql, ledger: ledger, cardID: id, amount: amount, unit: unit, reason: "issue", actor: actor, now: now) }
        var card = try await view(on: sql, tenantID: caller.tenantID, id: id, now: now)
        try await services.events.append(on: sql, tenantID: caller.tenantID, type: "gift_card.issued", data: card, requestID: actor.requestID)
        card.code = GiftCardCode.display(code)
        return card
    }

    /// Restriction lists hold 1 to 50 entries: an empty list would make a card no channel can take.
    static let restrictionEntries = 1...50

    /// The codes of the channels a restriction names (by id or code), each checked.
    func channelCodes(_ references: [String]?, on sql: any SQLDatabase, tenantID: String, into validator: inout Validator) async throws -> [String]? {
        guard let references else { return nil }
        guard Self.restrictionEntries.contains(references.count) else {
            validator.fail("channels", "invalid_length", "channels must list 1 to \(Self.restrictionEntries.upperBound) channels, or be left out")
            return nil
        }
        var codes: [String] = []
        for (index, given) in references.enumerated() {
            // Checked as text first: a control character (a NUL) must not reach the database's lookup.
            guard let reference = validator.text(given, field: "channels[\(index)]", maxLength: 100) else { continue }
            if let channel = try await PlatformService(services: services).knownChannel(on: sql, tenantID: tenantID, reference) {
                if !codes.contains(channel.code) { codes.append(channel.code) }
            } else {
                validator.fail("channels[\(index)]", "unknown_channel", "channels[\(index)] does not name a channel of this tenant")
            }
        }
        return codes
    }

    private static func countries(_ countries: [String]?, into validator: inout Validator) -> [String]? {
        guard let countries else { return nil }
        guard restrictionEntries.contains(countries.count) else {
            validator.fail("countries", "invalid_length", "countries must list 1 to \(restrictionEntries.upperBound) countries, or be left out")
            return nil
        }
        var checked: [String] = []
        for (index, country) in countries.enumerated() {
            if let country = validator.country(country, field: "countries[\(index)]"), !checked.contains(country) { checked.append(country) }
        }
        return checked
    }

    func reload(on sql: any SQLDatabase, tenantID: String, id: String, _ request: ReloadGiftCardRequest, actor: Actor) async throws -> GiftCard {
        var validator = Validator()
        let amount = validator.amount(request.amount, field: "amount")
        if amount == 0 { validator.fail("amount", "amount_not_positive", "amount must be at least 1") }
        guard validator.isValid, let amount else { throw Problem.validation(validator.errors) }
        let now = services.nowMilliseconds
        let row = try await claimUsableRow(on: sql, tenantID: tenantID, id: id, now: now)
        let unit = LedgerUnit.currency(try Self.currency(row))
        try await load(on: sql, ledger: LedgerStore(tenantID: tenantID), cardID: id, amount: amount, unit: unit, reason: "reload", actor: actor, now: now)
        let card = try await view(on: sql, tenantID: tenantID, row: row, now: now)
        try await services.events.append(on: sql, tenantID: tenantID, type: "gift_card.reloaded", data: card, requestID: actor.requestID)
        return card
    }

    /// `inactive` → `active`: the card was sold and may now be spent.
    func activate(on sql: any SQLDatabase, tenantID: String, id: String, _ request: GiftCardActionRequest = .init(), actor: Actor) async throws -> GiftCard {
        let reason = try Self.reason(request)
        let now = services.nowMilliseconds
        let card = try await setStatus(on: sql, tenantID: tenantID, id: id, "active", onlyIf: "status = 'inactive'", now: now) { row in
            row.status(at: now) == "active" ? GiftCardError.alreadyActive : GiftCardError.unusable(row.status(at: now))
        }
        return try await record(card, action: "activate", reason: reason, on: sql, tenantID: tenantID, actor: actor)
    }

    /// For good: a disabled card is never spent or reloaded again; its balance stays on the ledger.
    func disable(on sql: any SQLDatabase, tenantID: String, id: String, _ request: GiftCardActionRequest = .init(), actor: Actor) async throws -> GiftCard {
        let reason = try Self.reason(request)
        let now = services.nowMilliseconds
        let card = try await setStatus(on: sql, tenantID: tenantID, id: id, "disabled", onlyIf: "status <> 'disabled'", now: now) { _ in
            GiftCardError.unusable("disabled")
        }
        return try await record(card, action: "disable", reason: reason, on: sql, tenantID: tenantID, actor: actor)
    }

    /// Sets the status in one conditional update, so two requests changing one card at once (an
    /// activation racing a disable on PostgreSQL) cannot both act on a status read before the
    /// other committed; `refusal` says why a card whose row did not match was left alone.
    private func setStatus(on sql: any SQLDatabase, tenantID: String, id: String, _ status: String, onlyIf condition: String, now: Int64,
                           refusal: (GiftCardRow) -> Problem) async throws -> GiftCard {
        guard IDGenerator.isWellFormed(id, prefix: .giftCard) else { throw Problem.notFound("gift card") }
        let updated = try await sql.raw("""
            UPDATE gift_cards SET status = \(bind: status), updated_at = \(bind: now)
            WHERE tenant_id = \(bind: tenantID) AND id = \(bind: id) AND \(unsafeRaw: condition)
              AND (expires_at IS NULL OR expires_at > \(bind: now) OR \(bind: status) = 'disabled')
            RETURNING *
            """).all()
        guard let updated = try updated.first.map(Self.row) else {
            guard let row = try await Self.row(on: sql, tenantID: tenantID, id: id) else { throw Problem.notFound("gift card") }
            throw refusal(row)
        }
        return try await view(on: sql, tenantID: tenantID, row: updated, now: now)
    }

    /// Emits `gift_card.<action>d` and audits `gift_card.<action>` with the reason.
    private func record(_ card: GiftCard, action: String, reason: String?, on sql: any SQLDatabase, tenantID: String, actor: Actor) async throws -> GiftCard {
        try await services.events.append(on: sql, tenantID: tenantID, type: "gift_card.\(action)d", data: card, requestID: actor.requestID)
        try await services.audit.record(on: sql, tenantID: tenantID, actor: actor.id, action: "gift_card.\(action)", targetType: "gift_card", targetID: card.id,
                                        details: reason.map { ["reason": .string($0)] } ?? [:], requestID: actor.requestID)
        return card
    }

    private static func reason(_ request: GiftCardActionRequest) throws -> String? {
        var validator = Validator()
        let reason = validator.text(request.reason, field: "reason", required: false, maxLength: 500)
        guard validator.isValid else { throw Problem.validation(validator.errors) }
        return reason
    }

    private func load(on sql: any SQLDatabase, ledger: LedgerStore, cardID: String, amount: Int64, unit: LedgerUnit, reason: String, actor: Actor,
                      now: Int64) async throws {
        let control = LedgerStore.controlAccountID(Self.issuedPurpose, unit: unit, for: cardID)
        do {
            _ = try await ledger.post(on: sql, [LedgerTransferRequest(debitAccountID: control, creditAccountID: cardID, amount: amount, unit: unit)],
                                      ids: services.ids, reason: reason, requestID: actor.requestID, now: now)
        } catch let refused as LedgerRefused {
            throw GiftCardError.refused(refused)
        }
    }

    // MARK: Reading

    /// The card by id (as a till or agent that holds the id sees it).
    func card(on sql: any SQLDatabase, tenantID: String, id: String) async throws -> GiftCard {
        guard IDGenerator.isWellFormed(id, prefix: .giftCard) else { throw Problem.notFound("gift card") }
        return try await view(on: sql, tenantID: tenantID, id: id, now: services.nowMilliseconds)
    }

    /// The card a shopper's code (and PIN, when it has one) names, with its balance.
    func lookup(database: any Database, tenantID: String, code: String?, pin: String?) async throws -> GiftCard {
        let row = try await resolve(database: database, tenantID: tenantID, code: code, pin: pin, field: "code")
        return try await database.read { sql in try await view(on: sql, tenantID: tenantID, row: row, now: services.nowMilliseconds) }
    }

    /// The card a code (and PIN, when it has one) names. A code that fails its check character is
    /// refused before any lookup (a validation error on `field`); an unknown code, a wrong or
    /// missing PIN and a locked card all get the same 404. Each attempt is counted before the PIN is
    /// compared, in its own statement (a failed request must not roll the count back), and the
    /// fifth wrong one in a row locks the card for 15 minutes.
    func resolve(database: any Database, tenantID: String, code text: String?, pin: String?, field: String) async throws -> GiftCardRow {
        guard let text, let code = GiftCardCode.normalize(text) else {
            throw Problem.validation([FieldError(field: field, code: "invalid_code",
                                                 detail: "\(field) must be a gift card code of 16 characters, e.g. K7QM-4XZP-9RTA-B3CV")])
        }
        let now = services.nowMilliseconds
        let hash = Self.codeHash(tenantID: tenantID, code)
        guard let row = try await database.read({ sql in
            try await sql.raw("SELECT * FROM gift_cards WHERE tenant_id = \(bind: tenantID) AND code_hash = \(bind: hash)").all().first.map(Self.row)
        }) else { throw GiftCardError.notFound }
        if let pinHash = row.pinHash {
            // Claim the attempt before comparing, in one statement: concurrent guesses each take
            // one of the five, and none is compared once the card is locked.
            guard try await claimPINAttempt(database: database, tenantID: tenantID, id: row.id, now: now) else { throw GiftCardError.notFound }
            let pepper = services.config.pinPepper
            guard let pin, Self.isWellFormedPIN(pin), Self.pinMatches(pin, cardID: row.id, stored: pinHash, pepper: pepper) else {
                throw GiftCardError.notFound
            }
            // A PIN stored before the pepper was set is hashed with it now, on its first right entry.
            let rehashed = pepper != nil && !pinHash.hasPrefix(Self.pepperedPrefix) ? Self.pinHash(cardID: row.id, pin, pepper: pepper) : pinHash
            try await database.autocommit { sql in
                try await sql.raw("""
                    UPDATE gift_cards SET failed_pin_attempts = 0, locked_until = NULL, pin_hash = \(bind: rehashed)
                    WHERE tenant_id = \(bind: tenantID) AND id = \(bind: row.id)
                    """).run()
            }
        }
        return row
    }

    /// Counts one PIN attempt unless the card is locked; false when it is. The attempt that makes
    /// `pinAttempts` locks the card for `lockMilliseconds`; the first after a lock ran out starts
    /// the count again. The right PIN clears it (`lookup`), so only wrong ones add up.
    private func claimPINAttempt(database: any Database, tenantID: String, id: String, now: Int64) async throws -> Bool {
        try await database.autocommit { sql in
            try await !sql.raw("""
                UPDATE gift_cards SET
                    failed_pin_attempts = CASE WHEN locked_until IS NOT NULL THEN 1 ELSE failed_pin_attempts + 1 END,
                    locked_until = CASE WHEN (CASE WHEN locked_until IS NOT NULL THEN 1 ELSE failed_pin_attempts + 1 END) >= \(literal: Self.pinAttempts)
                                        THEN \(bind: now + Self.lockMilliseconds) ELSE NULL END
                WHERE tenant_id = \(bind: tenantID) AND id = \(bind: id) AND (locked_until IS NULL OR locked_until <= \(bind: now))
                RETURNING id
                """).all().isEmpty
        }
    }

    /// The card's row, refused unless it can take value now (active, not expired). The check is an
    /// update of `updated_at` whose condition is the rule, so on PostgreSQL it also locks the row
    /// until commit: a disable committing meanwhile is waited for and seen, never overwritten.
    private func claimUsableRow(on sql: any SQLDatabase, tenantID: String, id: String, now: Int64) async throws -> GiftCardRow {
        guard IDGenerator.isWellFormed(id, prefix: .giftCard) else { throw Problem.notFound("gift card") }
        let claimed = try await sql.raw("""
            UPDATE gift_cards SET updated_at = \(bind: now)
            WHERE tenant_id = \(bind: tenantID) AND id = \(bind: id) AND status = 'active' AND (expires_at IS NULL OR expires_at > \(bind: now))
            RETURNING *
            """).all()
        if let row = try claimed.first.map(Self.row) { return row }
        guard let row = try await Self.row(on: sql, tenantID: tenantID, id: id) else { throw Problem.notFound("gift card") }
        throw GiftCardError.unusable(row.status(at: now))
    }

    static func row(on sql: any SQLDatabase, tenantID: String, id: String) async throws -> GiftCardRow? {
        try await sql.raw("SELECT * FROM gift_cards WHERE tenant_id = \(bind: tenantID) AND id = \(bind: id)").all().first.map(Self.row)
    }

    private func view(on sql: any SQLDatabase, tenantID: String, id: String, now: Int64) async throws -> GiftCard {
        guard let row = try await Self.row(on: sql, tenantID: tenantID, id: id) else { throw Problem.notFound("gift card") }
        return try await view(on: sql, tenantID: tenantID, row: row, now: now)
    }

    /// The card of a row already read (by code, or returned by the update that changed it) with its ledger balance.
    private func view(on sql: any SQLDatabase, tenantID: String, row: GiftCardRow, now: Int64) async throws -> GiftCard {
        guard let account = try await LedgerStore(tenantID: tenantID).accounts(on: sql, ids: [row.id]).first else { throw Problem.notFound("gift card") }
        return Self.card(row, account: account, now: now)
    }

    static func card(_ row: GiftCardRow, account: LedgerAccount, now: Int64) -> GiftCard {
        GiftCard(id: row.id, code: nil, codeLast4: row.codeLast4, currency: row.currency, status: row.status(at: now),
                 balance: account.balance.posted, available: account.balance.available, customerId: account.customerID, hasPin: row.pinHash != nil,
                 channels: row.channels, countries: row.countries, expiresAt: row.expiresAt.map(StoredTime.init(milliseconds:)),
                 createdAt: StoredTime(milliseconds: row.createdAt), updatedAt: StoredTime(milliseconds: row.updatedAt))
    }

    /// The cards held by a customer's whole merged cluster, newest first, with their balances: two statements however many.
    func cards(on sql: any SQLDatabase, tenantID: String, customerID: String) async throws -> [GiftCard] {
        let accounts = try await sql.raw("""
            SELECT * FROM ledger_accounts WHERE tenant_id = \(bind: tenantID) AND kind = 'gift_card'
              AND customer_id IN (SELECT id FROM customers WHERE tenant_id = \(bind: tenantID) AND canonical_id = \(bind: customerID))
            """).all().map(LedgerStore.account).reduce(into: [String: LedgerAccount]()) { $0[$1.id] = $1 }
        guard !accounts.isEmpty else { return [] }
        let now = services.nowMilliseconds
        return try await sql.raw("""
            SELECT * FROM gift_cards WHERE tenant_id = \(bind: tenantID) AND id IN (\(binds: Array(accounts.keys))) ORDER BY id DESC
            """).all().map(Self.row).compactMap { row in accounts[row.id].map { Self.card(row, account: $0, now: now) } }
    }

    // MARK: Secrets

    /// What is stored of a code: its hex SHA-256, with the tenant so equal codes of two tenants differ.
    static func codeHash(tenantID: String, _ code: String) -> String {
        SHA256.hash(data: Data("\(tenantID):\(code)".utf8)).hexString
    }

    /// What is stored of a PIN. With the server's pepper (`AppConfig.pinPepper`):
    /// `h1:` + hex HMAC-SHA256 keyed by it, of the card's id and the PIN. Without: hex SHA-256 of the
    /// same text, which anyone holding the database can search in at most 10^8 tries per card.
    static func pinHash(cardID: String, _ pin: String, pepper: String?) -> String {
        let text = Data("\(cardID):\(pin)".utf8)
        guard let pepper else { return SHA256.hash(data: text).hexString }
        return pepperedPrefix + Data(HMAC<SHA256>.authenticationCode(for: text, using: SymmetricKey(data: Data(pepper.utf8)))).hexString
    }

    static let pepperedPrefix = "h1:"

    /// Whether `pin` is the one `stored` was made from, in constant time. A peppered hash cannot
    /// match without the pepper (a server started without it refuses every PIN of such cards).
    static func pinMatches(_ pin: String, cardID: String, stored: String, pepper: String?) -> Bool {
        if stored.hasPrefix(pepperedPrefix) {
            guard let pepper else { return false }
            return constantTimeEqual(pinHash(cardID: cardID, pin, pepper: pepper), stored)
        }
        return constantTimeEqual(pinHash(cardID: cardID, pin, pepper: nil), stored)
    }

    static func isWellFormedPIN(_ pin: String) -> Bool {
        (4...8).contains(pin.utf8.count) && pin.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    private static func constantTimeEqual(_ left: String, _ right: String) -> Bool {
        let (a, b) = (Array(left.utf8), Array(right.utf8))
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    private static func currency(_ row: GiftCardRow) throws -> Currency {
        guard let currency = Currency(code: row.currency) else { throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "currency")) }
        return currency
    }

    static func row(_ row: any SQLRow) throws -> GiftCardRow {
        GiftCardRow(
            id: try row.decode(column: "id", as: String.self), codeLast4: try row.decode(column: "code_last4", as: String.self),
            currency: try row.decode(column: "currency", as: String.self), status: try row.decode(column: "status", as: String.self),
            pinHash: try row.decode(column: "pin_hash", as: String?.self), expiresAt: try row.decode(column: "expires_at", as: Int64?.self),
            channels: try list(row, "channels"), countries: try list(row, "countries"), createdAt: try row.decode(column: "created_at", as: Int64.self),
            updatedAt: try row.decode(column: "updated_at", as: Int64.self))
    }

    /// A restriction list stored as a JSON array, or nil (no restriction).
    private static func list(_ row: any SQLRow, _ column: String) throws -> [String]? {
        try row.decode(column: column, as: String?.self).map { try JSONCoding.decoder.decode([String].self, from: Data($0.utf8)) }
    }

    static func storedList(_ list: [String]?) throws -> String? {
        try list.map { String(decoding: try JSONCoding.encode($0), as: UTF8.self) }
    }
}
