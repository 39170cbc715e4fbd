import Foundation
import Logging
import OmniaCore
import SQLKit
import Synchronization

/// Each tenant's active promotions, compiled once and kept in memory with the catalog version they
/// were read at. An evaluation reads the tenant's catalog version (one primary-key read) and
/// reuses the compiled engine while it has not moved; any change of a promotion, by this server or
/// another on the same PostgreSQL, moves it, and the next evaluation compiles the catalog again.
final class PromotionCatalog: Sendable {
    struct Entry: Sendable {
        let version: Int64
        let engine: PromotionEngine
        /// The same promotions by id, for the answer.
        let byID: [String: Promotion]
        /// Codes that unlock a promotion of the catalog: an entered code among them is no coupon.
        let promotionCodes: Set<String>
        /// The budgets and limits of the promotions that have any, by id.
        let quotas: [String: PromotionQuota]

        init(version: Int64, promotions: [Promotion], quotas: [String: PromotionQuota] = [:]) {
            self.version = version
            self.quotas = quotas
            engine = PromotionEngine(promotions)
            byID = Dictionary(uniqueKeysWithValues: promotions.map { ($0.id, $0) })
            promotionCodes = Set(promotions.compactMap { promotion in
                if case .code(let code) = promotion.unlock { return code }
                return nil
            })
        }
    }

    private let entries = Mutex<[String: Entry]>([:])

    func engine(on sql: any SQLDatabase, tenantID: String, services: AppServices) async throws -> Entry {
        let version = try await sql.raw("SELECT version FROM promotion_catalogs WHERE tenant_id = \(bind: tenantID)")
            .first(decodingColumn: "version", as: Int64.self) ?? 0
        if let entry = entries.withLock({ $0[tenantID] }), entry.version == version { return entry }
        // Read after the version: a change committed in between makes the version move again, so a
        // newer catalog may be kept under an older version (read again next time), never the reverse.
        let stored = try await PromotionService(services: services).promotions(on: sql, """
            SELECT * FROM promotions WHERE tenant_id = \(bind: tenantID) AND status = 'active'
            """)
        var compiled: [Promotion] = []
        var quotas: [String: PromotionQuota] = [:]
        for promotion in stored {
            do {
                compiled.append(try promotion.terms.compiled(id: promotion.id, version: promotion.version))
                quotas[promotion.id] = PromotionQuota(budget: promotion.terms.budget, limits: promotion.terms.limits)
            } catch {
                services.logger.error("promotion skipped", metadata: ["promotion": .string(promotion.id), "error": .string(String(describing: error))])
            }
        }
        let entry = Entry(version: version, promotions: compiled, quotas: quotas)
        entries.withLock { entries in
            // Bounded like any per-process memory: past many tenants it starts over.
            if entries.count > 10_000 { entries.removeAll() }
            entries[tenantID] = entry
        }
        return entry
    }
}
