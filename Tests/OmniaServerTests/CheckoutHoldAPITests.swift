import Foundation
import HTTPTypes
import HummingbirdTesting
import OmniaCore
@testable import OmniaServer
import SQLKit
import Testing

/// Holds and redemptions through the real router, on both databases: a card sold online is held
/// and captured at a till, refunded, redeemed at once; a checkout over several cards is all or
/// nothing; holds resolve once and expire; refusals are precise and change nothing.
@Suite("Checkout holds and redemptions")
struct CheckoutHoldAPITests {
    /// A web key, a till key, the sales fixtures (a Madrid store till and a web shop) and a card of `amount` cents.
    private struct Setup: Sendable {
        let web: String
        let till: String
        let fixtures: SalesFixtures
    }

    private static func setup(_ app: TestApp, _ client: any TestClientProtocol) async throws -> Setup {
        Setup(web: try await app.key(scopes: ["ecommerce"]), till: try await app.key(scopes: ["pos"]), fixtures: try await SalesFixtures.make(app, client))
    }

    private static func issue(_ client: any TestClientProtocol, key: String, _ body: [String: any Sendable]) async throws -> (id: String, code: String) {
        let issued = try await client.call(.post, "/v1/gift_cards", key: key, json: body)
        #expect(issued.status == .created, "\(issued.text)")
        return (try #require(issued.object["id"] as? String), try #require(issued.object["code"] as? String))
    }

    private static func card(_ client: any TestClientProtocol, key: String, _ id: String) async throws -> (balance: Int?, available: Int?) {
        let card = try await client.call(.get, "/v1/gift_cards/\(id)", key: key)
        return (card.object["balance"] as? Int, card.object["available"] as? Int)
    }

    private static func part(type: String = "gift_card", id: String? = nil, code: String? = nil, pin: String? = nil, amount: Int) -> [String: any Sendable] {
        var part: [String: any Sendable] = ["type": type, "amount": amount]
        if let id { part["id"] = id }
        if let code { part["code"] = code }
        if let pin { part["pin"] = pin }
        return part
    }

    private static func verify(_ app: TestApp) async throws {
        #expect(try await OperatorTools(services: app.services).verifyLedger(tenant: app.tenantID).flatMap(\.findings).isEmpty)
    }

    @Test("a card sold online is held by code and PIN at a till, captured in part, refunded and redeemed", arguments: TestBackend.available)
    func lifecycle(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let setup = try await Self.setup(app, client)
            let card = try await Self.issue(client, key: setup.web, ["amount": 5_000, "pin": "2468"])

            let held = try await client.call(.post, "/v1/holds", key: setup.till, json: [
                "channel": "store-madrid-01", "reference": "basket-17",
                "instruments": [Self.part(code: card.code, pin: "2468", amount: 2_000)],
            ])
            #expect(held.status == .created, "\(held.text)")
            let holdID = try #require(held.object["id"] as? String)
            #expect(held.object["status"] as? String == "open" && held.object["kind"] as? String == "hold")
            #expect(held.object["country"] == nil, "no card asked for the country")
            let heldCard = try await Self.card(client, key: setup.till, card.id)
            #expect(heldCard.balance == 5_000 && heldCard.available == 3_000)

            let captured = try await client.call(.post, "/v1/holds/\(holdID)/capture", key: setup.till, json: ["amount": 1_500])
            #expect(captured.status == .ok && captured.object["status"] as? String == "captured", "\(captured.text)")
            let part = try #require((captured.object["parts"] as? [[String: Any]])?.first)
            #expect(part["amount"] as? Int == 2_000 && part["captured"] as? Int == 1_500 && part["instrument_id"] as? String == card.id)
            let afterCapture = try await Self.card(client, key: setup.till, card.id)
            #expect(afterCapture.balance == 3_500 && afterCapture.available == 3_500, "the 500 not captured is released")
            let again = try await client.call(.post, "/v1/holds/\(holdID)/capture", key: setup.till, json: [:])
            #expect(again.status == .conflict && again.problemCode == "hold_already_captured")
            let void = try await client.call(.post, "/v1/holds/\(holdID)/void", key: setup.till, json: [:])
            #expect(void.status == .conflict && void.problemCode == "hold_already_captured")

            let refunded = try await client.call(.post, "/v1/holds/\(holdID)/refund", key: setup.web, json: ["amount": 500, "reason": "returned scarf"])
            #expect(refunded.status == .ok && (refunded.object["parts"] as? [[String: Any]])?.first?["refunded"] as? Int == 500, "\(refunded.text)")
            #expect(try await Self.card(client, key: setup.till, card.id).balance == 4_000)
            let tooMuch = try await client.call(.post, "/v1/holds/\(holdID)/refund", key: setup.web, json: ["amount": 1_001])
            #expect(tooMuch.status == .conflict && tooMuch.problemCode == "exceeds_refundable" && tooMuch.object["refundable"] as? Int == 1_000)

            let redeemed = try await client.call(.post, "/v1/redemptions", key: setup.web, json: [
                "channel": "web", "instruments": [Self.part(id: card.id, amount: 1_000)],
            ])
            #expect(redeemed.status == .created && redeemed.object["status"] as? String == "captured" && redeemed.object["kind"] as? String == "redemption",
                    "\(redeemed.text)")
            #expect(redeemed.object["expires_at"] == nil)
            #expect(try await Self.card(client, key: setup.till, card.id).balance == 3_000)
            let redemptionID = try #require(redeemed.object["id"] as? String)
            let fetched = try await client.call(.get, "/v1/holds/\(redemptionID)", key: setup.till)
            #expect(fetched.status == .ok && fetched.object["channel_id"] as? String == setup.fixtures.webChannelID)

            let types = try await app.services.database.read { sql in
                try await sql.raw("SELECT type FROM events WHERE type LIKE 'hold.%' OR type LIKE 'redemption.%' ORDER BY id").all()
                    .map { try $0.decode(column: "type", as: String.self) }
            }
            #expect(types == ["hold.created", "hold.captured", "hold.refunded", "redemption.created"])
            let other = try await app.otherTenant()
            #expect(try await client.call(.get, "/v1/holds/\(holdID)", key: other.key).status == .notFound, "another tenant never sees the hold")
            try await Self.verify(app)
        }
    }

    @Test("a checkout over several cards is all or nothing, and a void releases every card", arguments: TestBackend.available)
    func severalCards(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let setup = try await Self.setup(app, client)
            let first = try await Self.issue(client, key: setup.web, ["amount": 1_000])
            let second = try await Self.issue(client, key: setup.web, ["amount": 500])
            let refused = try await client.call(.post, "/v1/holds", key: setup.web, json: [
                "channel": "web", "instruments": [Self.part(id: first.id, amount: 800), Self.part(id: second.id, amount: 600)],
            ])
            #expect(refused.status == .conflict && refused.problemCode == "insufficient_funds" && refused.object["instrument"] as? Int == 1, "\(refused.text)")
            #expect(try await Self.card(client, key: setup.web, first.id).available == 1_000, "the first card's hold rolled back with the second's refusal")
            #expect(try await app.count("checkout_holds") == 0)

            let held = try await client.call(.post, "/v1/holds", key: setup.web, json: [
                "channel": "web", "instruments": [Self.part(id: first.id, amount: 800), Self.part(id: second.id, amount: 500)],
            ])
            let holdID = try #require(held.object["id"] as? String, "\(held.text)")
            #expect(try await Self.card(client, key: setup.web, first.id).available == 200)
            #expect(try await Self.card(client, key: setup.web, second.id).available == 0)
            let partial = try await client.call(.post, "/v1/holds/\(holdID)/capture", key: setup.web, json: ["amount": 2_000])
            #expect(partial.status == .conflict && partial.problemCode == "exceeds_hold")
            let voided = try await client.call(.post, "/v1/holds/\(holdID)/void", key: setup.web, json: ["reason": "customer paid by card"])
            #expect(voided.status == .ok && voided.object["status"] as? String == "voided")
            #expect(try await Self.card(client, key: setup.web, first.id).available == 1_000)
            #expect(try await Self.card(client, key: setup.web, second.id).available == 500)
            let late = try await client.call(.post, "/v1/holds/\(holdID)/capture", key: setup.web, json: [:])
            #expect(late.status == .conflict && late.problemCode == "hold_already_voided")

            // Capturing 1,000 of 1,300 takes the first card's 800 and 200 of the second's 500.
            let again = try await client.call(.post, "/v1/holds", key: setup.web, json: [
                "channel": "web", "instruments": [Self.part(id: first.id, amount: 800), Self.part(id: second.id, amount: 500)],
            ])
            let againID = try #require(again.object["id"] as? String)
            let captured = try await client.call(.post, "/v1/holds/\(againID)/capture", key: setup.web, json: ["amount": 1_000])
            #expect((captured.object["parts"] as? [[String: Any]])?.map { $0["captured"] as? Int } == [800, 200])
            #expect(try await Self.card(client, key: setup.web, first.id).balance == 200)
            #expect(try await Self.card(client, key: setup.web, second.id).balance == 300)
            try await Self.verify(app)
        }
    }

    @Test("an expired hold cannot be captured; the sweep releases it and says so", arguments: TestBackend.available)
    func expiry(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let setup = try await Self.setup(app, client)
            let card = try await Self.issue(client, key: setup.web, ["amount": 1_000])
            let held = try await client.call(.post, "/v1/holds", key: setup.web, json: [
                "channel": "web", "expires_in": 30, "instruments": [Self.part(id: card.id, amount: 700)],
            ])
            let holdID = try #require(held.object["id"] as? String, "\(held.text)")
            // Thirty seconds pass.
            try await app.services.database.transaction { sql in
                try await sql.raw("UPDATE checkout_holds SET expires_at = expires_at - 31000").run()
                try await sql.raw("UPDATE ledger_open_holds SET expires_at = expires_at - 31000").run()
            }
            #expect(try await client.call(.get, "/v1/holds/\(holdID)", key: setup.web).object["status"] as? String == "expired")
            let late = try await client.call(.post, "/v1/holds/\(holdID)/capture", key: setup.web, json: [:])
            #expect(late.status == .conflict && late.problemCode == "hold_expired")
            #expect(try await Self.card(client, key: setup.web, card.id).available == 300, "reserved until the sweep")
            #expect(try await HoldExpiry(services: app.services).sweep() == 1)
            #expect(try await Self.card(client, key: setup.web, card.id).available == 1_000)
            let events = try await app.services.database.read { sql in
                try await sql.raw("SELECT type FROM events WHERE type = 'hold.expired'").all()
            }
            #expect(events.count == 1)
            #expect(try await HoldExpiry(services: app.services).sweep() == 0, "nothing is released twice")
            try await Self.verify(app)
        }
    }

    @Test("a card restricted to channels or countries is refused elsewhere", arguments: TestBackend.available)
    func restrictions(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let setup = try await Self.setup(app, client)
            let storeOnly = try await Self.issue(client, key: setup.web, ["amount": 1_000, "channels": ["store-madrid-01"]])
            let spainOnly = try await Self.issue(client, key: setup.web, ["amount": 1_000, "countries": ["ES"]])
            func hold(_ card: String, channel: String, country: String? = nil) async throws -> TestResponse {
                var body: [String: any Sendable] = ["channel": channel, "instruments": [Self.part(id: card, amount: 100)]]
                if let country { body["country"] = country }
                return try await client.call(.post, "/v1/redemptions", key: setup.web, json: body)
            }
            let online = try await hold(storeOnly.id, channel: "web")
            #expect(online.status == .conflict && online.problemCode == "instrument_restricted" && online.object["instrument"] as? Int == 0)
            #expect(try await hold(storeOnly.id, channel: "store-madrid-01").status == .created)
            let unknownCountry = try await hold(spainOnly.id, channel: "web")
            #expect(unknownCountry.status == .conflict && unknownCountry.problemCode == "instrument_restricted")
            #expect(try await hold(spainOnly.id, channel: "web", country: "FR").problemCode == "instrument_restricted")
            #expect(try await hold(spainOnly.id, channel: "web", country: "ES").status == .created)
            let inStore = try await hold(spainOnly.id, channel: "store-madrid-01", country: "FR")
            #expect(inStore.status == .created && inStore.object["country"] as? String == "ES", "the till's store is in Spain, whatever the request says")

            // A key bound to the store's till checks out there only.
            let boundTill = try await app.key(scopes: ["pos"], channel: setup.fixtures.storeChannelID)
            let elsewhere = try await client.call(.post, "/v1/redemptions", key: boundTill, json: [
                "channel": "web", "instruments": [Self.part(id: storeOnly.id, amount: 100)],
            ])
            #expect(elsewhere.status == .badRequest && (elsewhere.object["errors"] as? [[String: Any]])?.first?["code"] as? String == "channel_mismatch")
            let blank = try await client.call(.post, "/v1/redemptions", key: boundTill, json: [
                "channel": "", "instruments": [Self.part(id: storeOnly.id, amount: 100)],
            ])
            #expect(blank.status == .badRequest && (blank.object["errors"] as? [[String: Any]])?.first?["code"] as? String == "required",
                    "a blank channel is named as such, not answered with an empty list of errors")
            let atTill = try await client.call(.post, "/v1/redemptions", key: boundTill, json: ["instruments": [Self.part(id: storeOnly.id, amount: 100)]])
            #expect(atTill.status == .created && atTill.object["channel_id"] as? String == setup.fixtures.storeChannelID, "\(atTill.text)")
            let unknownChannel = try await client.call(.post, "/v1/gift_cards", key: setup.web, json: ["amount": 100, "channels": ["nowhere"]])
            #expect(unknownChannel.status == .badRequest && (unknownChannel.object["errors"] as? [[String: Any]])?.first?["field"] as? String == "channels[0]")
            #expect(try await Self.card(client, key: setup.web, spainOnly.id).balance == 800)
            #expect(try await Self.card(client, key: setup.web, storeOnly.id).balance == 800)
        }
    }

    @Test("bad holds are refused precisely and change nothing", arguments: TestBackend.available)
    func badInput(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let setup = try await Self.setup(app, client)
            let card = try await Self.issue(client, key: setup.web, ["amount": 1_000, "pin": "1357"])
            func fieldCodes(_ body: [String: any Sendable], path: String = "/v1/holds") async throws -> [String] {
                let response = try await client.call(.post, path, key: setup.web, json: body)
                #expect(response.status == .badRequest, "\(response.text)")
                return (response.object["errors"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
            }
            let gift = { (amount: Int) -> [String: any Sendable] in Self.part(id: card.id, amount: amount) }
            #expect(try await fieldCodes(["channel": "web", "instruments": [gift(0)]]) == ["amount_not_positive"])
            #expect(try await fieldCodes(["channel": "web", "instruments": [gift(-5)]]) == ["negative_amount"])
            #expect(try await fieldCodes(["channel": "web", "instruments": [] as [String]]) == ["required"])
            #expect(try await fieldCodes(["instruments": [gift(10)]]) == ["required"])
            #expect(try await fieldCodes(["channel": "nowhere", "instruments": [gift(10)]]) == ["unknown_channel"])
            #expect(try await fieldCodes(["channel": "web", "currency": "EURO", "instruments": [gift(10)]]) == ["unknown_currency"])
            #expect(try await fieldCodes(["channel": "web", "expires_in": 5, "instruments": [gift(10)]]) == ["out_of_range"])
            #expect(try await fieldCodes(["channel": "web", "expires_in": 60, "instruments": [gift(10)]], path: "/v1/redemptions") == ["not_for_redemptions"])
            #expect(try await fieldCodes(["channel": "web", "instruments": [gift(10), gift(20)]]) == ["duplicate_instrument"])
            #expect(try await fieldCodes(["channel": "web", "instruments": [Self.part(type: "voucher", id: card.id, amount: 1)]]) == ["invalid_enum"])
            #expect(try await fieldCodes(["channel": "web", "instruments": [Self.part(type: "coupon", id: card.id, amount: 1)]]) == ["unknown_instrument"],
                    "a coupon is named by its code")
            #expect(try await fieldCodes(["channel": "web", "instruments": [Self.part(id: card.id, code: card.code, amount: 1)]])
                    == ["id_or_code"])
            #expect(try await fieldCodes(["channel": "web", "instruments": [Self.part(id: "gc_01aaaaaaaaaaaaaaaaaaaaaaaa", amount: 1)]])
                    == ["unknown_instrument"])
            // A code failing its check character never reaches the database.
            #expect(try await fieldCodes(["channel": "web", "instruments": [Self.part(code: "AAAA-AAAA-AAAA-AAAA", amount: 1)]])
                    == ["invalid_code"])
            let wrongPIN = try await client.call(.post, "/v1/holds", key: setup.web, json: [
                "channel": "web", "instruments": [Self.part(code: card.code, pin: "0000", amount: 1)],
            ])
            #expect(wrongPIN.status == .notFound && wrongPIN.problemCode == "gift_card_not_found")
            let tooMuch = try await client.call(.post, "/v1/holds", key: setup.web, json: ["channel": "web", "instruments": [gift(1_001)]])
            #expect(tooMuch.status == .conflict && tooMuch.problemCode == "insufficient_funds")
            let otherCurrency = try await client.call(.post, "/v1/holds", key: setup.web, json: [
                "channel": "web", "currency": "USD", "instruments": [gift(1)],
            ])
            #expect(otherCurrency.status == .conflict && otherCurrency.problemCode == "currency_mismatch")
            let agent = try await app.key(scopes: ["service"])
            _ = try await client.call(.post, "/v1/gift_cards/\(card.id)/disable", key: agent, json: [:])
            let disabled = try await client.call(.post, "/v1/holds", key: setup.web, json: ["channel": "web", "instruments": [gift(1)]])
            #expect(disabled.status == .conflict && disabled.problemCode == "gift_card_disabled")
            #expect(try await client.call(.post, "/v1/holds/hld_01aaaaaaaaaaaaaaaaaaaaaaaa/capture", key: setup.web, json: [:]).status == .notFound)
            #expect(try await app.count("checkout_holds") == 0)
            #expect(try await app.count("ledger_transfers") == 1, "the card's load and nothing else")
        }
    }

    @Test("checkouts over the same cards in opposite orders at once never deadlock", arguments: TestBackend.available)
    func oppositeOrders(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let setup = try await Self.setup(app, client)
            let first = try await Self.issue(client, key: setup.web, ["amount": 10_000])
            let second = try await Self.issue(client, key: setup.web, ["amount": 10_000])
            let holds = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for index in 0..<32 {
                    group.addTask {
                        let cards = index.isMultiple(of: 2) ? [first.id, second.id] : [second.id, first.id]
                        let response = try await client.call(.post, "/v1/holds", key: setup.web, json: [
                            "channel": "web", "instruments": cards.map { Self.part(id: $0, amount: 100) },
                        ])
                        return (Int(response.status.code), response.object["id"] as? String)
                    }
                }
                return try await group.reduce(into: [(Int, String?)]()) { $0.append($1) }
            }
            #expect(holds.allSatisfy { $0.0 == 201 }, "\(holds.map(\.0))")
            let outcomes = try await withThrowingTaskGroup(of: Int.self) { group in
                for (index, id) in holds.compactMap(\.1).enumerated() {
                    group.addTask {
                        let action = index.isMultiple(of: 2) ? "capture" : "void"
                        return Int(try await client.call(.post, "/v1/holds/\(id)/\(action)", key: setup.web, json: [:]).status.code)
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(outcomes.allSatisfy { $0 == 200 }, "\(outcomes)")
            #expect(try await Self.card(client, key: setup.web, first.id).balance == 10_000 - 16 * 100)
            try await Self.verify(app)
        }
    }

    @Test("64 clients redeeming one card at once take exactly what it holds", arguments: TestBackend.available)
    func concurrentRedemptions(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let setup = try await Self.setup(app, client)
            let card = try await Self.issue(client, key: setup.web, ["amount": 10_000])
            let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<64 {
                    group.addTask {
                        let response = try await client.call(.post, "/v1/redemptions", key: index.isMultiple(of: 2) ? setup.web : setup.till, json: [
                            "channel": index.isMultiple(of: 2) ? "web" : "store-madrid-01",
                            "instruments": [Self.part(id: card.id, amount: 300)],
                        ])
                        return response.status == .created ? "created" : "\(response.status.code) \(response.problemCode ?? "")"
                    }
                }
                return try await group.reduce(into: [String: Int]()) { $0[$1, default: 0] += 1 }
            }
            #expect(outcomes == ["created": 33, "409 insufficient_funds": 31])
            #expect(try await Self.card(client, key: setup.web, card.id).balance == 100)
            try await Self.verify(app)
        }
    }

    @Test("64 clients capturing one hold at once: one captures; a retried capture with its key captures nothing more", arguments: TestBackend.available)
    func concurrentCaptures(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let setup = try await Self.setup(app, client)
            let card = try await Self.issue(client, key: setup.web, ["amount": 1_000])
            let held = try await client.call(.post, "/v1/holds", key: setup.web, json: [
                "channel": "web", "instruments": [Self.part(id: card.id, amount: 600)],
            ])
            let holdID = try #require(held.object["id"] as? String)
            let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<64 {
                    group.addTask {
                        let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "capture-\(index)"]
                        let response = try await client.call(.post, "/v1/holds/\(holdID)/capture", key: setup.web, json: [:], headers: key)
                        return response.status == .ok ? "ok" : "\(response.status.code) \(response.problemCode ?? "")"
                    }
                }
                return try await group.reduce(into: [String: Int]()) { $0[$1, default: 0] += 1 }
            }
            #expect(outcomes == ["ok": 1, "409 hold_already_captured": 63])

            // A till that timed out waiting for its capture sends it again with the same key.
            let card2 = try await Self.issue(client, key: setup.web, ["amount": 1_000])
            let held2 = try await client.call(.post, "/v1/holds", key: setup.web, json: [
                "channel": "web", "instruments": [Self.part(id: card2.id, amount: 400)],
            ])
            let hold2 = try #require(held2.object["id"] as? String)
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "till-7-capture"]
            let first = try await client.call(.post, "/v1/holds/\(hold2)/capture", key: setup.web, json: ["amount": 300], headers: key)
            let retry = try await client.call(.post, "/v1/holds/\(hold2)/capture", key: setup.web, json: ["amount": 300], headers: key)
            #expect(first.status == .ok && retry.status == .ok && retry.text == first.text)
            #expect(try await Self.card(client, key: setup.web, card2.id).balance == 700)
            let captures = try await app.services.database.read { sql in
                try await sql.raw("SELECT COUNT(*) AS n FROM ledger_transfers WHERE kind = 'post_pending'").first(decodingColumn: "n", as: Int.self)
            }
            #expect(captures == 2)
            try await Self.verify(app)
        }
    }
}
