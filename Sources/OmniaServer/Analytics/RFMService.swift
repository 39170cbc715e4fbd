import Foundation
import OmniaCore
import SQLKit

/// The stored result of an RFM run: the quintile thresholds and each named group's share.
struct RFMReport: Codable, Sendable {
    struct Group: Codable, Sendable {
        let group: String
        let customers: Int
        let share: Double
        /// Sales less returns of the group's customers, in `currency`.
        let monetary: Int64
    }

    var computedAt: StoredTime
    let currency: String
    /// Customers with at least one purchase: the ones scored.
    let customers: Int
    /// Per score 1–5, the worst value that still reaches it (recency in days at most; frequency and monetary at least).
    let quintiles: [RFMQuintile]
    /// Every named group, largest first.
    let groups: [Group]
}

/// Recency, frequency and monetary quintiles of every buying customer, from their live profiles
/// (`RFMScoring`), stored per customer (`customer_rfm`, read by segments as `customer.rfm`) and
/// summarised. Run daily by `AnalyticsWorker` and on demand.
struct RFMService: Sendable {
    let services: AppServices
    static let kind = "rfm"

    /// Scores the tenant's customers now; nil when another server is computing them.
    func run(tenantID: String) async throws -> RFMReport? {
        let jobs = AnalyticsJobs(services: services)
        guard let token = try await jobs.claim(tenantID: tenantID, kind: Self.kind) else { return nil }
        do {
            guard let tenant = try await services.platform.fetchTenant(tenantID) else { throw Problem.notFound("tenant") }
            let now = services.nowMilliseconds
            let today = LocalClock.day(at: now, timeZone: tenant.timezone).day
            let profiles = try await LiveProfiles(tenantID: tenantID, currency: tenant.defaultCurrency, timeZone: tenant.timezone)
                .all(in: services.database, parts: .channels)
            let customers = profiles.filter { $0.orders > 0 }.map {
                RFMCustomer(id: $0.id, recencyDays: Int($0.daysSinceLastPurchase(on: today) ?? 0), frequency: Int($0.orders), monetary: $0.netSpend)
            }
            let result = RFMScoring.score(customers)
            var monetary: [RFMSegment: Int64] = [:]
            var counts: [RFMSegment: Int] = [:]
            for (customer, score) in zip(customers, result.scores) {
                monetary[score.segment, default: 0] += customer.monetary
                counts[score.segment, default: 0] += 1
            }
            let groups = RFMSegment.allCases.map { group in
                RFMReport.Group(group: group.rawValue, customers: counts[group] ?? 0,
                                share: customers.isEmpty ? 0 : (Double(counts[group] ?? 0) / Double(customers.count) * 10_000).rounded() / 10_000,
                                monetary: monetary[group] ?? 0)
            }.sorted { ($0.customers, $1.group) > ($1.customers, $0.group) }
            let report = RFMReport(computedAt: StoredTime(milliseconds: now), currency: tenant.defaultCurrency, customers: customers.count,
                                   quintiles: result.quintiles, groups: groups)
            try await services.database.transaction { sql in
                try await sql.raw("DELETE FROM customer_rfm WHERE tenant_id = \(bind: tenantID)").run()
                let rows = Array(zip(customers, result.scores))
                for batch in rows.chunks(of: 200) {
                    try await sql.insertRows(into: "customer_rfm", columns: [
                        "tenant_id", "customer_id", "recency_days", "frequency", "monetary", "recency_score", "frequency_score", "monetary_score", "cell",
                        "rfm_group",
                    ], Array(batch)) { row, values in
                        let (customer, score) = row
                        values.add(tenantID)
                        values.add(customer.id)
                        values.add(Int64(customer.recencyDays))
                        values.add(Int64(customer.frequency))
                        values.add(customer.monetary)
                        values.add(Int64(score.recency))
                        values.add(Int64(score.frequency))
                        values.add(Int64(score.monetary))
                        values.add(score.cell)
                        values.add(score.segment.rawValue)
                    }
                }
                try await AnalyticsJobs(services: services).finish(on: sql, tenantID: tenantID, kind: Self.kind, token: token,
                                                                   model: try JSONCoding.text(report), error: nil)
            }
            return report
        } catch {
            try? await services.database.transaction { sql in
                try await jobs.finish(on: sql, tenantID: tenantID, kind: Self.kind, token: token, model: nil, error: String(describing: error))
            }
            throw error
        }
    }
}
