import Foundation
import HTTPTypes
import OmniaCore
import SQLKit

/// Promotions created, changed and read by marketers. Every change of terms is a new version
/// (kept in `promotion_versions`; a sale keeps the version it used), and every change at all bumps
/// the tenant's catalog version, so each server's compiled copy of the active promotions
/// (`PromotionCatalog`) is replaced before its next evaluation.
struct PromotionService: Sendable {
    let services: AppServices

    func create(on sql: any SQLDatabase, caller: Caller, _ request: PromotionRequest, actor: Actor) async throws -> PromotionView {
        var validator = Validator()
        let status = PromotionTerms.checkedStatus(request.status ?? "draft", into: &validator)
        let terms = try await PromotionTerms.validated(request, over: nil, caller: caller, services: services, on: sql, into: &validator)
        guard validator.isValid, let terms else { throw Problem.validation(validator.errors) }
        let now = services.nowMilliseconds
        let id = services.ids.make(.promotion)
        let definition = try JSONCoding.text(terms)
        try await sql.runDeferrable("""
            INSERT INTO promotions (tenant_id, id, version, name, status, definition, created_at, updated_at)
            VALUES (\(bind: caller.tenantID), \(bind: id), 1, \(bind: terms.name), \(bind: status), \(bind: definition), \(bind: now), \(bind: now))
            """)
        try await sql.runDeferrable("""
            INSERT INTO promotion_versions (tenant_id, promotion_id, version, definition, created_at)
            VALUES (\(bind: caller.tenantID), \(bind: id), 1, \(bind: definition), \(bind: now))
            """)
        try await PromotionBudgetLedger(tenantID: caller.tenantID).fund(on: sql, promotionID: id, currency: terms.currency, from: nil, to: terms.budget?.amount,
                                                                     ids: services.ids, requestID: actor.requestID, now: now)
        try await Self.bumpCatalog(on: sql, tenantID: caller.tenantID)
        let stored = StoredPromotion(id: id, version: 1, status: status, terms: terms, createdAt: now, updatedAt: now)
        let warnings = try await terms.skuWarnings(on: sql, tenantID: caller.tenantID)
        return try await recorded(stored, warnings: warnings, event: "promotion.created", on: sql, tenantID: caller.tenantID, actor: actor)
    }

    func update(on sql: any SQLDatabase, caller: Caller, id: String, _ request: PromotionRequest, actor: Actor) async throws -> PromotionView {
        guard let current = try await promotion(on: sql, tenantID: caller.tenantID, id: id, locked: true) else { throw Problem.notFound("promotion") }
        var validator = Validator()
        let status = PromotionTerms.checkedStatus(request.status ?? current.status, into: &validator)
        if current.status == "archived" {
            throw Problem(.conflict, code: "promotion_archived", detail: "an archived promotion cannot change; create a new one")
        }
        if status == "draft" && current.status != "draft" {
            validator.fail("status", "invalid_transition", "a promotion that has been active goes to paused or archived, not back to draft")
        }
        let terms = try await PromotionTerms.validated(request, over: current.terms, caller: caller, services: services, on: sql, into: &validator)
        guard validator.isValid, let terms else { throw Problem.validation(validator.errors) }
        let now = services.nowMilliseconds
        let changed = terms != current.terms
        let version = changed ? current.version + 1 : current.version
        let definition = try JSONCoding.text(terms)
        try await sql.runDeferrable("""
            UPDATE promotions SET version = \(bind: version), name = \(bind: terms.name), status = \(bind: status), definition = \(bind: definition),
                updated_at = \(bind: now)
            WHERE tenant_id = \(bind: caller.tenantID) AND id = \(bind: id)
            """)
        if changed {
            try await sql.runDeferrable("""
                INSERT INTO promotion_versions (tenant_id, promotion_id, version, definition, created_at)
                VALUES (\(bind: caller.tenantID), \(bind: id), \(bind: version), \(bind: definition), \(bind: now))
                """)
        }
        try await PromotionBudgetLedger(tenantID: caller.tenantID).fund(on: sql, promotionID: id, currency: terms.currency, from: current.terms.budget?.amount,
                                                                     to: terms.budget?.amount, ids: services.ids, requestID: actor.requestID, now: now)
        try await Self.bumpCatalog(on: sql, tenantID: caller.tenantID)
        let stored = StoredPromotion(id: id, version: version, status: status, terms: terms, createdAt: current.createdAt, updatedAt: now)
        let warnings = changed ? try await terms.skuWarnings(on: sql, tenantID: caller.tenantID) : []
        return try await recorded(stored, warnings: warnings, event: "promotion.updated", on: sql, tenantID: caller.tenantID, actor: actor)
    }

    private func recorded(_ promotion: StoredPromotion, warnings: [String], event: String, on sql: any SQLDatabase, tenantID: String,
                          actor: Actor) async throws -> PromotionView {
        let view = promotion.view(warnings: warnings)
        try await services.events.append(on: sql, tenantID: tenantID, type: event, data: view, requestID: actor.requestID)
        try await services.audit.record(on: sql, tenantID: tenantID, actor: actor.id, action: event, targetType: "promotion", targetID: promotion.id,
                                        details: ["status": .string(promotion.status), "version": .integer(Int64(promotion.version))],
                                        requestID: actor.requestID)
        return view
    }

    /// Every change tells the servers their compiled catalog of this tenant is stale. Run at once,
    /// not held: PostgreSQL joins held writes into one statement, and two upserts of one row in a
    /// statement (two promotions made in one transaction, as the demo does) are an error there.
    static func bumpCatalog(on sql: any SQLDatabase, tenantID: String) async throws {
        try await sql.raw("""
            INSERT INTO promotion_catalogs (tenant_id, version) VALUES (\(bind: tenantID), 1)
            ON CONFLICT (tenant_id) DO UPDATE SET version = promotion_catalogs.version + 1
            """).run()
    }

    // MARK: Reading

    func promotion(on sql: any SQLDatabase, tenantID: String, id: String, locked: Bool = false) async throws -> StoredPromotion? {
        guard IDGenerator.isWellFormed(id, prefix: .promotion) else { return nil }
        let lock = locked && sql.dialect.name != "sqlite" ? " FOR UPDATE" : ""
        return try await promotions(on: sql, "SELECT * FROM promotions WHERE tenant_id = \(bind: tenantID) AND id = \(bind: id)\(unsafeRaw: lock)").first
    }

    func page(on sql: any SQLDatabase, tenantID: String, status: String?, page: PageRequest) async throws -> [StoredPromotion] {
        var query: SQLQueryString = "SELECT * FROM promotions WHERE tenant_id = \(bind: tenantID)"
        if let status { query += " AND status = \(bind: status)" }
        if let cursor = page.startingAfter { query += " AND id > \(bind: cursor)" }
        return try await promotions(on: sql, query + " ORDER BY id LIMIT \(literal: page.limit + 1)")
    }

    /// The terms of one version, as a sale that used it sees them.
    func version(on sql: any SQLDatabase, tenantID: String, id: String, version: Int) async throws -> PromotionTerms? {
        let row = try await sql.raw("""
            SELECT definition FROM promotion_versions WHERE tenant_id = \(bind: tenantID) AND promotion_id = \(bind: id) AND version = \(bind: version)
            """).first()
        return try row.map { try JSONCoding.decoder.decode(PromotionTerms.self, from: Data(try $0.decode(column: "definition", as: String.self).utf8)) }
    }

    func promotions(on sql: any SQLDatabase, _ query: SQLQueryString) async throws -> [StoredPromotion] {
        try await sql.raw(query).all().map { row in
            StoredPromotion(
                id: try row.decode(column: "id", as: String.self), version: try row.decode(column: "version", as: Int.self),
                status: try row.decode(column: "status", as: String.self),
                terms: try JSONCoding.decoder.decode(PromotionTerms.self, from: Data(try row.decode(column: "definition", as: String.self).utf8)),
                createdAt: try row.decode(column: "created_at", as: Int64.self), updatedAt: try row.decode(column: "updated_at", as: Int64.self))
        }
    }
}

/// A promotion as stored: its current version's terms and its status.
struct StoredPromotion: Sendable {
    let id: String
    let version: Int
    let status: String
    let terms: PromotionTerms
    let createdAt: Int64
    let updatedAt: Int64

    func view(warnings: [String] = []) -> PromotionView {
        PromotionView(
            id: id, version: version, status: status, name: terms.name, description: terms.description, condition: terms.condition,
            conditionJson: terms.condition.flatMap { try? RuleParser.parse($0) }.map(RuleJSON.json), effects: terms.effects, currency: terms.currency,
            priority: terms.priority, stacking: terms.stacking, stackingGroup: terms.stackingGroup, channels: terms.channels,
            channelKinds: terms.channelKinds, countries: terms.countries, schedule: terms.schedule, code: terms.code,
            couponCampaignId: terms.couponCampaignId, budget: terms.budget, limits: terms.limits, warnings: warnings.isEmpty ? nil : warnings, createdAt: StoredTime(milliseconds: createdAt),
            updatedAt: StoredTime(milliseconds: updatedAt))
    }
}
