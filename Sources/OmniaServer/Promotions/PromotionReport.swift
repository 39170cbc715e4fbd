import Foundation
import HTTPTypes
import Hummingbird
import OmniaCore
import SQLKit

/// What a promotion did between two times, from its redemptions: sales that used it, the discount
/// it cost and the revenue of those sales, net of what returns gave back — in all and per channel.
struct PromotionReport: Codable, Sendable {
    struct Channel: Codable, Sendable {
        let channelId: String
        let channelCode: String
        let redemptions: Int64
        let discount: Int64
        let revenue: Int64
    }

    let promotionId: String
    let from: StoredTime
    let to: StoredTime
    /// Sales that used it, less those whose returns took back everything it discounted.
    let redemptions: Int64
    let customers: Int64
    /// What it took off those sales, less what returns gave back.
    let discount: Int64
    let returnedDiscount: Int64
    /// The sales' net totals (after every discount), as committed.
    let revenue: Int64
    let bonusPoints: Int64
    let byChannel: [Channel]
}

struct PromotionReportService: Sendable {
    let services: AppServices

    /// `from` and `to` (RFC 3339) from the query: the last 30 days by default.
    func range(_ request: Request) throws -> (from: Int64, to: Int64) {
        var validator = Validator()
        func time(_ name: String) -> Int64? {
            guard let text = request.uri.queryParameters[Substring(name)].map(String.init) else { return nil }
            guard let value = RFC3339.milliseconds(text) else {
                validator.fail(name, "invalid_time", "\(name) must be an RFC 3339 time such as 2026-12-01T00:00:00Z")
                return nil
            }
            return value
        }
        let to = time("to") ?? services.nowMilliseconds
        let from = time("from") ?? to - 30 * 86_400_000
        if validator.isValid, from > to { validator.fail("from", "invalid_range", "from must not be after to") }
        guard validator.isValid else { throw Problem.validation(validator.errors) }
        return (from, to)
    }

    func report(on sql: any SQLDatabase, tenantID: String, id: String, from: Int64, to: Int64) async throws -> PromotionReport {
        guard try await PromotionService(services: services).promotion(on: sql, tenantID: tenantID, id: id) != nil else { throw Problem.notFound("promotion") }
        let window: SQLQueryString = """
            FROM promotion_redemptions r WHERE r.tenant_id = \(bind: tenantID) AND r.promotion_id = \(bind: id)
              AND r.occurred_at >= \(bind: from) AND r.occurred_at <= \(bind: to)
            """
        let rows = try await sql.raw("""
            SELECT r.channel_id, CAST(SUM(1 - r.use_returned) AS BIGINT) AS redemptions, CAST(SUM(r.discount - r.returned_discount) AS BIGINT) AS discount,
              CAST(SUM(r.returned_discount) AS BIGINT) AS returned, CAST(SUM(r.sale_net) AS BIGINT) AS revenue, CAST(SUM(r.bonus_points) AS BIGINT) AS points
            \(window) GROUP BY r.channel_id
            """).all()
        let customers = try await sql.raw("SELECT COUNT(DISTINCT r.customer_id) AS n \(window)").first(decodingColumn: "n", as: Int64.self) ?? 0
        var channels: [PromotionReport.Channel] = []
        var returned: Int64 = 0, points: Int64 = 0
        for row in rows {
            let channelID = try row.decode(column: "channel_id", as: String.self)
            channels.append(.init(
                channelId: channelID, channelCode: try await services.platform.knownChannel(on: sql, tenantID: tenantID, channelID)?.code ?? "",
                redemptions: try row.decode(column: "redemptions", as: Int64.self), discount: try row.decode(column: "discount", as: Int64.self),
                revenue: try row.decode(column: "revenue", as: Int64.self)))
            returned += try row.decode(column: "returned", as: Int64.self)
            points += try row.decode(column: "points", as: Int64.self)
        }
        channels.sort { $0.channelCode < $1.channelCode }
        return PromotionReport(
            promotionId: id, from: StoredTime(milliseconds: from), to: StoredTime(milliseconds: to), redemptions: channels.reduce(0) { $0 + $1.redemptions },
            customers: customers, discount: channels.reduce(0) { $0 + $1.discount }, returnedDiscount: returned,
            revenue: channels.reduce(0) { $0 + $1.revenue }, bonusPoints: points, byChannel: channels)
    }
}
