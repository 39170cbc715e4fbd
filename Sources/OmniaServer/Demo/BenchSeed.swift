import Foundation
import OmniaCore
import SQLKit

/// Bulk data for `omnia bench`: written straight to the tables in large batches, because going
/// through the API would take longer than the measurement itself.
public enum BenchSeed {
    /// `count` customers, each holding two identifiers: `bench-N@example.com` and loyalty card `70000000 + N`.
    public static func customers(_ services: AppServices, tenantID: String, count: Int) async throws {
        let batch = 500
        let perTransaction = 50_000
        let now = services.nowMilliseconds
        var start = 0
        while start < count {
            let end = min(count, start + perTransaction)
            let range = start..<end
            try await services.database.transaction { sql in
                var index = range.lowerBound
                while index < range.upperBound {
                    let upper = min(range.upperBound, index + batch)
                    var customers: SQLQueryString = "INSERT INTO customers (tenant_id, id, canonical_id, attributes, created_at, updated_at) VALUES "
                    var identifiers: SQLQueryString = "INSERT INTO customer_identifiers (tenant_id, kind, value, customer_id, created_at) VALUES "
                    for number in index..<upper {
                        let id = services.ids.make(.customer)
                        let separator = number == index ? "" : ", "
                        customers += "\(unsafeRaw: separator)(\(bind: tenantID), \(bind: id), \(bind: id), '{}', \(bind: now), \(bind: now))"
                        identifiers += """
                            \(unsafeRaw: separator)(\(bind: tenantID), 'email', \(bind: email(number)), \(bind: id), \(bind: now)), \
                            (\(bind: tenantID), 'loyalty_card', \(bind: card(number)), \(bind: id), \(bind: now))
                            """
                    }
                    try await sql.raw(customers).run()
                    try await sql.raw(identifiers).run()
                    index = upper
                }
            }
            start = end
        }
        await services.database.refreshPlannerStatistics(["customers", "customer_identifiers"], logger: services.logger)
    }

    /// One customer (loyalty card `69999999`) with `count` five-line sales across the demo's channels,
    /// recorded through the real service so the 360 aggregates are exactly what the API would keep.
    /// Returns the customer's id.
    public static func customerWithSales(_ services: AppServices, tenantID: String, count: Int) async throws -> String {
        let caller = Caller(tenantID: tenantID, keyID: "bench", scopes: [.admin], channelID: nil, locationID: nil, tenantCurrency: "EUR",
                            tenantTimeZone: "Europe/Madrid", acceptedCurrencies: ["EUR"], identityPolicy: .defaults(country: "ES"))
        let channels = ["store-madrid-01", "store-barcelona-01", "web", "app", "call-center"]
        let categories = ["women/knitwear", "women/dresses", "men/shoes", "men/shirts", "home/kitchen", "kids/toys", "accessories"]
        let start = services.nowMilliseconds - Int64(count) * 3_600_000
        var customerID = ""
        var number = 0
        while number < count {
            let batchEnd = min(count, number + 200)
            let range = number..<batchEnd
            customerID = try await services.database.transaction { sql in
                var id = ""
                for index in range {
                    let lines = (0..<5).map { line in
                        LineInput(sku: "SKU-\((index + line) % 97)", name: "Item \(line)", category: categories[(index + line) % categories.count],
                                  quantity: Int64(1 + line % 2), unitPrice: Int64(995 + 100 * line))
                    }
                    let request = RecordTransactionRequest(
                        externalId: "seed-\(index)", channel: channels[index % channels.count],
                        occurredAt: Timestamp.text(start + Int64(index) * 3_600_000), currency: "EUR", customer: ["loyalty_card": "69999999"],
                        lines: lines)
                    id = try await services.transactions.record(on: sql, caller: caller, request, actor: .cli).transaction.customerId ?? ""
                }
                return id
            }
            number = batchEnd
        }
        await services.database.refreshPlannerStatistics(["transactions", "transaction_lines", "customer_channel_stats", "customer_categories",
                                                          "customer_location_stats"], vacuum: true, logger: services.logger)
        return customerID
    }

    /// Customers with the profiles of `records` and their email and phone as identifiers (a value
    /// an earlier record already holds is left out: one value belongs to one customer). Returns the
    /// customer id of each record, by record id.
    public static func profiles(_ services: AppServices, tenantID: String, _ records: [RecordLinkage.Record]) async throws -> [String: String] {
        let now = services.nowMilliseconds
        var taken = Set<String>()
        var customerIDs: [String: String] = [:]
        for batch in stride(from: 0, to: records.count, by: 500).map({ records[$0..<min($0 + 500, records.count)] }) {
            var customers: SQLQueryString = """
                INSERT INTO customers (tenant_id, id, canonical_id, first_name, last_name, birth_date, address_line1, postcode, attributes, created_at, updated_at) VALUES
                """
            var identifiers: [SQLQueryString] = []
            for (index, record) in batch.enumerated() {
                let id = services.ids.make(.customer)
                customerIDs[record.id] = id
                customers += """
                    \(unsafeRaw: index == 0 ? " " : ", ")(\(bind: tenantID), \(bind: id), \(bind: id), \(bind: record.firstName), \(bind: record.lastName), \
                    \(bind: record.birthDate), \(bind: record.address), \(bind: record.postcode), '{}', \(bind: now), \(bind: now))
                    """
                for (kind, value) in [("email", record.email), ("phone", record.phone)] {
                    guard let value, taken.insert(kind + value).inserted else { continue }
                    identifiers.append("(\(bind: tenantID), \(bind: kind), \(bind: value), \(bind: id), \(bind: now))")
                }
            }
            try await services.database.transaction { [customers, identifiers] sql in
                try await sql.raw(customers).run()
                guard !identifiers.isEmpty else { return }
                var insert: SQLQueryString = "INSERT INTO customer_identifiers (tenant_id, kind, value, customer_id, created_at) VALUES "
                for (index, row) in identifiers.enumerated() { insert += "\(unsafeRaw: index == 0 ? "" : ", ")\(row)" }
                try await sql.raw(insert).run()
            }
        }
        await services.database.refreshPlannerStatistics(["customers", "customer_identifiers"], logger: services.logger)
        return customerIDs
    }

    /// `count` active gift cards of `amount` cents each, issued through the real service (so each
    /// has its ledger account and load); returns their ids.
    public static func giftCards(_ services: AppServices, tenantID: String, count: Int, amount: Int64) async throws -> [String] {
        let caller = benchCaller(tenantID)
        let giftCards = GiftCardService(services: services)
        var ids: [String] = []
        while ids.count < count {
            let batch = min(500, count - ids.count)
            ids += try await services.database.transaction { sql in
                var issued: [String] = []
                for _ in 0..<batch {
                    issued.append(try await giftCards.issue(on: sql, caller: caller, IssueGiftCardRequest(amount: amount), actor: .cli).id)
                }
                return issued
            }
        }
        await services.database.refreshPlannerStatistics(["gift_cards", "ledger_accounts", "ledger_transfers"], logger: services.logger)
        return ids
    }

    /// A card's ledger figures for the benchmark's books check: its posted balance, what is
    /// available, and what redemptions took from it (their count and sum).
    public static func cardBooks(_ services: AppServices, tenantID: String, cardID: String) async throws
        -> (balance: Int64, available: Int64, redemptions: Int, redeemed: Int64) {
        try await services.database.read { sql in
            guard let account = try await LedgerStore(tenantID: tenantID).accounts(on: sql, ids: [cardID]).first else { throw Problem.notFound("gift card") }
            let row = try await sql.raw("""
                SELECT COUNT(*) AS n, CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS total FROM checkout_hold_parts
                WHERE tenant_id = \(bind: tenantID) AND instrument_id = \(bind: cardID)
                """).all().first
            return (account.balance.posted, account.balance.available, try row?.decode(column: "n", as: Int.self) ?? 0,
                    try row?.decode(column: "total", as: Int64.self) ?? 0)
        }
    }

    static func benchCaller(_ tenantID: String) -> Caller {
        Caller(tenantID: tenantID, keyID: "bench", scopes: [.admin], channelID: nil, locationID: nil, tenantCurrency: "EUR",
               tenantTimeZone: "Europe/Madrid", acceptedCurrencies: ["EUR"], identityPolicy: .defaults(country: "ES"))
    }

    /// A unique coupon campaign with `codes` generated codes, in one transaction (what
    /// `POST /v1/coupon_campaigns/{id}/codes` does); returns the campaign's id.
    public static func couponCampaign(_ services: AppServices, tenantID: String, codes: Int) async throws -> String {
        let coupons = CouponService(services: services)
        return try await services.database.transaction { sql in
            let campaign = try await coupons.create(on: sql, tenantID: tenantID, CreateCouponCampaignRequest(name: "Bench", kind: "unique"), actor: .cli)
            _ = try await coupons.generate(on: sql, tenantID: tenantID, campaignID: campaign.id, GenerateCouponCodesRequest(count: codes), actor: .cli)
            return campaign.id
        }
    }

    /// Up to `limit` of a campaign's codes in their printed form.
    public static func couponCodes(_ services: AppServices, tenantID: String, campaignID: String, limit: Int) async throws -> [String] {
        try await services.database.read { sql in
            try await CouponService(services: services).codes(on: sql, tenantID: tenantID, campaignID: campaignID, after: nil, limit: limit)
                .map { CouponCode.display($0.code) }
        }
    }

    /// A customer whose wallet holds `cards` gift cards, store credit, `coupons` assigned coupons and
    /// points in a programme; returns the customer's id.
    public static func walletCustomer(_ services: AppServices, tenantID: String, cards: Int, coupons: Int) async throws -> String {
        let caller = benchCaller(tenantID)
        let campaignID = try await couponCampaign(services, tenantID: tenantID, codes: coupons)
        let codes = try await couponCodes(services, tenantID: tenantID, campaignID: campaignID, limit: coupons)
        return try await services.database.transaction { sql in
            let customerID = try await anonymousCustomer(on: sql, services: services, tenantID: tenantID)
            for _ in 0..<cards {
                _ = try await GiftCardService(services: services).issue(on: sql, caller: caller, IssueGiftCardRequest(amount: 5_000, customerId: customerID),
                                                                        actor: .cli)
            }
            _ = try await StoreCreditService(services: services).issue(on: sql, caller: caller, customerID: customerID,
                                                                       IssueStoreCreditRequest(amount: 2_500, reason: "bench"), actor: .cli)
            for code in codes {
                _ = try await CouponService(services: services).assign(on: sql, tenantID: tenantID, AssignCouponRequest(code: code, customerId: customerID),
                                                                        actor: .cli)
            }
            try await loyaltyProgramme(on: sql, services: services, caller: caller)
            _ = try await LoyaltyService(services: services).adjust(on: sql, caller: caller, customerID: customerID,
                                                                    LoyaltyAdjustmentRequest(points: 1_000, reason: "bench"), actor: .cli)
            return customerID
        }
    }

    /// A loyalty programme in EUR and a member holding `points` (an agent's adjustment): the
    /// balance `redemptions.points` spends from every client at once.
    public static func pointsMember(_ services: AppServices, tenantID: String, points: Int64) async throws -> (customerID: String, accountID: String) {
        let caller = benchCaller(tenantID)
        return try await services.database.transaction { sql in
            try await loyaltyProgramme(on: sql, services: services, caller: caller)
            let customerID = try await anonymousCustomer(on: sql, services: services, tenantID: tenantID)
            let membership = try await LoyaltyService(services: services).adjust(on: sql, caller: caller, customerID: customerID,
                                                                                  LoyaltyAdjustmentRequest(points: points, reason: "bench"), actor: .cli)
            return (customerID, membership.id)
        }
    }

    /// The tenant's loyalty programme in EUR, as a retailer runs one: two tiers, double points on the
    /// web. Sales of known customers then earn, as they would in production.
    public static func loyaltyProgramme(_ services: AppServices, tenantID: String) async throws {
        try await services.database.transaction { sql in try await loyaltyProgramme(on: sql, services: services, caller: benchCaller(tenantID)) }
    }

    private static func loyaltyProgramme(on sql: any SQLDatabase, services: AppServices, caller: Caller) async throws {
        let request = LoyaltyProgrammeRequest(
            name: "Bench Rewards", currency: "EUR",
            tiers: [LoyaltyTierInput(code: "member", name: "Member", threshold: 0), LoyaltyTierInput(code: "gold", name: "Gold", threshold: 2_000, earnPercent: 150)],
            earnRules: [EarnRuleInput(name: "Double points online", channels: ["web"], earnPercent: 200)])
        _ = try await LoyaltyProgrammeService(services: services).create(on: sql, caller: caller, request, actor: .cli)
    }

    /// A customer with no profile, written directly.
    private static func anonymousCustomer(on sql: any SQLDatabase, services: AppServices, tenantID: String) async throws -> String {
        let customerID = services.ids.make(.customer)
        let now = services.nowMilliseconds
        try await sql.raw("""
            INSERT INTO customers (tenant_id, id, canonical_id, attributes, created_at, updated_at)
            VALUES (\(bind: tenantID), \(bind: customerID), \(bind: customerID), '{}', \(bind: now), \(bind: now))
            """).run()
        return customerID
    }

    public static func email(_ number: Int) -> String { "bench-\(number)@example.com" }
    public static func card(_ number: Int) -> String { String(70_000_000 + number) }
}
