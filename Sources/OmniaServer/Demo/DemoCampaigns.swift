import OmniaCore
import SQLKit

/// The demo's campaigns, seeded after its promotions: the abandoned-cart reminder with the "Come
/// back" coupon, birthday points, and a win-back audience left as a draft to try — with email
/// consent from two customers in three, so messages have someone to go to.
enum DemoCampaigns {
    /// Seeds them once: a tenant with any campaign is left alone. Returns how many were made.
    @discardableResult
    static func seed(_ services: AppServices, caller: Caller) async throws -> Int {
        let tenantID = caller.tenantID
        let exists = try await services.database.read { sql in
            try await sql.raw("SELECT id FROM campaigns WHERE tenant_id = \(bind: tenantID) LIMIT 1").all()
        }
        guard exists.isEmpty else { return 0 }
        return try await services.database.transaction { sql in
            let comeBack = try await sql.raw("""
                SELECT id FROM coupon_campaigns WHERE tenant_id = \(bind: tenantID) AND kind = 'unique' AND name LIKE 'Come back%' ORDER BY id LIMIT 1
                """).first(decodingColumn: "id", as: String.self)
            let now = services.nowMilliseconds
            // About two customers in three (by the last character of their id, 21 of 32) said yes to email when they signed up.
            try await sql.raw("""
                INSERT INTO customer_consents (tenant_id, customer_id, channel, granted, source, updated_at)
                SELECT tenant_id, id, 'email', 1, 'demo_signup', \(bind: now) FROM customers
                WHERE tenant_id = \(bind: tenantID) AND canonical_id = id
                  AND SUBSTR(id, LENGTH(id), 1) NOT IN ('0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a')
                ON CONFLICT DO NOTHING
                """).run()
            var requests: [CampaignRequest] = [
                CampaignRequest(name: "Happy birthday: 200 points", status: "active", kind: "triggered", trigger: CampaignTrigger(event: "birthday"),
                                controlPercent: 10, actions: [CampaignActionInput(type: "grant_points", points: 200),
                                                              CampaignActionInput(type: "message", template: "Happy birthday, {{first_name}}! 200 points are waiting for you.")]),
                CampaignRequest(name: "We miss you", description: "Customers of two orders or more: try it by activating it", status: "draft",
                                audience: "customer.orders >= 2", controlPercent: 10, actions: [CampaignActionInput(type: "grant_points", points: 100)],
                                frequencyCap: CampaignFrequencyCap(max: 1, perDays: 90)),
            ]
            if let comeBack {
                requests.insert(CampaignRequest(
                    name: "Forgot something?", description: "Two hours after a cart is left behind: the Come back coupon", status: "active",
                    kind: "triggered", trigger: CampaignTrigger(event: "cart_abandoned", delayMinutes: 120), controlPercent: 10,
                    actions: [CampaignActionInput(type: "assign_coupon", couponCampaignId: comeBack),
                              CampaignActionInput(type: "message", template: "Hi {{first_name}}, your cart is waiting: {{coupon_code}} takes 5 € off.",
                                                  channels: ["whatsapp", "email"])],
                    frequencyCap: CampaignFrequencyCap(max: 1, perDays: 14), quietHours: CampaignQuietHours(from: "21:00", to: "09:00")), at: 0)
            }
            let campaigns = CampaignService(services: services)
            for request in requests { _ = try await campaigns.create(on: sql, caller: caller, request, actor: .cli) }
            return requests.count
        }
    }
}
