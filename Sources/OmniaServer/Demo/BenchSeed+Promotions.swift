import OmniaCore
import SQLKit

extension BenchSeed {
    /// The categories the benchmark's customer bought in and its carts hold.
    public static let promotionCategories = ["women/knitwear", "women/dresses", "men/shoes", "men/shirts", "home/kitchen", "kids/toys", "accessories"]

    /// `count` active promotions of every kind, made through the API's service as a marketer would:
    /// conditions on the cart, the customer and the day; line selectors by category and SKU;
    /// percentages, amounts, 3-for-2s, buy-X-get-Ys, bundles and tiers; codes, channel limits,
    /// stacking groups (one multi-buy and one spend reward per cart, as retailers set them up) and a
    /// few exclusive ones. Most apply to some carts; a handful to any one cart.
    public static func promotions(_ services: AppServices, tenantID: String, count: Int) async throws {
        let caller = benchCaller(tenantID)
        let service = PromotionService(services: services)
        try await services.database.transaction { sql in
            for index in 0..<count {
                let category = promotionCategories[index % promotionCategories.count]
                let lines = #"category == "\#(category)""#
                var request = PromotionRequest(name: "Bench promotion \(index)", status: "active", currency: "EUR", priority: index % 7)
                switch index % 8 {
                case 0:
                    request.condition = #"customer.tier in ["gold", "platinum"]"#
                    request.effects = [.init(type: "percent_off_lines", percent: PercentText("15"), lines: lines)]
                case 1:
                    request.effects = [.init(type: "cheapest_free", lines: lines, every: 3)]
                    request.stackingGroup = "multibuy"
                case 2:
                    request.condition = "cart.subtotal >= \(100 + index % 50).00 EUR and customer.orders >= \(index % 20)"
                    request.effects = [.init(type: "amount_off_cart", amount: Int64(500 + index))]
                    request.stackingGroup = "spend"
                case 3:
                    request.effects = [.init(type: "buy_x_get_y", percent: PercentText("50"), buy: lines, buyQuantity: 2, getQuantity: 1)]
                    request.stackingGroup = "multibuy"
                case 4:
                    request.effects = [.init(type: "tiered", tiers: [.init(threshold: 10_000, amountOff: 1_000), .init(threshold: 20_000, amountOff: 2_500)])]
                    request.condition = #"any(cart.lines, .category startsWith "\#(category.split(separator: "/")[0])/")"#
                    request.stackingGroup = "spend"
                case 5:
                    request.effects = [.init(type: "bundle_price", lines: lines, quantity: 3, price: 5_000)]
                    request.stackingGroup = "multibuy"
                case 6:
                    request.code = "BENCH\(index)"
                    request.effects = [.init(type: "percent_off_cart", percent: PercentText("10"))]
                    request.stacking = index % 48 == 6 ? "exclusive" : nil
                default:
                    request.channelKinds = ["web", "app"]
                    request.condition = #"context.weekday in ["saturday", "sunday"] or count(cart.lines, .quantity >= 2) >= 3"#
                    request.effects = [.init(type: "percent_off_lines", percent: PercentText("5"), lines: #"sku in ["SKU-\#(index % 97)", "SKU-\#((index + 1) % 97)"]"#)]
                }
                _ = try await service.create(on: sql, caller: caller, request, actor: .cli)
            }
        }
    }

    /// A promotion every commit takes from: 5 % off the cart with a budget and limits that do not
    /// run out in a run, so each sale moves its counters (the total, the day's and the customer's).
    public static func budgetedPromotion(_ services: AppServices, tenantID: String) async throws -> String {
        let caller = benchCaller(tenantID)
        var request = PromotionRequest(name: "Bench budget 5 %", status: "active", currency: "EUR", priority: -1)
        request.effects = [.init(type: "percent_off_cart", percent: PercentText("5"))]
        request.budget = PromotionBudget(amount: 1_000_000_000_00, redemptions: 1_000_000_000)
        request.limits = PromotionLimits(perCustomer: 1_000_000, perDay: 1_000_000_000)
        let budgeted = request
        return try await services.database.transaction { sql in
            try await PromotionService(services: services).create(on: sql, caller: caller, budgeted, actor: .cli).id
        }
    }

    /// Up to `limit` of the tenant's customers' ids.
    public static func customerIDs(_ services: AppServices, tenantID: String, limit: Int) async throws -> [String] {
        try await services.database.read { sql in
            try await sql.raw("SELECT id FROM customers WHERE tenant_id = \(bind: tenantID) ORDER BY id LIMIT \(bind: limit)").all()
                .map { try $0.decode(column: "id", as: String.self) }
        }
    }

    /// What a promotion's budget counter says was taken, what its ledger account gave, and what its
    /// redemptions add up to: equal when no commit overspent or lost a use.
    public static func budgetBooks(_ services: AppServices, tenantID: String, promotionID: String) async throws
        -> (uses: Int64, discount: Int64, spent: Int64, redemptions: Int64, redeemed: Int64)
    {
        try await services.database.read { sql in
            let counter = try await sql.raw("""
                SELECT uses, discount FROM promotion_usage WHERE tenant_id = \(bind: tenantID) AND promotion_id = \(bind: promotionID) AND scope = 'total'
                """).first()
            let sums = try await sql.raw("""
                SELECT COUNT(*) AS n, CAST(COALESCE(SUM(discount), 0) AS BIGINT) AS d FROM promotion_redemptions
                WHERE tenant_id = \(bind: tenantID) AND promotion_id = \(bind: promotionID)
                """).first()
            let spent = try await LedgerStore(tenantID: tenantID).accounts(on: sql, ids: [PromotionBudgetLedger.accountID(of: promotionID)]).first?
                .balance.debitsPosted ?? 0
            return (try counter?.decode(column: "uses", as: Int64.self) ?? 0, try counter?.decode(column: "discount", as: Int64.self) ?? 0, spent,
                    try sums?.decode(column: "n", as: Int64.self) ?? 0, try sums?.decode(column: "d", as: Int64.self) ?? 0)
        }
    }
}
