import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import OmniaCore
@testable import OmniaServer
import SQLKit
import Testing

/// RFM scores and lifetime value through the real router, on both databases: a worked RFM example,
/// a lifetime-value fit on a small history with its holdout check, predictions over another
/// horizon, and the errors of too little history — the previous model kept.
@Suite("RFM and lifetime value")
struct CustomerScoresTests {
    @Test("RFM scores five customers into quintiles and the named groups, and segments read them", arguments: TestBackend.available)
    func rfm(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            // (orders on these days ago, amount of each): distinct on every measure, so each takes one quintile.
            let plan: [(name: String, days: [Double], amount: Int)] = [
                ("a", [1, 2, 3, 4, 5], 10_000), ("b", [3, 4, 5, 6], 5_000), ("c", [10, 11, 12], 3_000), ("d", [30, 31], 2_000), ("e", [60], 1_000),
            ]
            var ids: [String: String] = [:]
            for customer in plan {
                let id = try await LoyaltyAPITests.customer(client, app, "\(customer.name)@example.com")
                ids[customer.name] = id
                for (index, day) in customer.days.enumerated() {
                    try await LoyaltyAPITests.sale(client, app, "\(customer.name)-\(index)", customer: id, lines: [("ITEM", "women/knitwear", 1, customer.amount)],
                                                   daysAgo: day)
                }
            }
            _ = try await LoyaltyAPITests.customer(client, app, "never@example.com")
            let missing = try await client.call(.get, "/v1/analytics/rfm", key: app.adminKey)
            #expect(missing.status == .notFound && missing.problemCode == "not_computed", "\(missing.text)")

            let run = try await client.call(.post, "/v1/analytics/rfm/runs", key: app.adminKey, json: [String: any Sendable]())
            #expect(run.status == .ok && run.object["customers"] as? Int == 5, "only buyers are scored: \(run.text)")
            let groups = Dictionary(uniqueKeysWithValues: (run.object["groups"] as? [[String: Any]] ?? []).map { ($0["group"] as? String ?? "", $0["customers"] as? Int ?? 0) })
            #expect(groups["champions"] == 1 && groups["loyal_customers"] == 1 && groups["need_attention"] == 1 && groups["hibernating"] == 1
                    && groups["lost"] == 1, "\(groups)")
            let quintiles = run.object["quintiles"] as? [[String: Any]] ?? []
            let top = quintiles.first { $0["score"] as? Int == 5 }
            #expect(top?["recency_days_at_most"] as? Int == 1 && top?["frequency_at_least"] as? Int == 5 && top?["monetary_at_least"] as? Int == 50_000,
                    "\(quintiles)")

            let predictions = try await client.call(.get, "/v1/customers/\(ids["c"]!)/profile", key: app.adminKey)
            let rfm = predictions.object["rfm"] as? [String: Any]
            #expect(rfm?["cell"] as? String == "333" && rfm?["group"] as? String == "need_attention" && rfm?["recency_score"] as? Int == 3, "\(predictions.text)")
            let estimate = try await client.call(.post, "/v1/segments/estimate", key: app.adminKey, json: [
                "rule": #"customer.rfm.group in ["champions", "loyal_customers"] or customer.rfm.recency_score == 1"#,
            ])
            #expect(estimate.object["size"] as? Int == 3 && (estimate.object["sample"] as? [String])?.sorted() == [ids["a"]!, ids["b"]!, ids["e"]!].sorted(),
                    "\(estimate.text)")
            let stored = try await client.call(.get, "/v1/analytics/rfm", key: app.adminKey)
            #expect(stored.object["customers"] as? Int == 5, "\(stored.text)")
        }
    }

    /// The public CDNOW sample (2,357 customers' purchases from 1997-01-01 to 1998-06-30, moved to 2025–2026), as NDJSON sales of the web shop, each
    /// customer by e-mail; the dollar values in cents.
    static func cdnow() throws -> String {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("OmniaCoreTests/Fixtures/CDNOW_sample.txt")
        var lines: [String] = []
        for (number, line) in try String(contentsOf: file, encoding: .utf8).split(whereSeparator: \.isNewline).enumerated() {
            let fields = line.split(whereSeparator: \.isWhitespace)
            guard fields.count == 5, let cents = Double(fields[4]).map({ Int(($0 * 100).rounded()) }) else { continue }
            let date = fields[2]
            // 28 years later (sales before 2000 are refused): the same weekdays and no leap day in between.
            let day = "\(Int(date.prefix(4))! + 28)-\(date.dropFirst(4).prefix(2))-\(date.suffix(2))T12:00:00Z"
            lines.append(#"{"external_id":"CD-\#(number)","channel":"web","occurred_at":"\#(day)","currency":"EUR","customer":{"email":"cdnow-\#(fields[0])@example.com"},"lines":[{"sku":"CD","quantity":1,"unit_price":\#(cents)}]}"#)
        }
        return lines.joined(separator: "\n")
    }

    /// The app's services with the clock at `time` (RFC 3339): a run as of that day.
    private static func at(_ app: TestApp, _ time: String) throws -> AppServices {
        let date = try #require(ISO8601DateFormatter().date(from: time))
        return AppServices(config: app.services.config, database: app.services.database, logger: Logger(label: "at"), now: { date })
    }

    @Test("lifetime value fitted through the API on the CDNOW sample reproduces the published parameters, and a failed fit keeps the model",
          arguments: TestBackend.available)
    func lifetimeValue(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let few = try await LoyaltyAPITests.customer(client, app, "few@example.com")
            try await LoyaltyAPITests.sale(client, app, "FEW-1", customer: few, lines: [("ITEM", "women/knitwear", 1, 1_000)])
            let tooLittle = try await client.call(.post, "/v1/analytics/clv/runs", key: app.adminKey, json: [String: any Sendable]())
            #expect(tooLittle.status == .unprocessableContent && tooLittle.problemCode == "insufficient_data", "\(tooLittle.text)")
            #expect(tooLittle.text.contains("at least 20 customers"), "says what is needed: \(tooLittle.text)")
            let bad = try await client.call(.post, "/v1/analytics/clv/runs", key: app.adminKey, json: ["horizon_days": 10, "annual_discount_rate": 2])
            #expect(bad.fieldCodes == ["horizon_days": "out_of_range", "annual_discount_rate": "out_of_range"], "\(bad.text)")

            let imported = try await client.call(.post, "/v1/transactions/bulk", key: app.adminKey, rawBody: try Self.cdnow(),
                                                 headers: [.contentType: "application/x-ndjson"])
            #expect(imported.object["created"] as? Int == 6_919, "\(imported.text.prefix(500))")

            // As of 2026-06-30 (1998), with the 39 weeks to 2025-09-30 (1997) as calibration and the rest held out (Fader, Hardie & Lee 2005).
            let report = try #require(try await LifetimeValueService(services: try Self.at(app, "2026-06-30T12:00:00Z"))
                .run(tenantID: app.tenantID, LifetimeValueRunRequest(horizonDays: 273, holdoutDays: 273)))
            let holdout = try #require(report.holdout)
            #expect(holdout.calibrationEnd == "2025-09-30" && holdout.customers == 2_357 && holdout.actualPurchases == 1_882, "\(holdout)")
            #expect(abs(holdout.predictedPurchases - 1_653.4) < 1, "the published model's forecast of the holdout: \(holdout)")

            // Fitted on the calibration period alone: the published parameters to three significant digits.
            let run = try #require(try await LifetimeValueService(services: try Self.at(app, "2025-09-30T12:00:00Z"))
                .run(tenantID: app.tenantID, LifetimeValueRunRequest(horizonDays: 273)))
            /// Equal to three significant digits.
            func close(_ value: Double, _ published: Double) -> Bool {
                let scale = pow(10, 2 - floor(log10(published)))
                return (value * scale).rounded() == (published * scale).rounded()
            }
            let model = run.purchaseModel
            #expect(close(model.r, 0.243) && close(model.alpha, 4.414) && close(model.a, 0.793) && close(model.b, 2.426), "\(model)")
            #expect(run.purchaseFit.converged && abs(run.purchaseFit.logLikelihood - -9_582.4) < 0.1, "\(run.purchaseFit)")
            let spend = run.spendModel
            #expect(close(spend.p, 6.25) && close(spend.q, 3.74) && close(spend.gamma / 100, 15.44), "γ in cents: \(spend)")
            #expect(run.spendFit.customers == 946 && run.distribution.customers == 2_357)

            // Customer 1 of the sample (00004 in the master file: 2 repeat purchases, the last at week 30.43, observed 38.86 weeks): 1.226 purchases expected in the next 39 weeks.
            let customerID = try #require(try await app.services.database.read { sql in
                try await sql.raw("SELECT customer_id FROM customer_identifiers WHERE kind = 'email' AND value = 'cdnow-00004@example.com'")
                    .first(decodingColumn: "customer_id", as: String.self)
            })
            let predicted = try await client.call(.get, "/v1/customers/\(customerID)/predictions", key: app.adminKey)
            #expect(predicted.object["repeat_purchases"] as? Int == 2, "\(predicted.text)")
            #expect(abs((predicted.object["expected_purchases"] as? Double ?? 0) - 1.226) < 0.002, "\(predicted.text)")
            #expect(abs((predicted.object["probability_alive"] as? Double ?? 0) - 0.7266) < 0.002, "\(predicted.text)")
            let longer = try await client.call(.get, "/v1/customers/\(customerID)/predictions?horizon_days=730&annual_discount_rate=0", key: app.adminKey)
            #expect((longer.object["clv"] as? Int ?? 0) > (predicted.object["clv"] as? Int ?? 0) && longer.object["horizon_days"] as? Int == 730, "\(longer.text)")
            let badHorizon = try await client.call(.get, "/v1/customers/\(customerID)/predictions?horizon_days=abc", key: app.adminKey)
            #expect(badHorizon.fieldCodes == ["horizon_days": "out_of_range"], "\(badHorizon.text)")
            let profile = try await client.call(.get, "/v1/customers/\(customerID)/profile", key: app.adminKey)
            #expect((profile.object["clv"] as? [String: Any])?["value"] as? Int == predicted.object["clv"] as? Int, "\(profile.text)")

            // A holdout that leaves nothing to fit on fails; the model of the run before stays, with the error.
            let failed = try await client.call(.post, "/v1/analytics/clv/runs", key: app.adminKey, json: ["holdout_days": 730])
            #expect(failed.status == .unprocessableContent && failed.problemCode == "insufficient_data", "\(failed.text)")
            let stored = try await client.call(.get, "/v1/analytics/clv", key: app.adminKey)
            #expect(((stored.object["purchase_model"] as? [String: Any])?["r"] as? Double).map { abs($0 - model.r) < 1e-12 } == true, "\(stored.text)")
            #expect((stored.object["last_error"] as? String)?.contains("not enough data") == true, "\(stored.text)")
        }
    }
}
