import Foundation
import OmniaCore
import SQLKit

/// `POST /v1/promotions/{id}/simulate`: how many days of sales to replay, and at most how many.
struct SimulatePromotionRequest: RequestBody {
    /// 1 to 365; 30 by default.
    var days: Int?
    /// The most recent sales replayed at most: 1 to 200,000; 50,000 by default.
    var maxSales: Int?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case days, maxSales
    }
}

/// What a promotion would have done to the tenant's recent sales, had it been active alone.
struct PromotionSimulation: Codable, Sendable {
    struct Channel: Codable, Sendable {
        let channelId: String
        let channelCode: String
        let sales: Int
        let salesTouched: Int
        let discount: Int64
        /// The touched sales' totals before the promotion.
        let revenue: Int64
    }

    let promotionId: String
    let version: Int
    let status: String
    let from: StoredTime
    let to: StoredTime
    /// Sales of the window replayed (the most recent, up to `max_sales`).
    let salesConsidered: Int
    /// Whether the window held more sales than `max_sales`: the figures then cover the most recent ones.
    let truncated: Bool
    let salesTouched: Int
    let customersTouched: Int
    /// Every sale is taken as having entered the promotion's code or a valid coupon of its campaign.
    let assumesCode: Bool
    /// In the promotion's currency (sales in others are not eligible); of a percentage-only promotion, summed over currencies.
    let discount: Int64
    let bonusPoints: Int64
    let byChannel: [Channel]
}

/// Replays a promotion — its current terms, in any status — on the last days of real sales, each
/// as the cart it was (lines at their unit prices), in its channel, at its local time, by its
/// customer as the customer is now (tier, birthday, orders, spend). The promotion is evaluated
/// alone: stacking with the others is not simulated, nor its budget and limits. Nothing is written.
struct PromotionSimulationService: Sendable {
    let services: AppServices

    func simulate(on sql: any SQLDatabase, caller: Caller, id: String, _ request: SimulatePromotionRequest) async throws -> PromotionSimulation {
        var validator = Validator()
        let days = request.days ?? 30
        if !(1...365).contains(days) { validator.fail("days", "out_of_range", "days must be 1 to 365") }
        let maxSales = request.maxSales ?? 50_000
        if !(1...200_000).contains(maxSales) { validator.fail("max_sales", "out_of_range", "max_sales must be 1 to 200000") }
        guard let stored = try await PromotionService(services: services).promotion(on: sql, tenantID: caller.tenantID, id: id) else {
            throw Problem.notFound("promotion")
        }
        guard validator.isValid else { throw Problem.validation(validator.errors) }
        let promotion = try stored.terms.compiled(id: stored.id, version: stored.version)
        let engine = PromotionEngine([promotion])
        var codes: [String] = []
        var campaigns: Set<String> = []
        switch promotion.unlock {
        case .none: break
        case .code(let code): codes = [code]
        case .couponCampaign(let campaign): campaigns = [campaign]
        }

        let tenantID = caller.tenantID
        let to = services.nowMilliseconds
        let from = to - Int64(days) * 86_400_000
        let sales = try await sql.raw("""
            SELECT id, channel_id, customer_id, currency, occurred_at FROM transactions
            WHERE tenant_id = \(bind: tenantID) AND occurred_at >= \(bind: from) AND occurred_at <= \(bind: to) AND kind = 'sale'
            ORDER BY occurred_at DESC LIMIT \(bind: maxSales + 1)
            """).all()
        let truncated = sales.count > maxSales
        let considered = try sales.prefix(maxSales).map { row in
            (id: try row.decode(column: "id", as: String.self), channelID: try row.decode(column: "channel_id", as: String.self),
             customerID: try row.decode(column: "customer_id", as: String?.self), currency: try row.decode(column: "currency", as: String.self),
             occurredAt: try row.decode(column: "occurred_at", as: Int64.self))
        }
        let lines = try await self.lines(of: considered.map(\.id), on: sql, tenantID: tenantID)
        let customers = try await CustomerFacts.load(Set(considered.compactMap(\.customerID)), on: sql, tenantID: tenantID)
        let places = try await self.places(on: sql, tenantID: tenantID, tenantTimeZone: caller.tenantTimeZone)

        var byChannel: [String: (sales: Int, touched: Int, discount: Int64, revenue: Int64)] = [:]
        var touched = 0, discount: Int64 = 0, bonus: Int64 = 0
        var customersTouched = Set<String>()
        for sale in considered {
            byChannel[sale.channelID, default: (0, 0, 0, 0)].sales += 1
            guard let place = places[sale.channelID], let currency = Currency(code: sale.currency), let saleLines = lines[sale.id], !saleLines.isEmpty else { continue }
            let (day, minute) = LocalClock.day(at: sale.occurredAt, timeZone: place.timeZone)
            let customer = sale.customerID.flatMap { customers[$0] }?.customer(in: sale.currency)
            let input = CheckoutInput(currency: currency, lines: saleLines, customer: customer, channelCode: place.code, channelKind: place.kind, storeID: place.locationID, country: place.country, localDay: day, localMinute: minute,
                                      codes: codes)
            let result = engine.evaluate(input, unlockedCampaigns: campaigns)
            guard let applied = result.applied.first else { continue }
            touched += 1
            discount += applied.discount
            bonus += applied.bonusPoints
            if let customerID = sale.customerID { customersTouched.insert(customerID) }
            byChannel[sale.channelID]!.touched += 1
            byChannel[sale.channelID]!.discount += applied.discount
            byChannel[sale.channelID]!.revenue += result.subtotal
        }
        return PromotionSimulation(
            promotionId: stored.id, version: stored.version, status: stored.status, from: StoredTime(milliseconds: from), to: StoredTime(milliseconds: to),
            salesConsidered: considered.count, truncated: truncated, salesTouched: touched, customersTouched: customersTouched.count,
            assumesCode: promotion.unlock != .none, discount: discount, bonusPoints: bonus,
            byChannel: byChannel.map { channelID, figures in
                PromotionSimulation.Channel(channelId: channelID, channelCode: places[channelID]?.code ?? "", sales: figures.sales,
                                            salesTouched: figures.touched, discount: figures.discount, revenue: figures.revenue)
            }.sorted { $0.channelCode < $1.channelCode })
    }

    /// The sales' lines as carts, by sale: a few hundred sales per statement.
    private func lines(of saleIDs: [String], on sql: any SQLDatabase, tenantID: String) async throws -> [String: [CheckoutInput.Line]] {
        var lines: [String: [CheckoutInput.Line]] = [:]
        for batch in saleIDs.chunks(of: 500) {
            let rows = try await sql.raw("""
                SELECT transaction_id, sku, category, quantity, unit_price FROM transaction_lines
                WHERE tenant_id = \(bind: tenantID) AND transaction_id IN (\(binds: Array(batch))) ORDER BY transaction_id, line_number
                """).all()
            for row in rows {
                lines[try row.decode(column: "transaction_id", as: String.self), default: []].append(CheckoutInput.Line(
                    sku: try row.decode(column: "sku", as: String.self), category: try row.decode(column: "category", as: String?.self),
                    quantity: try row.decode(column: "quantity", as: Int64.self), unitPrice: try row.decode(column: "unit_price", as: Int64.self)))
            }
        }
        return lines
    }

    private struct Place {
        let code: String
        let kind: String
        let locationID: String?
        let timeZone: String
        let country: String?
    }

    /// Every channel of the tenant with its store's time zone and country (the tenant's zone off-store).
    private func places(on sql: any SQLDatabase, tenantID: String, tenantTimeZone: String) async throws -> [String: Place] {
        try await sql.raw("""
            SELECT c.id, c.code, c.kind, c.location_id, l.timezone, l.country FROM channels c
            LEFT JOIN locations l ON l.tenant_id = c.tenant_id AND l.id = c.location_id WHERE c.tenant_id = \(bind: tenantID)
            """).all().reduce(into: [:]) { places, row in
            places[try row.decode(column: "id", as: String.self)] = Place(
                code: try row.decode(column: "code", as: String.self), kind: try row.decode(column: "kind", as: String.self),
                locationID: try row.decode(column: "location_id", as: String?.self),
                timeZone: try row.decode(column: "timezone", as: String?.self) ?? tenantTimeZone, country: try row.decode(column: "country", as: String?.self))
        }
    }
}
