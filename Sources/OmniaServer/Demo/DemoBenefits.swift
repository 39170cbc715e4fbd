import Foundation
import OmniaCore
import SQLKit

/// The demo's benefits, seeded after its history: gift cards held by customers (some with a PIN,
/// some partly spent at a till or online), store credit given by an agent, a generic welcome
/// code, and a unique campaign whose codes are partly assigned — so the wallet, the timeline and
/// the ledger have something to show.
enum DemoBenefits {
    static let welcomeCode = "WELCOME10"

    /// The demo's loyalty programme: a point per euro (worth a cent), double on the web and in the
    /// app, three tiers over a year's window, points expiring after a year. Once per tenant.
    static func loyaltyProgramme(_ services: AppServices, caller: Caller) async throws {
        let exists = try await services.database.read { sql in
            try await sql.raw("SELECT id FROM loyalty_programmes WHERE tenant_id = \(bind: caller.tenantID)").all()
        }
        guard exists.isEmpty else { return }
        let request = LoyaltyProgrammeRequest(
            name: "Moda Club", currency: "EUR", pointsExpireAfterDays: 365, qualificationWindowDays: 365,
            tiers: [LoyaltyTierInput(code: "member", name: "Member", threshold: 0), LoyaltyTierInput(code: "silver", name: "Silver", threshold: 500, earnPercent: 125),
                    LoyaltyTierInput(code: "gold", name: "Gold", threshold: 1_500, earnPercent: 150)],
            earnRules: [EarnRuleInput(name: "Double points online", channels: ["web", "app"], earnPercent: 200)])
        _ = try await services.database.transaction { sql in
            try await LoyaltyProgrammeService(services: services).create(on: sql, caller: caller, request, actor: .cli)
        }
    }

    /// Seeds them once: a tenant whose welcome campaign exists is left alone. Returns how many gift cards were issued.
    static func seed(_ services: AppServices, tenantID: String, caller: Caller, random: inout SplitMix64) async throws -> Int {
        let exists = try await services.database.read { sql in
            try await sql.raw("SELECT id FROM coupon_campaigns WHERE tenant_id = \(bind: tenantID) AND code = \(bind: Self.welcomeCode)").all()
        }
        guard exists.isEmpty else { return 0 }
        let customers = try await services.database.read { sql in
            try await sql.raw("""
                SELECT id FROM customers WHERE tenant_id = \(bind: tenantID) AND id = canonical_id ORDER BY id LIMIT 200
                """).all(decodingColumn: "id", as: String.self)
        }
        let giftCards = GiftCardService(services: services)
        let holds = CheckoutHoldService(services: services)
        let coupons = CouponService(services: services)
        let seed = random.next()
        return try await services.database.transaction { sql in
            var random = SplitMix64(seed: seed)
            var issued = 0
            let welcome = CreateCouponCampaignRequest(name: "Welcome 10 %", kind: "generic", code: Self.welcomeCode, totalLimit: 10_000, perCustomerLimit: 1)
            _ = try await coupons.create(on: sql, tenantID: tenantID, welcome, actor: .cli)
            let spring = try await coupons.create(on: sql, tenantID: tenantID, CreateCouponCampaignRequest(name: "Spring returners", kind: "unique"), actor: .cli)
            _ = try await coupons.generate(on: sql, tenantID: tenantID, campaignID: spring.id, GenerateCouponCodesRequest(count: 1_000), actor: .cli)
            let codes = try await coupons.codes(on: sql, tenantID: tenantID, campaignID: spring.id, after: nil, limit: 100)
            for (index, customerID) in customers.enumerated() {
                if index < codes.count {
                    _ = try await coupons.assign(on: sql, tenantID: tenantID, AssignCouponRequest(code: codes[index].code, customerId: customerID), actor: .cli)
                }
                guard index % 2 == 0 else { continue }
                let amount = Int64(2_500 + 500 * Int(random.next() % 16))
                let card = try await giftCards.issue(on: sql, caller: caller, IssueGiftCardRequest(amount: amount, customerId: customerID,
                                                                                                   pin: index % 4 == 0 ? "2468" : nil), actor: .cli)
                issued += 1
                if index % 3 == 0 {
                    // Part of it spent, at a till or online.
                    let channel = index % 6 == 0 ? "store-madrid-01" : "web"
                    _ = try await holds.create(on: sql, caller: caller, CreateHoldRequest(
                        channel: channel, customerId: customerID, reference: "DEMO-GC-\(index)",
                        instruments: [InstrumentInput(type: "gift_card", id: card.id, amount: amount / 2)]), kind: "redemption", cardIDsByCode: [:], actor: .cli)
                }
                if index % 10 == 0 {
                    _ = try await StoreCreditService(services: services).issue(on: sql, caller: caller, customerID: customerID,
                                                                               IssueStoreCreditRequest(amount: 1_500, reason: "late delivery"), actor: .cli)
                }
            }
            return issued
        }
    }
}
