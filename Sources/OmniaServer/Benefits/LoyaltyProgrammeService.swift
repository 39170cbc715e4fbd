import HTTPTypes
import Foundation
import OmniaCore
import SQLKit
import Synchronization

/// Loyalty programmes: created, changed and read by the retailer's staff; read by every sale that
/// earns and every checkout that spends points.
struct LoyaltyProgrammeService: Sendable {
    let services: AppServices

    static let defaultRules = LoyaltyRules(
        earnPoints: 1, earnPerAmount: 100, pointValue: 1, pointsExpireAfterDays: nil, qualificationWindowDays: 365, negativeBalance: .forbid,
        tiers: [LoyaltyTier(code: "member", name: "Member", threshold: 0, earnPercent: 100)], earnRules: [])

    func create(on sql: any SQLDatabase, caller: Caller, _ request: LoyaltyProgrammeRequest, actor: Actor) async throws -> LoyaltyProgramme {
        let tenantID = caller.tenantID
        var validator = Validator()
        let name = validator.text(request.name, field: "name", maxLength: 200)
        let currency = validator.currency(request.currency, field: "currency")
        if let currency, !caller.acceptedCurrencies.contains(currency.code) {
            validator.fail("currency", "currency_not_accepted", "currency must be one the tenant accepts: \(caller.acceptedCurrencies.sorted().joined(separator: ", "))")
        }
        let status = request.status == nil ? "active" : validator.text(request.status, field: "status").flatMap { checkedStatus($0, into: &validator) }
        let rules = try await self.rules(request, over: Self.defaultRules, on: sql, tenantID: tenantID, into: &validator)
        guard validator.isValid, let name, let currency, let status else { throw Problem.validation(validator.errors) }
        let now = services.nowMilliseconds
        let programme = StoredLoyaltyProgramme(id: services.ids.make(.loyaltyProgramme), name: name, currency: currency.code, status: status,
                                               rules: rules, createdAt: StoredTime(milliseconds: now), updatedAt: StoredTime(milliseconds: now))
        if status == "active" { try await refuseSecondActive(currency.code, except: nil, on: sql, tenantID: tenantID) }
        try await sql.raw("""
            INSERT INTO loyalty_programmes (tenant_id, id, name, currency, status, rules, created_at, updated_at)
            VALUES (\(bind: tenantID), \(bind: programme.id), \(bind: name), \(bind: currency.code), \(bind: status),
                    \(bind: try JSONCoding.text(rules)), \(bind: now), \(bind: now))
            """).run()
        ActiveProgrammes.shared.forget(tenantID: tenantID)
        return try await recorded(programme, event: "loyalty_programme.created", on: sql, tenantID: tenantID, actor: actor)
    }

    func update(on sql: any SQLDatabase, tenantID: String, id: String, _ request: LoyaltyProgrammeRequest, actor: Actor) async throws -> LoyaltyProgramme {
        guard let current = try await programme(on: sql, tenantID: tenantID, id: id) else { throw Problem.notFound("loyalty programme") }
        var validator = Validator()
        let name = request.name == nil ? current.name : validator.text(request.name, field: "name", maxLength: 200)
        if let currency = request.currency, currency != current.currency {
            validator.fail("currency", "immutable", "a programme's currency cannot change; its points were earned in \(current.currency)")
        }
        let status = request.status == nil ? current.status : validator.text(request.status, field: "status").flatMap { checkedStatus($0, into: &validator) }
        let rules = try await self.rules(request, over: current.rules, on: sql, tenantID: tenantID, into: &validator)
        guard validator.isValid, let name, let status else { throw Problem.validation(validator.errors) }
        if status == "active" && current.status != "active" { try await refuseSecondActive(current.currency, except: id, on: sql, tenantID: tenantID) }
        let now = services.nowMilliseconds
        try await sql.raw("""
            UPDATE loyalty_programmes SET name = \(bind: name), status = \(bind: status), rules = \(bind: try JSONCoding.text(rules)), updated_at = \(bind: now)
            WHERE tenant_id = \(bind: tenantID) AND id = \(bind: id)
            """).run()
        let updated = StoredLoyaltyProgramme(id: id, name: name, currency: current.currency, status: status, rules: rules, createdAt: current.createdAt,
                                             updatedAt: StoredTime(milliseconds: now))
        ActiveProgrammes.shared.forget(tenantID: tenantID)
        return try await recorded(updated, event: "loyalty_programme.updated", on: sql, tenantID: tenantID, actor: actor)
    }

    private func recorded(_ programme: StoredLoyaltyProgramme, event: String, on sql: any SQLDatabase, tenantID: String,
                          actor: Actor) async throws -> LoyaltyProgramme {
        let view = LoyaltyProgramme(programme)
        try await services.events.append(on: sql, tenantID: tenantID, type: event, data: view, requestID: actor.requestID)
        try await services.audit.record(on: sql, tenantID: tenantID, actor: actor.id, action: event, targetType: "loyalty_programme",
                                        targetID: programme.id, details: ["status": .string(programme.status)], requestID: actor.requestID)
        return view
    }

    private func checkedStatus(_ status: String, into validator: inout Validator) -> String? {
        guard ["active", "inactive"].contains(status) else {
            validator.fail("status", "invalid_enum", "status must be one of: active, inactive")
            return nil
        }
        return status
    }

    /// Sales in a currency earn in one programme: a second active one is a 409.
    private func refuseSecondActive(_ currency: String, except id: String?, on sql: any SQLDatabase, tenantID: String) async throws {
        guard let active = try await activeProgramme(on: sql, tenantID: tenantID, currency: currency), active.id != id else { return }
        throw Problem(.conflict, code: "active_programme_exists",
                      detail: "\(active.id) is the active programme in \(currency); make it inactive first", extensions: ["programme_id": .string(active.id)])
    }

    /// The rules a request gives, each field absent keeping `base`'s; every wrong field named.
    private func rules(_ request: LoyaltyProgrammeRequest, over base: LoyaltyRules, on sql: any SQLDatabase, tenantID: String,
                       into validator: inout Validator) async throws -> LoyaltyRules {
        var rules = base
        func ranged<T: Comparable>(_ value: T?, _ range: ClosedRange<T>, field: String) -> T? {
            guard let value else { return nil }
            guard range.contains(value) else {
                validator.fail(field, "out_of_range", "\(field) must be \(range.lowerBound) to \(range.upperBound)")
                return nil
            }
            return value
        }
        rules.earnPoints = ranged(request.earnPoints, LoyaltyRules.earnPointsRange, field: "earn_points") ?? rules.earnPoints
        rules.earnPerAmount = ranged(request.earnPerAmount, LoyaltyRules.earnPerAmountRange, field: "earn_per_amount") ?? rules.earnPerAmount
        rules.pointValue = ranged(request.pointValue, LoyaltyRules.pointValueRange, field: "point_value") ?? rules.pointValue
        if let days = request.pointsExpireAfterDays {
            rules.pointsExpireAfterDays = days == 0 ? nil : ranged(days, LoyaltyRules.dayRange, field: "points_expire_after_days")
        }
        rules.qualificationWindowDays = ranged(request.qualificationWindowDays, LoyaltyRules.dayRange, field: "qualification_window_days")
            ?? rules.qualificationWindowDays
        if request.negativeBalance != nil {
            rules.negativeBalance = validator.oneOf(request.negativeBalance, NegativeBalancePolicy.self, field: "negative_balance") ?? rules.negativeBalance
        }
        if let inputs = request.tiers { rules.tiers = tiers(inputs, into: &validator) ?? rules.tiers }
        if let inputs = request.earnRules {
            let channels = Set(try await sql.raw("SELECT code FROM channels WHERE tenant_id = \(bind: tenantID)").all()
                .map { try $0.decode(column: "code", as: String.self) })
            rules.earnRules = earnRules(inputs, tiers: Set(rules.tiers.map(\.code)), channels: channels, into: &validator)
        } else if request.tiers != nil {
            // Rules naming a tier the new list lacks would never match again: say so.
            let codes = Set(rules.tiers.map(\.code))
            for (index, rule) in rules.earnRules.enumerated() {
                for tier in rule.tiers ?? [] where !codes.contains(tier) {
                    validator.fail("earn_rules[\(index)].tiers", "unknown_tier", "earn rule \(index) names tier \(tier), which tiers no longer lists")
                }
            }
        }
        return rules
    }

    private func tiers(_ inputs: [LoyaltyTierInput], into validator: inout Validator) -> [LoyaltyTier]? {
        guard (1...LoyaltyRules.maximumTiers).contains(inputs.count) else {
            validator.fail("tiers", "out_of_range", "tiers lists 1 to \(LoyaltyRules.maximumTiers) tiers")
            return nil
        }
        var tiers: [LoyaltyTier] = []
        for (index, input) in inputs.enumerated() {
            let field = "tiers[\(index)]"
            let code = validator.code(input.code, field: "\(field).code")
            let name = validator.text(input.name, field: "\(field).name", maxLength: 100)
            let threshold = validator.amount(input.threshold, field: "\(field).threshold")
            let percent = input.earnPercent ?? 100
            if !LoyaltyRules.percentRange.contains(percent) { validator.fail("\(field).earn_percent", "out_of_range", "earn_percent must be 0 to 1000") }
            if index == 0, let threshold, threshold != 0 {
                validator.fail("\(field).threshold", "first_tier_threshold", "the first tier is every member's: its threshold is 0")
            }
            if let threshold, let previous = tiers.last, threshold <= previous.threshold {
                validator.fail("\(field).threshold", "thresholds_not_ascending", "each tier's threshold is above the one before")
            }
            if let code, tiers.contains(where: { $0.code == code }) { validator.fail("\(field).code", "duplicate_tier", "tier \(code) is listed twice") }
            if let code, let name, let threshold { tiers.append(LoyaltyTier(code: code, name: name, threshold: threshold, earnPercent: percent)) }
        }
        return tiers.count == inputs.count ? tiers : nil
    }

    private func earnRules(_ inputs: [EarnRuleInput], tiers: Set<String>, channels: Set<String>, into validator: inout Validator) -> [EarnRule] {
        guard inputs.count <= LoyaltyRules.maximumEarnRules else {
            validator.fail("earn_rules", "too_many", "at most \(LoyaltyRules.maximumEarnRules) earn rules")
            return []
        }
        return inputs.enumerated().compactMap { index, input in
            let field = "earn_rules[\(index)]"
            let name = validator.text(input.name, field: "\(field).name", maxLength: 100)
            for channel in input.channels ?? [] where !channels.contains(channel) {
                validator.fail("\(field).channels", "unknown_channel", "\(channel) is not the code of a channel of this tenant")
            }
            for tier in input.tiers ?? [] where !tiers.contains(tier) {
                validator.fail("\(field).tiers", "unknown_tier", "\(tier) is not the code of one of the programme's tiers")
            }
            for category in input.categories ?? [] { validator.text(category, field: "\(field).categories", maxLength: 200) }
            for (list, key) in [(input.channels, "channels"), (input.categories, "categories"), (input.tiers, "tiers")] where list?.isEmpty == true {
                validator.fail("\(field).\(key)", "empty_list", "leave \(key) out to match every one; an empty list would match none")
            }
            var startsAt: Int64?
            var endsAt: Int64?
            if let text = input.startsAt { startsAt = RFC3339.milliseconds(text) ?? invalidTime("\(field).starts_at", &validator) }
            if let text = input.endsAt { endsAt = RFC3339.milliseconds(text) ?? invalidTime("\(field).ends_at", &validator) }
            if let startsAt, let endsAt, endsAt <= startsAt {
                validator.fail("\(field).ends_at", "ends_before_start", "ends_at must be after starts_at")
            }
            guard let percent = input.earnPercent else {
                validator.fail("\(field).earn_percent", "required", "earn_percent is required (200: double points)")
                return nil
            }
            if !LoyaltyRules.percentRange.contains(percent) { validator.fail("\(field).earn_percent", "out_of_range", "earn_percent must be 0 to 1000") }
            guard let name else { return nil }
            return EarnRule(name: name, channels: input.channels, categories: input.categories, tiers: input.tiers, startsAt: startsAt, endsAt: endsAt,
                            earnPercent: percent)
        }
    }

    private func invalidTime(_ field: String, _ validator: inout Validator) -> Int64? {
        validator.fail(field, "invalid_date_time", "\(field) must be an RFC 3339 date-time such as 2026-12-24T00:00:00Z")
        return nil
    }

    // MARK: Reading

    func programme(on sql: any SQLDatabase, tenantID: String, id: String) async throws -> StoredLoyaltyProgramme? {
        try await programmes(on: sql, "SELECT * FROM loyalty_programmes WHERE tenant_id = \(bind: tenantID) AND id = \(bind: id)").first
    }

    /// The programme sales in `currency` earn in, if one is active.
    func activeProgramme(on sql: any SQLDatabase, tenantID: String, currency: String) async throws -> StoredLoyaltyProgramme? {
        try await programmes(on: sql, """
            SELECT * FROM loyalty_programmes WHERE tenant_id = \(bind: tenantID) AND currency = \(bind: currency) AND status = 'active'
            """).first
    }

    /// The tenant's active programmes, by currency: what every sale earns in. Read at most once a
    /// second per process (`ActiveProgrammes`): a change made on another server applies to sales
    /// within a second; one made here, at once.
    func activeProgrammes(on sql: any SQLDatabase, tenantID: String) async throws -> [String: StoredLoyaltyProgramme] {
        let now = services.nowMilliseconds
        if let cached = ActiveProgrammes.shared.read(tenantID: tenantID, now: now) { return cached }
        let active = try await programmes(on: sql, "SELECT * FROM loyalty_programmes WHERE tenant_id = \(bind: tenantID) AND status = 'active'")
        let byCurrency = Dictionary(active.map { ($0.currency, $0) }) { first, _ in first }
        ActiveProgrammes.shared.store(byCurrency, tenantID: tenantID, now: now)
        return byCurrency
    }

    func page(on sql: any SQLDatabase, tenantID: String, page: PageRequest) async throws -> [StoredLoyaltyProgramme] {
        var query: SQLQueryString = "SELECT * FROM loyalty_programmes WHERE tenant_id = \(bind: tenantID)"
        if let cursor = page.startingAfter { query += " AND id > \(bind: cursor)" }
        return try await programmes(on: sql, query + " ORDER BY id LIMIT \(literal: page.limit + 1)")
    }

    func programmes(on sql: any SQLDatabase, ids: [String], tenantID: String) async throws -> [String: StoredLoyaltyProgramme] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await programmes(on: sql, "SELECT * FROM loyalty_programmes WHERE tenant_id = \(bind: tenantID) AND id IN (\(binds: ids))")
        return Dictionary(uniqueKeysWithValues: rows.map { ($0.id, $0) })
    }

    private func programmes(on sql: any SQLDatabase, _ query: SQLQueryString) async throws -> [StoredLoyaltyProgramme] {
        try await sql.raw(query).all().map { row in
            StoredLoyaltyProgramme(
                id: try row.decode(column: "id", as: String.self), name: try row.decode(column: "name", as: String.self),
                currency: try row.decode(column: "currency", as: String.self), status: try row.decode(column: "status", as: String.self),
                rules: try JSONCoding.decoder.decode(LoyaltyRules.self, from: Data(try row.decode(column: "rules", as: String.self).utf8)),
                createdAt: StoredTime(milliseconds: try row.decode(column: "created_at", as: Int64.self)),
                updatedAt: StoredTime(milliseconds: try row.decode(column: "updated_at", as: Int64.self)))
        }
    }
}

/// Each tenant's active programmes as last read, for a second: a sale's earning then costs no
/// statement to find its programme. Only committed reads are kept; a local change forgets the tenant.
final class ActiveProgrammes: Sendable {
    static let shared = ActiveProgrammes()
    static let lifetime: Int64 = 1_000
    private let entries = Mutex<[String: (programmes: [String: StoredLoyaltyProgramme], readAt: Int64)]>([:])

    func read(tenantID: String, now: Int64) -> [String: StoredLoyaltyProgramme]? {
        entries.withLock { entries in
            guard let entry = entries[tenantID], now - entry.readAt < Self.lifetime, now >= entry.readAt else { return nil }
            return entry.programmes
        }
    }

    func store(_ programmes: [String: StoredLoyaltyProgramme], tenantID: String, now: Int64) {
        entries.withLock { entries in
            // Bounded like any per-process memory: past many tenants it starts over.
            if entries.count > 10_000 { entries.removeAll() }
            entries[tenantID] = (programmes, now)
        }
    }

    func forget(tenantID: String) {
        _ = entries.withLock { $0.removeValue(forKey: tenantID) }
    }
}
