import OmniaCore
import SQLKit

/// The demo's promotions, seeded after its benefits: the offers a fashion chain runs — a welcome
/// offer unlocked by the welcome coupon, an abandoned-cart coupon, a gold-tier weekend, 3 for 2 in
/// knitwear and a birthday gift card — so `POST /v1/checkout/evaluate` has something to say.
enum DemoPromotions {
    /// Seeds them once: a tenant with any promotion is left alone. Returns how many were made.
    @discardableResult
    static func seed(_ services: AppServices, caller: Caller) async throws -> Int {
        let tenantID = caller.tenantID
        let exists = try await services.database.read { sql in
            try await sql.raw("SELECT id FROM promotions WHERE tenant_id = \(bind: tenantID) LIMIT 1").all()
        }
        guard exists.isEmpty else { return 0 }
        return try await services.database.transaction { sql in
            let coupons = CouponService(services: services)
            let welcome = try await sql.raw("SELECT id FROM coupon_campaigns WHERE tenant_id = \(bind: tenantID) AND code = \(bind: DemoBenefits.welcomeCode)")
                .first(decodingColumn: "id", as: String.self)
            let comeBack = try await coupons.create(on: sql, tenantID: tenantID, CreateCouponCampaignRequest(name: "Come back: 5 € off", kind: "unique"), actor: .cli)
            _ = try await coupons.generate(on: sql, tenantID: tenantID, campaignID: comeBack.id, GenerateCouponCodesRequest(count: 200), actor: .cli)
            var requests = [
                PromotionRequest(name: "Come back: 5 € off a cart of 30 €", description: "Sent to shoppers who left a cart behind", status: "active",
                                 condition: "cart.subtotal >= 30.00 EUR", effects: [.init(type: "amount_off_cart", amount: 500)], currency: "EUR",
                                 priority: 5, couponCampaignId: comeBack.id),
                PromotionRequest(name: "Gold weekend: 15 %", status: "active",
                                 condition: #"customer.tier == "gold" and context.weekday in ["saturday", "sunday"]"#,
                                 effects: [.init(type: "percent_off_cart", percent: PercentText("15"))], priority: 20, stackingGroup: "tier"),
                PromotionRequest(name: "3 for 2 in knitwear", status: "active",
                                 effects: [.init(type: "cheapest_free", lines: #"category == "women/knitwear""#, every: 3)], priority: 30,
                                 stackingGroup: "multibuy"),
                PromotionRequest(name: "Birthday: a 10 € gift card", description: "In the week before a customer's birthday, on a cart of 20 €",
                                 status: "active", condition: "customer.days_to_birthday <= 7 and cart.subtotal >= 20.00 EUR",
                                 effects: [.init(type: "issue_gift_card", amount: 1_000)], currency: "EUR", priority: 1),
            ]
            if let welcome {
                requests.insert(PromotionRequest(name: "Welcome: 10 % off the first order", status: "active",
                                                 condition: "customer.id == null or customer.first_purchase",
                                                 effects: [.init(type: "percent_off_cart", percent: PercentText("10"))], priority: 10,
                                                 couponCampaignId: welcome), at: 0)
            }
            let promotions = PromotionService(services: services)
            for request in requests { _ = try await promotions.create(on: sql, caller: caller, request, actor: .cli) }
            return requests.count
        }
    }
}
