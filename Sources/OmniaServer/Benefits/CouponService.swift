import Foundation
import HTTPTypes
import OmniaCore
import SQLKit

/// Coupon campaigns, their codes, and the uses checkouts take of them. A use is taken by one
/// conditional update — a unique code's row from `available` to `held` or `redeemed`, a generic
/// campaign's counter below its limit, a customer's counter below theirs — so a code used at a
/// till is refused online the moment that commit lands, whatever the channel, process or server.
struct CouponService: Sendable {
    let services: AppServices

    static let maximumCodesPerCall = 1_000_000
    /// Codes written per statement when generating (5 values each, well under PostgreSQL's 65,535 binds).
    static let generationBatch = 5_000

    // MARK: Campaigns

    func create(on sql: any SQLDatabase, tenantID: String, _ request: CreateCouponCampaignRequest, actor: Actor) async throws -> CouponCampaign {
        let now = services.nowMilliseconds
        var validator = Validator()
        let name = validator.text(request.name, field: "name", maxLength: 200)
        let kind = request.kind
        if kind == nil {
            validator.fail("kind", "required", "kind is required: generic or unique")
        } else if let kind, !CouponCampaign.kinds.contains(kind) {
            validator.fail("kind", "invalid_enum", "kind must be one of: generic, unique")
        }
        var code: String?
        if kind == "generic" {
            code = request.code.map { $0.trimmingCharacters(in: .whitespaces).uppercased() }
            if let given = code {
                if !Self.isWellFormedGenericCode(given) { validator.fail("code", "invalid_code", "code must be 3 to 32 letters, digits or dashes") }
            } else {
                validator.fail("code", "required", "a generic campaign needs its code")
            }
        } else if kind == "unique", request.code != nil {
            validator.fail("code", "not_for_unique", "a unique campaign's codes are generated: POST /v1/coupon_campaigns/{id}/codes")
        }
        let startsAt = Self.time(request.startsAt, field: "starts_at", into: &validator)
        let endsAt = Self.time(request.endsAt, field: "ends_at", into: &validator)
        if let startsAt, let endsAt, endsAt <= startsAt { validator.fail("ends_at", "before_start", "ends_at must be after starts_at") }
        for (field, limit) in [("total_limit", request.totalLimit), ("per_customer_limit", request.perCustomerLimit)] {
            if let limit, limit < 1 { validator.fail(field, "out_of_range", "\(field) must be at least 1") }
        }
        if kind == "unique", request.totalLimit != nil {
            validator.fail("total_limit", "not_for_unique", "a unique campaign's limit is its codes, each used once")
        }
        let channels = try await GiftCardService(services: services).channelCodes(request.channels, on: sql, tenantID: tenantID, into: &validator)
        guard validator.isValid, let name, let kind else { throw Problem.validation(validator.errors) }

        let campaign = CouponCampaign(id: services.ids.make(.couponCampaign), name: name, kind: kind, code: code, status: "active",
                                      startsAt: startsAt.map(StoredTime.init(milliseconds:)), endsAt: endsAt.map(StoredTime.init(milliseconds:)),
                                      channels: channels, totalLimit: request.totalLimit, perCustomerLimit: request.perCustomerLimit, uses: 0, codeCount: 0,
                                      createdAt: StoredTime(milliseconds: now), updatedAt: StoredTime(milliseconds: now))
        try await sql.runDeferrable("""
            INSERT INTO coupon_campaigns (tenant_id, id, name, kind, code, status, starts_at, ends_at, channels, total_limit, per_customer_limit, uses,
                                          code_count, created_at, updated_at)
            VALUES (\(bind: tenantID), \(bind: campaign.id), \(bind: name), \(bind: kind), \(bind: code), 'active', \(bind: startsAt), \(bind: endsAt),
                    \(bind: try GiftCardService.storedList(channels)), \(bind: request.totalLimit), \(bind: request.perCustomerLimit), 0, 0, \(bind: now),
                    \(bind: now))
            """, ifDuplicate: DuplicateRule(table: "coupon_campaigns", error: Problem(.conflict, code: "coupon_code_taken",
                                                                                     detail: "another campaign of this tenant has the code \(code ?? "")")))
        try await services.events.append(on: sql, tenantID: tenantID, type: "coupon_campaign.created", data: campaign, requestID: actor.requestID)
        return campaign
    }

    /// Adds `count` fresh single-use codes to a unique campaign, a few multi-row statements for
    /// all. A code already taken (one in 36 billion for a million codes) is drawn again.
    func generate(on sql: any SQLDatabase, tenantID: String, campaignID: String, _ request: GenerateCouponCodesRequest,
                  actor: Actor) async throws -> GeneratedCouponCodes {
        guard let count = request.count, (1...Self.maximumCodesPerCall).contains(count) else {
            throw Problem.validation([FieldError(field: "count", code: request.count == nil ? "required" : "out_of_range",
                                                 detail: "count must be 1 to \(Self.maximumCodesPerCall)")])
        }
        let campaign = try await self.campaign(on: sql, tenantID: tenantID, id: campaignID)
        guard campaign.kind == "unique" else {
            throw Problem(.conflict, code: "coupon_campaign_generic", detail: "a generic campaign has one code; generate codes for a unique campaign")
        }
        let now = services.nowMilliseconds
        var generator = SystemRandomNumberGenerator()
        // Counted as inserted: a code drawn twice, or taken already, is skipped and drawn again.
        var written = 0
        while written < count {
            let batch = (0..<min(Self.generationBatch, count - written)).map { _ in CouponCode.generate(using: &generator) }
            written += try await insertCodes(batch, on: sql, tenantID: tenantID, campaignID: campaignID, now: now)
        }
        // An increment, not a count of the campaign's codes: two generations of one campaign at
        // once on PostgreSQL each counted before the other committed, and the last to write its
        // count left the campaign short of the other's codes. Locking the campaign for the whole
        // generation instead would hold its redemptions (which count uses on its row) for as long.
        let stored = try await sql.raw("""
            UPDATE coupon_campaigns SET code_count = code_count + \(bind: Int64(count)), updated_at = \(bind: now)
            WHERE tenant_id = \(bind: tenantID) AND id = \(bind: campaignID) RETURNING code_count
            """).first(decodingColumn: "code_count", as: Int64.self) ?? campaign.codeCount + Int64(count)
        let result = GeneratedCouponCodes(campaignId: campaignID, generated: count, codeCount: stored)
        try await services.events.append(on: sql, tenantID: tenantID, type: "coupon_codes.generated", data: result, requestID: actor.requestID)
        return result
    }

    /// Writes fresh codes, skipping any already taken; returns how many it wrote. On PostgreSQL the
    /// codes travel as one array parameter (`unnest`) instead of five bound values each: binding
    /// 5,000,000 values cost more than inserting the rows.
    private func insertCodes(_ codes: [String], on sql: any SQLDatabase, tenantID: String, campaignID: String, now: Int64) async throws -> Int {
        if sql.dialect.name != "sqlite" {
            let inserted = try await sql.raw("""
                WITH inserted AS (
                    INSERT INTO coupon_codes (tenant_id, code, campaign_id, status, updated_at)
                    SELECT \(bind: tenantID), code, \(bind: campaignID), 'available', \(bind: now) FROM unnest(\(bind: codes)::text[]) AS code
                    ON CONFLICT (tenant_id, code) DO NOTHING
                    RETURNING 1)
                SELECT count(*) AS n FROM inserted
                """).first(decodingColumn: "n", as: Int64.self) ?? 0
            return Int(inserted)
        }
        try await sql.insertRows(into: "coupon_codes", columns: ["tenant_id", "code", "campaign_id", "status", "updated_at"], codes,
                                 suffix: " ON CONFLICT (tenant_id, code) DO NOTHING") { code, values in
            values.add(tenantID)
            values.add(code)
            values.add(campaignID)
            values.add("available")
            values.add(now)
        }
        // The writer's connection, inside this transaction: the rows of the insert just run.
        return Int(try await sql.raw("SELECT changes() AS n").first(decodingColumn: "n", as: Int64.self) ?? 0)
    }

    func campaign(on sql: any SQLDatabase, tenantID: String, id: String) async throws -> CouponCampaign {
        guard IDGenerator.isWellFormed(id, prefix: .couponCampaign),
            let row = try await sql.raw("SELECT * FROM coupon_campaigns WHERE tenant_id = \(bind: tenantID) AND id = \(bind: id)").all().first
        else { throw Problem.notFound("coupon campaign") }
        return try Self.campaign(row)
    }

    /// A page of a unique campaign's codes in code order, for the CSV export.
    func codes(on sql: any SQLDatabase, tenantID: String, campaignID: String, after cursor: String?, limit: Int) async throws
        -> [(code: String, status: String, customerID: String?)] {
        var query: SQLQueryString = """
            SELECT code, status, customer_id FROM coupon_codes WHERE tenant_id = \(bind: tenantID) AND campaign_id = \(bind: campaignID)
            """
        if let cursor { query += " AND code > \(bind: cursor)" }
        query += " ORDER BY code LIMIT \(literal: limit)"
        return try await sql.raw(query).all().map {
            (try $0.decode(column: "code", as: String.self), try $0.decode(column: "status", as: String.self), try $0.decode(column: "customer_id", as: String?.self))
        }
    }

    // MARK: Codes

    /// A code as a checkout names it: a unique campaign's code (12 characters that pass their check
    /// character), or a generic campaign's.
    struct Resolved: Sendable {
        let campaign: CouponCampaign
        /// The stored form: a unique code in lower case, a generic one in upper case.
        let code: String
        let isUnique: Bool
        let status: String
        let customerID: String?

        var coupon: Coupon {
            Coupon(code: isUnique ? CouponCode.display(code) : code, campaignId: campaign.id, campaignName: campaign.name, kind: campaign.kind,
                   status: status, customerId: customerID, endsAt: campaign.endsAt)
        }
    }

    /// The code `text` names, or nil: two indexed probes at most.
    func resolve(on sql: any SQLDatabase, tenantID: String, _ text: String) async throws -> Resolved? {
        if let unique = CouponCode.normalize(text),
            let row = try await sql.raw("""
                SELECT c.status AS code_status, c.customer_id AS code_customer, k.* FROM coupon_codes c
                JOIN coupon_campaigns k ON k.tenant_id = c.tenant_id AND k.id = c.campaign_id
                WHERE c.tenant_id = \(bind: tenantID) AND c.code = \(bind: unique)
                """).all().first {
            return Resolved(campaign: try Self.campaign(row), code: unique, isUnique: true, status: try row.decode(column: "code_status", as: String.self),
                            customerID: try row.decode(column: "code_customer", as: String?.self))
        }
        let generic = text.trimmingCharacters(in: .whitespaces).uppercased()
        guard Self.isWellFormedGenericCode(generic),
            let row = try await sql.raw("SELECT * FROM coupon_campaigns WHERE tenant_id = \(bind: tenantID) AND code = \(bind: generic)").all().first
        else { return nil }
        let campaign = try Self.campaign(row)
        let exhausted = campaign.totalLimit.map { campaign.uses >= $0 } ?? false
        return Resolved(campaign: campaign, code: generic, isUnique: false, status: exhausted ? "redeemed" : "available", customerID: nil)
    }

    /// Why `coupon` cannot be used now in `channel` by `customerID`, as the problem a checkout gets; nil when it can.
    /// The counters are checked again by the updates that take the use.
    func refusal(of coupon: Resolved, channel: Channel, customerID: String?, now: Int64, on sql: any SQLDatabase, tenantID: String) async throws -> Problem? {
        let campaign = coupon.campaign
        if campaign.status != "active" { return CouponError.paused }
        if let startsAt = campaign.startsAt, now < startsAt.milliseconds { return CouponError.notStarted }
        if let endsAt = campaign.endsAt, now >= endsAt.milliseconds { return CouponError.ended }
        if let channels = campaign.channels, !channels.contains(channel.code) {
            return Problem(.conflict, code: "instrument_restricted", detail: "the coupon cannot be used in channel \(channel.code)")
        }
        if coupon.isUnique {
            if coupon.status != "available" { return CouponError.alreadyRedeemed }
            if let owner = coupon.customerID {
                guard customerID != nil else { return CouponError.needsCustomer }
                if try await !isCustomer(owner, sameAs: customerID, on: sql, tenantID: tenantID) { return CouponError.assignedElsewhere }
            }
        } else if coupon.status != "available" {
            return CouponError.limitReached
        }
        if campaign.perCustomerLimit != nil && customerID == nil { return CouponError.needsCustomer }
        return nil
    }

    /// Whether a code can be used now, in `channel` (the key's when bound, else required), by the
    /// customer named: the coupon when it can, else the refusal a checkout would get. Reads only.
    func validate(on sql: any SQLDatabase, caller: Caller, code: String?, channel reference: String?, customerID requested: String?) async throws -> Coupon {
        try await usable(on: sql, caller: caller, code: code, channel: reference, customerID: requested).coupon
    }

    /// As `validate`, answering the code as resolved: what a commit takes a use of.
    func usable(on sql: any SQLDatabase, caller: Caller, code: String?, channel reference: String?, customerID requested: String?) async throws -> Resolved {
        var validator = Validator()
        if code == nil { validator.fail("code", "required", "code is required") }
        let channel = try await CheckoutHoldService(services: services).checkoutChannel(on: sql, caller: caller, reference, into: &validator)
        var customerID: String?
        if let requested {
            customerID = try await CustomerStore(tenantID: caller.tenantID).resolvedID(on: sql, requested, into: &validator)
        }
        guard validator.isValid, let code, let channel else { throw Problem.validation(validator.errors) }
        guard let coupon = try await resolve(on: sql, tenantID: caller.tenantID, code) else { throw CouponError.notFound }
        if let refusal = try await refusal(of: coupon, channel: channel, customerID: customerID, now: services.nowMilliseconds, on: sql,
                                           tenantID: caller.tenantID) {
            throw refusal
        }
        if let limit = coupon.campaign.perCustomerLimit, let customerID {
            let used = try await sql.raw("""
                SELECT uses FROM coupon_customer_uses WHERE tenant_id = \(bind: caller.tenantID) AND campaign_id = \(bind: coupon.campaign.id)
                  AND customer_id = \(bind: customerID)
                """).first(decodingColumn: "uses", as: Int64.self) ?? 0
            if used >= limit { throw CouponError.customerLimitReached }
        }
        return coupon
    }

    /// Takes one use of `coupon` for the hold `holdID` (`held`, or `redeemed` at once): the
    /// campaign's and the customer's counters below their limits and, for a unique code, its row
    /// from `available`. Each is a conditional update; one that finds its limit reached refuses
    /// the checkout, which then writes nothing.
    func take(_ coupon: Resolved, customerID: String?, holdID: String, redeemed: Bool, on sql: any SQLDatabase, tenantID: String, now: Int64) async throws {
        let campaign = coupon.campaign
        if coupon.isUnique {
            let taken = try await sql.raw("""
                UPDATE coupon_codes SET status = \(bind: redeemed ? "redeemed" : "held"), hold_id = \(bind: holdID), updated_at = \(bind: now)
                WHERE tenant_id = \(bind: tenantID) AND code = \(bind: coupon.code) AND status = 'available'
                RETURNING code
                """).all()
            guard !taken.isEmpty else { throw CouponError.alreadyRedeemed }
        }
        let counted = try await sql.raw("""
            UPDATE coupon_campaigns SET uses = uses + 1
            WHERE tenant_id = \(bind: tenantID) AND id = \(bind: campaign.id) AND (total_limit IS NULL OR uses < total_limit)
            RETURNING uses
            """).all()
        guard !counted.isEmpty else { throw CouponError.limitReached }
        if let limit = campaign.perCustomerLimit, let customerID {
            let allowed = try await sql.raw("""
                INSERT INTO coupon_customer_uses (tenant_id, campaign_id, customer_id, uses) VALUES (\(bind: tenantID), \(bind: campaign.id), \(bind: customerID), 1)
                ON CONFLICT (tenant_id, campaign_id, customer_id) DO UPDATE SET uses = coupon_customer_uses.uses + 1
                WHERE coupon_customer_uses.uses < \(bind: limit)
                RETURNING uses
                """).all()
            guard !allowed.isEmpty else { throw CouponError.customerLimitReached }
        }
    }

    /// A hold's use of a unique code becomes a redemption when the hold is captured.
    func redeemHeld(code: String, holdID: String, on sql: any SQLDatabase, tenantID: String, now: Int64) async throws {
        try await sql.raw("""
            UPDATE coupon_codes SET status = 'redeemed', updated_at = \(bind: now)
            WHERE tenant_id = \(bind: tenantID) AND code = \(bind: code) AND hold_id = \(bind: holdID) AND status = 'held'
            """).run()
    }

    /// Gives a use back — a hold voided or expired, a redemption refunded — to the code, the
    /// campaign and the customer. Only the hold that took a unique code can give it back.
    func giveBack(_ coupon: Resolved, customerID: String?, holdID: String, on sql: any SQLDatabase, tenantID: String, now: Int64) async throws {
        if coupon.isUnique {
            let released = try await sql.raw("""
                UPDATE coupon_codes SET status = 'available', hold_id = NULL, updated_at = \(bind: now)
                WHERE tenant_id = \(bind: tenantID) AND code = \(bind: coupon.code) AND hold_id = \(bind: holdID) AND status <> 'available'
                RETURNING code
                """).all()
            guard !released.isEmpty else { return }
        }
        try await sql.raw("""
            UPDATE coupon_campaigns SET uses = uses - 1 WHERE tenant_id = \(bind: tenantID) AND id = \(bind: coupon.campaign.id) AND uses > 0
            """).run()
        if let customerID, coupon.campaign.perCustomerLimit != nil {
            try await sql.raw("""
                UPDATE coupon_customer_uses SET uses = uses - 1
                WHERE tenant_id = \(bind: tenantID) AND campaign_id = \(bind: coupon.campaign.id) AND customer_id = \(bind: customerID) AND uses > 0
                """).run()
        }
    }

    /// Assigns a unique code to a customer: it appears in their wallet, and only they (or the
    /// survivor they are merged into) can use it. A code assigned to someone else is refused.
    func assign(on sql: any SQLDatabase, tenantID: String, _ request: AssignCouponRequest, actor: Actor) async throws -> Coupon {
        var validator = Validator()
        if request.code == nil { validator.fail("code", "required", "code is required") }
        var customerID: String?
        if let requested = request.customerId {
            customerID = try await CustomerStore(tenantID: tenantID).resolvedID(on: sql, requested, into: &validator)
        } else {
            validator.fail("customer_id", "required", "customer_id is required")
        }
        guard validator.isValid, let text = request.code, let customerID else { throw Problem.validation(validator.errors) }
        guard let coupon = try await resolve(on: sql, tenantID: tenantID, text) else { throw CouponError.notFound }
        guard coupon.isUnique else { throw Problem(.conflict, code: "coupon_not_assignable", detail: "a generic code is shared; assign a unique campaign's code") }
        let now = services.nowMilliseconds
        let assigned = try await sql.raw("""
            UPDATE coupon_codes SET customer_id = \(bind: customerID), updated_at = \(bind: now)
            WHERE tenant_id = \(bind: tenantID) AND code = \(bind: coupon.code) AND (customer_id IS NULL OR customer_id = \(bind: customerID))
              AND status = 'available'
            RETURNING code
            """).all()
        guard !assigned.isEmpty else {
            throw coupon.customerID.map { $0 != customerID } ?? false ? CouponError.assignedElsewhere : CouponError.alreadyRedeemed
        }
        let result = Resolved(campaign: coupon.campaign, code: coupon.code, isUnique: true, status: coupon.status, customerID: customerID).coupon
        try await services.events.append(on: sql, tenantID: tenantID, type: "coupon.assigned", data: result, requestID: actor.requestID)
        return result
    }

    /// The unique codes assigned to a customer's whole merged cluster and still usable, for the
    /// wallet, in code order. Sorted here, not by the query: ordered by code, SQLite would walk the
    /// tenant's codes in key order instead of the few of the customer's index.
    func assigned(on sql: any SQLDatabase, tenantID: String, customerID: String) async throws -> [Coupon] {
        let now = services.nowMilliseconds
        return try await sql.raw("""
            SELECT c.code AS coupon_code, c.status AS code_status, c.customer_id AS code_customer, k.* FROM coupon_codes c
            JOIN coupon_campaigns k ON k.tenant_id = c.tenant_id AND k.id = c.campaign_id
            WHERE c.tenant_id = \(bind: tenantID) AND c.status = 'available' AND c.customer_id IS NOT NULL
              AND c.customer_id IN (SELECT id FROM customers WHERE tenant_id = \(bind: tenantID) AND canonical_id = \(bind: customerID))
            """).all().map { row in
            Resolved(campaign: try Self.campaign(row), code: try row.decode(column: "coupon_code", as: String.self), isUnique: true,
                     status: try row.decode(column: "code_status", as: String.self), customerID: try row.decode(column: "code_customer", as: String?.self))
        }.filter { coupon in
            // Only what can be used now or later: not a paused or ended campaign's codes.
            coupon.campaign.status == "active" && (coupon.campaign.endsAt.map { $0.milliseconds > now } ?? true)
        }.map(\.coupon).sorted { $0.code < $1.code }
    }

    private func isCustomer(_ owner: String, sameAs customerID: String?, on sql: any SQLDatabase, tenantID: String) async throws -> Bool {
        guard let customerID else { return false }
        if owner == customerID { return true }
        return try await CustomerStore(tenantID: tenantID).resolvedRow(on: sql, id: owner)?.id == customerID
    }

    // MARK: Rows

    static func isWellFormedGenericCode(_ code: String) -> Bool {
        (3...32).contains(code.utf8.count) && code.utf8.allSatisfy { byte in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
        }
    }

    private static func time(_ text: String?, field: String, into validator: inout Validator) -> Int64? {
        guard let text else { return nil }
        guard let milliseconds = RFC3339.milliseconds(text) else {
            validator.fail(field, "invalid_time", "\(field) must be an RFC 3339 time such as 2027-06-30T23:59:59Z")
            return nil
        }
        return milliseconds
    }

    static func campaign(_ row: any SQLRow) throws -> CouponCampaign {
        CouponCampaign(
            id: try row.decode(column: "id", as: String.self), name: try row.decode(column: "name", as: String.self),
            kind: try row.decode(column: "kind", as: String.self), code: try row.decode(column: "code", as: String?.self),
            status: try row.decode(column: "status", as: String.self),
            startsAt: try row.decode(column: "starts_at", as: Int64?.self).map(StoredTime.init(milliseconds:)),
            endsAt: try row.decode(column: "ends_at", as: Int64?.self).map(StoredTime.init(milliseconds:)),
            channels: try row.decode(column: "channels", as: String?.self).map { try JSONCoding.decoder.decode([String].self, from: Data($0.utf8)) },
            totalLimit: try row.decode(column: "total_limit", as: Int64?.self), perCustomerLimit: try row.decode(column: "per_customer_limit", as: Int64?.self),
            uses: try row.decode(column: "uses", as: Int64.self), codeCount: try row.decode(column: "code_count", as: Int64.self),
            createdAt: StoredTime(milliseconds: try row.decode(column: "created_at", as: Int64.self)),
            updatedAt: StoredTime(milliseconds: try row.decode(column: "updated_at", as: Int64.self)))
    }
}

/// The coupon refusals, each a stable problem `code`.
enum CouponError {
    /// An unknown code: the same answer whatever the reason, so codes cannot be told apart by probing.
    static let notFound = Problem(.notFound, code: "coupon_not_found", detail: "no coupon matches this code")
    static let alreadyRedeemed = Problem(.conflict, code: "coupon_already_redeemed", detail: "the coupon was used already")
    static let limitReached = Problem(.conflict, code: "coupon_limit_reached", detail: "the campaign's uses are all taken")
    static let customerLimitReached = Problem(.conflict, code: "coupon_customer_limit_reached", detail: "this customer has used the coupon as often as allowed")
    static let needsCustomer = Problem(.conflict, code: "coupon_needs_customer",
                                       detail: "the coupon is assigned to a customer or limited per customer; give the checkout's customer_id")
    static let assignedElsewhere = Problem(.conflict, code: "coupon_assigned_to_another_customer", detail: "the coupon is assigned to another customer")
    static let notStarted = Problem(.conflict, code: "coupon_not_started", detail: "the campaign has not started yet")
    static let ended = Problem(.conflict, code: "coupon_ended", detail: "the campaign has ended")
    static let paused = Problem(.conflict, code: "coupon_paused", detail: "the campaign is paused")
}
