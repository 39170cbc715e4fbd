import Foundation
import OmniaCore
import SQLKit

/// A campaign's outcome: for the customers it reached and those it held out as control, how many
/// bought afterwards (any sale in any channel after they were reached or held out), how often and
/// for how much; the coupons it assigned and how many were used; and the uplift of the reached
/// group over the control group — what the campaign itself brought, beyond what would have happened anyway.
struct CampaignReports: Sendable {
    let services: AppServices

    func report(on sql: any SQLDatabase, tenantID: String, id: String) async throws -> CampaignReport {
        guard try await CampaignService(services: services).campaign(on: sql, tenantID: tenantID, id: id) != nil else { throw Problem.notFound("campaign") }
        // Each member once, from their first reach (or hold-out) by the campaign; sales after it, net of returns.
        let rows = try await sql.raw("""
            SELECT m.control, COUNT(*) AS customers, CAST(SUM(CASE WHEN m.sales > 0 THEN 1 ELSE 0 END) AS BIGINT) AS buyers,
              CAST(SUM(m.sales) AS BIGINT) AS sales, CAST(SUM(m.revenue) AS BIGINT) AS revenue
            FROM (
              SELECT f.control,
                (SELECT COUNT(*) FROM transactions t
                 WHERE t.tenant_id = \(bind: tenantID) AND t.customer_id = f.customer_id AND t.occurred_at >= f.reached AND t.kind = 'sale') AS sales,
                (SELECT COALESCE(SUM(CASE WHEN t.kind = 'sale' THEN t.subtotal - t.discount_total ELSE -t.subtotal END), 0) FROM transactions t
                 WHERE t.tenant_id = \(bind: tenantID) AND t.customer_id = f.customer_id AND t.occurred_at >= f.reached) AS revenue
              FROM (SELECT customer_id, MIN(control) AS control, MIN(created_at) AS reached FROM campaign_members
                    WHERE tenant_id = \(bind: tenantID) AND campaign_id = \(bind: id) GROUP BY customer_id) f
            ) m
            GROUP BY m.control
            """).all()
        var groups: [Bool: CampaignReport.Group] = [:]
        for row in rows {
            let customers = try row.decode(column: "customers", as: Int64.self)
            let buyers = try row.decode(column: "buyers", as: Int64.self)
            let revenue = try row.decode(column: "revenue", as: Int64.self)
            groups[try row.decode(column: "control", as: Int64.self) != 0] = CampaignReport.Group(
                customers: customers, buyers: buyers, sales: try row.decode(column: "sales", as: Int64.self), revenue: revenue,
                conversionRate: customers == 0 ? 0 : Double(buyers) / Double(customers), revenuePerCustomer: customers == 0 ? 0 : Double(revenue) / Double(customers))
        }
        let empty = CampaignReport.Group(customers: 0, buyers: 0, sales: 0, revenue: 0, conversionRate: 0, revenuePerCustomer: 0)
        let target = groups[false] ?? empty, control = groups[true] ?? empty
        let coupons = try await sql.raw("""
            SELECT COUNT(m.coupon_code) AS assigned, CAST(COALESCE(SUM(CASE WHEN c.status = 'redeemed' THEN 1 ELSE 0 END), 0) AS BIGINT) AS redeemed
            FROM campaign_members m LEFT JOIN coupon_codes c ON c.tenant_id = m.tenant_id AND c.code = LOWER(REPLACE(m.coupon_code, '-', ''))
            WHERE m.tenant_id = \(bind: tenantID) AND m.campaign_id = \(bind: id) AND m.coupon_code IS NOT NULL
            """).first()
        var channels: [String: (target: (Int64, Int64), control: (Int64, Int64))] = [:]
        for row in try await sql.raw("""
            SELECT f.control, t.channel_id, COUNT(*) AS sales, CAST(SUM(t.subtotal - t.discount_total) AS BIGINT) AS revenue
            FROM (SELECT customer_id, MIN(control) AS control, MIN(created_at) AS reached FROM campaign_members
                  WHERE tenant_id = \(bind: tenantID) AND campaign_id = \(bind: id) GROUP BY customer_id) f
            JOIN transactions t ON t.tenant_id = \(bind: tenantID) AND t.customer_id = f.customer_id AND t.occurred_at >= f.reached AND t.kind = 'sale'
            GROUP BY f.control, t.channel_id
            """).all() {
            let channelID = try row.decode(column: "channel_id", as: String.self)
            let figures = (try row.decode(column: "sales", as: Int64.self), try row.decode(column: "revenue", as: Int64.self))
            if try row.decode(column: "control", as: Int64.self) != 0 { channels[channelID, default: ((0, 0), (0, 0))].control = figures }
            else { channels[channelID, default: ((0, 0), (0, 0))].target = figures }
        }
        var byChannel: [CampaignReport.Channel] = []
        for (channelID, figures) in channels {
            byChannel.append(.init(channelId: channelID, channelCode: try await services.platform.knownChannel(on: sql, tenantID: tenantID, channelID)?.code ?? "",
                                   targetSales: figures.target.0, targetRevenue: figures.target.1, controlSales: figures.control.0, controlRevenue: figures.control.1))
        }
        let runs = try await sql.raw("SELECT COUNT(*) AS n FROM campaign_runs WHERE tenant_id = \(bind: tenantID) AND campaign_id = \(bind: id)")
            .first(decodingColumn: "n", as: Int.self) ?? 0
        return CampaignReport(
            campaignId: id, runs: runs, target: target, control: control, byChannel: byChannel.sorted { $0.channelCode < $1.channelCode },
            couponsAssigned: try coupons?.decode(column: "assigned", as: Int64.self) ?? 0, couponsRedeemed: try coupons?.decode(column: "redeemed", as: Int64.self) ?? 0,
            conversionUplift: control.customers == 0 || target.customers == 0 ? nil : ((target.conversionRate - control.conversionRate) * 10_000).rounded() / 100,
            revenueUplift: control.revenuePerCustomer == 0 || target.customers == 0 ? nil
                : ((target.revenuePerCustomer / control.revenuePerCustomer - 1) * 10_000).rounded() / 10_000)
    }
}
