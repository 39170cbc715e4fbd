import Foundation
import OmniaCore
@testable import OmniaServer
import SQLKit
import Testing

/// Gift cards on both databases, through the service the API will call: issued with a code shown
/// once and stored only hashed, loaded from the tenant's control account on the ledger, looked up
/// by code (and PIN, with lockout), reloaded, activated and disabled — bad input refused with
/// nothing written.
@Suite("Gift cards")
struct GiftCardServiceTests {
    private static func issue(_ app: TestApp, _ request: IssueGiftCardRequest) async throws -> GiftCard {
        let caller = try await SaleGroupCommitTests.adminCaller(app)
        let service = GiftCardService(services: app.services)
        return try await app.services.database.transaction { sql in
            try await service.issue(on: sql, caller: caller, request, actor: Actor(id: caller.keyID, requestID: nil))
        }
    }

    private static func lookup(_ app: TestApp, _ code: String?, pin: String? = nil) async throws -> GiftCard {
        try await GiftCardService(services: app.services).lookup(database: app.services.database, tenantID: app.tenantID, code: code, pin: pin)
    }

    private static func problemCode(_ body: () async throws -> Void) async -> String? {
        do {
            try await body()
            return nil
        } catch let problem as Problem {
            return problem.errors.first?.code ?? problem.code
        } catch {
            return "\(error)"
        }
    }

    @Test("an issued card shows its code once, holds its amount on the ledger, and is found again by its code in any typed form",
          arguments: TestBackend.available)
    func issueAndLookUp(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, _ in
            let card = try await Self.issue(app, IssueGiftCardRequest(amount: 5_000))
            let code = try #require(card.code)
            #expect(card.id.hasPrefix("gc_") && card.currency == "EUR" && card.status == "active")
            #expect(card.balance == 5_000 && card.available == 5_000 && !card.hasPin)
            #expect(card.codeLast4 == String(code.suffix(4)))
            let found = try await Self.lookup(app, code.lowercased().replacingOccurrences(of: "-", with: " "))
            #expect(found.id == card.id && found.code == nil && found.balance == 5_000)
            let (stored, eventsWithCode) = try await app.services.database.read { sql in
                let hashes = try await sql.raw("SELECT code_hash FROM gift_cards").all().map { try $0.decode(column: "code_hash", as: String.self) }
                let events = try await sql.raw("SELECT count(*) AS n FROM events WHERE data LIKE \(bind: "%" + code + "%")").first(decodingColumn: "n", as: Int.self)
                return (hashes, events ?? -1)
            }
            let normalized = try #require(GiftCardCode.normalize(code))
            #expect(stored == [GiftCardService.codeHash(tenantID: app.tenantID, normalized)], "the card is found by its code's hash")
            #expect(eventsWithCode == 0, "the issue event does not carry the code")
            #expect(try await OperatorTools(services: app.services).verifyLedger(tenant: app.tenantID).flatMap(\.findings).isEmpty)
        }
    }

    @Test("a wrong PIN, a missing PIN and an unknown code get the same answer; the fifth wrong PIN locks the card even for the right one",
          arguments: TestBackend.available)
    func pinAndLockout(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, _ in
            let card = try await Self.issue(app, IssueGiftCardRequest(amount: 2_000, pin: "4321"))
            let code = try #require(card.code)
            #expect(card.hasPin)
            #expect(try await Self.lookup(app, code, pin: "4321").id == card.id)
            let unknownCode = GiftCardCode.generate()
            #expect(await Self.problemCode { _ = try await Self.lookup(app, unknownCode, pin: "4321") } == "gift_card_not_found")
            #expect(await Self.problemCode { _ = try await Self.lookup(app, code) } == "gift_card_not_found")
            for _ in 0..<3 { #expect(await Self.problemCode { _ = try await Self.lookup(app, code, pin: "0000") } == "gift_card_not_found") }
            // Four wrong so far (the missing PIN counts); the right one still works and clears the count.
            #expect(try await Self.lookup(app, code, pin: "4321").id == card.id)
            for _ in 0..<5 { #expect(await Self.problemCode { _ = try await Self.lookup(app, code, pin: "1111") } == "gift_card_not_found") }
            #expect(await Self.problemCode { _ = try await Self.lookup(app, code, pin: "4321") } == "gift_card_not_found", "locked for 15 minutes")
            // A code whose check character fails is refused before any lookup.
            var typo = Array(code.replacingOccurrences(of: "-", with: "").utf8)
            typo[3] = typo[3] == UInt8(ascii: "7") ? UInt8(ascii: "8") : UInt8(ascii: "7")
            #expect(await Self.problemCode { _ = try await Self.lookup(app, String(decoding: typo, as: UTF8.self)) } == "invalid_code")
        }
    }

    @Test("reload adds to an active card; an inactive card is activated first; a disabled card takes nothing more", arguments: TestBackend.available)
    func reloadActivateDisable(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, _ in
            let service = GiftCardService(services: app.services)
            let actor = Actor(id: "test", requestID: nil)
            let tenantID = app.tenantID
            func run(_ body: @escaping @Sendable (any SQLDatabase) async throws -> GiftCard) async throws -> GiftCard {
                try await app.services.database.transaction(body)
            }
            let card = try await Self.issue(app, IssueGiftCardRequest(amount: 1_000, active: false))
            #expect(card.status == "inactive" && card.balance == 1_000)
            #expect(await Self.problemCode { _ = try await run { try await service.reload(on: $0, tenantID: tenantID, id: card.id, .init(amount: 500), actor: actor) } }
                    == "gift_card_inactive")
            #expect(try await run { try await service.activate(on: $0, tenantID: tenantID, id: card.id, actor: actor) }.status == "active")
            #expect(await Self.problemCode { _ = try await run { try await service.activate(on: $0, tenantID: tenantID, id: card.id, actor: actor) } }
                    == "gift_card_active")
            let reloaded = try await run { try await service.reload(on: $0, tenantID: tenantID, id: card.id, .init(amount: 500), actor: actor) }
            #expect(reloaded.balance == 1_500)
            #expect(await Self.problemCode { _ = try await run { try await service.reload(on: $0, tenantID: tenantID, id: card.id, .init(amount: 0), actor: actor) } }
                    == "amount_not_positive")
            #expect(try await run { try await service.disable(on: $0, tenantID: tenantID, id: card.id, actor: actor) }.status == "disabled")
            #expect(await Self.problemCode { _ = try await run { try await service.reload(on: $0, tenantID: tenantID, id: card.id, .init(amount: 500), actor: actor) } }
                    == "gift_card_disabled")
            let disabled = try await app.services.database.read { sql in try await service.card(on: sql, tenantID: tenantID, id: card.id) }
            #expect(disabled.balance == 1_500 && disabled.status == "disabled", "the balance stays on the ledger")
            let events = try await app.services.database.read { sql in
                try await sql.raw("SELECT type FROM events WHERE type LIKE 'gift_card.%' ORDER BY id").all().map { try $0.decode(column: "type", as: String.self) }
            }
            #expect(events == ["gift_card.issued", "gift_card.activated", "gift_card.reloaded", "gift_card.disabled"])
        }
    }

    @Test("a disable racing activations and reloads always wins: the card ends disabled, never active again", arguments: TestBackend.available)
    func disableWinsRaces(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, _ in
            let service = GiftCardService(services: app.services)
            let actor = Actor(id: "test", requestID: nil)
            let tenantID = app.tenantID
            for _ in 0..<3 {
                let card = try await Self.issue(app, IssueGiftCardRequest(amount: 1_000, active: false))
                await withTaskGroup(of: Void.self) { group in
                    for index in 0..<24 {
                        group.addTask {
                            _ = try? await app.services.database.transaction { sql in
                                switch index {
                                case 12: try await service.disable(on: sql, tenantID: tenantID, id: card.id, actor: actor)
                                case let even where even % 2 == 0: try await service.activate(on: sql, tenantID: tenantID, id: card.id, actor: actor)
                                default: try await service.reload(on: sql, tenantID: tenantID, id: card.id, .init(amount: 10), actor: actor)
                                }
                            }
                        }
                    }
                }
                let final = try await app.services.database.read { sql in try await service.card(on: sql, tenantID: tenantID, id: card.id) }
                #expect(final.status == "disabled")
            }
            #expect(try await OperatorTools(services: app.services).verifyLedger(tenant: tenantID).flatMap(\.findings).isEmpty)
        }
    }

    @Test("bad input is refused with a precise code and writes nothing", arguments: TestBackend.available)
    func badInput(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, _ in
            let cases: [(IssueGiftCardRequest, String)] = [
                (IssueGiftCardRequest(amount: -1), "negative_amount"),
                (IssueGiftCardRequest(amount: 100, currency: "USD"), "currency_not_accepted"),
                (IssueGiftCardRequest(amount: 100, currency: "EURO"), "unknown_currency"),
                (IssueGiftCardRequest(amount: 100, pin: "12a4"), "invalid_pin"),
                (IssueGiftCardRequest(amount: 100, pin: "123"), "invalid_pin"),
                (IssueGiftCardRequest(amount: 100, customerId: "cus_01aaaaaaaaaaaaaaaaaaaaaaaa"), "unknown_customer"),
                (IssueGiftCardRequest(amount: 100, expiresAt: "2020-01-01T00:00:00Z"), "in_the_past"),
                (IssueGiftCardRequest(amount: 100, expiresAt: "next year"), "invalid_time"),
            ]
            for (request, expected) in cases {
                #expect(await Self.problemCode { _ = try await Self.issue(app, request) } == expected)
            }
            let written = try await app.count("gift_cards") + app.count("ledger_accounts")
            #expect(written == 0)
        }
    }
}
