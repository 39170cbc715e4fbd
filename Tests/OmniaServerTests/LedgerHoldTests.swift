import Foundation
import OmniaCore
@testable import OmniaServer
import SQLKit
import Testing

/// Two-phase holds on both databases (TigerBeetle's pending, post and void): a hold reserves value
/// without posting it, is captured (in part or whole) or voided exactly once, and releases itself
/// when it expires.
@Suite("Ledger holds")
struct LedgerHoldTests {
    private static let euro = LedgerUnit(rawValue: "EUR")!

    private struct Books {
        let app: TestApp
        let store: LedgerStore
        let control: String
        let card: String

        func balance(_ id: String) async throws -> LedgerBalance {
            try await app.services.database.read { [store] sql in try #require(try await store.accounts(on: sql, ids: [id]).first).balance }
        }

        func hold(_ amount: Int64, expiresIn milliseconds: Int64 = 900_000) async throws -> LedgerTransfer {
            let services = app.services
            return try await services.database.transaction { [store, card, control] sql in
                let now = services.nowMilliseconds
                return try await store.hold(on: sql, LedgerTransferRequest(debitAccountID: card, creditAccountID: control, amount: amount, unit: euro),
                                            expiresAt: now + milliseconds, ids: services.ids, reason: "checkout", requestID: nil, now: now)
            }
        }

        func capture(_ holdID: String, _ amount: Int64? = nil) async throws -> LedgerTransfer {
            let services = app.services
            return try await services.database.transaction { [store] sql in
                try await store.capture(on: sql, holdID: holdID, amount: amount, ids: services.ids, reason: nil, requestID: nil, now: services.nowMilliseconds)
            }
        }

        func void(_ holdID: String) async throws -> LedgerTransfer {
            let services = app.services
            return try await services.database.transaction { [store] sql in
                try await store.void(on: sql, holdID: holdID, ids: services.ids, reason: "cart emptied", requestID: nil, now: services.nowMilliseconds)
            }
        }

        func findings() async throws -> [LedgerAudit.Finding] {
            try await OperatorTools(services: app.services).verifyLedger(tenant: app.tenantID).flatMap(\.findings)
        }
    }

    /// A card loaded with 1,000 cents from the tenant's control account.
    private static func books(_ app: TestApp) async throws -> Books {
        let store = LedgerStore(tenantID: app.tenantID)
        let services = app.services
        let (control, card) = try await services.database.transaction { sql in
            let now = services.nowMilliseconds
            let control = LedgerStore.controlAccountID("gift_cards_issued", unit: euro, for: "test")
            let card = services.ids.make(.ledgerAccount)
            try await store.open(on: sql, id: card, unit: euro, kind: "gift_card", customerID: nil, flags: .debitsMustNotExceedCredits, now: now)
            _ = try await store.post(on: sql, [LedgerTransferRequest(debitAccountID: control, creditAccountID: card, amount: 1_000, unit: euro)],
                                     ids: services.ids, reason: "issue", requestID: nil, now: now)
            return (control, card)
        }
        return Books(app: app, store: store, control: control, card: card)
    }

    @Test("a hold reserves value without posting it; a partial capture posts part and releases the rest", arguments: TestBackend.available)
    func holdAndCapture(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, _ in
            let books = try await Self.books(app)
            let hold = try await books.hold(600)
            var card = try await books.balance(books.card)
            #expect(card.posted == 1_000 && card.available == 400 && card.debitsPending == 600)
            await #expect(throws: LedgerRefused(refusal: .exceedsCredits, accountID: books.card), "held value is not available") {
                _ = try await books.hold(401)
            }
            await #expect(throws: LedgerRefused(refusal: .exceedsHold, accountID: nil)) { _ = try await books.capture(hold.id, 601) }
            let capture = try await books.capture(hold.id, 450)
            #expect(capture.kind == "post_pending" && capture.pendingId == hold.id && capture.amount == 450)
            card = try await books.balance(books.card)
            #expect(card.posted == 550 && card.available == 550 && card.debitsPending == 0)
            #expect(try await books.balance(books.control).creditsPending == 0)
            #expect(try await books.findings().isEmpty)
        }
    }

    @Test("a hold resolves once: a second capture, a void after a capture, an unknown hold are refused", arguments: TestBackend.available)
    func resolvesOnce(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, _ in
            let books = try await Self.books(app)
            let hold = try await books.hold(300)
            _ = try await books.capture(hold.id)
            await #expect(throws: LedgerRefused(refusal: .holdAlreadyResolved, accountID: nil)) { _ = try await books.capture(hold.id) }
            await #expect(throws: LedgerRefused(refusal: .holdAlreadyResolved, accountID: nil)) { _ = try await books.void(hold.id) }
            await #expect(throws: LedgerRefused(refusal: .holdNotFound, accountID: nil)) { _ = try await books.void("trf_unknown") }
            let voided = try await books.hold(200)
            let release = try await books.void(voided.id)
            #expect(release.kind == "void_pending" && release.amount == 200)
            await #expect(throws: LedgerRefused(refusal: .holdAlreadyResolved, accountID: nil)) { _ = try await books.capture(voided.id) }
            let card = try await books.balance(books.card)
            #expect(card.posted == 700 && card.available == 700)
            #expect(try await books.findings().isEmpty)
        }
    }

    @Test("an expired hold cannot be captured, and the sweep releases it", arguments: TestBackend.available)
    func expiry(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, _ in
            let books = try await Self.books(app)
            let expired = try await books.hold(400, expiresIn: -1)
            let open = try await books.hold(100)
            await #expect(throws: LedgerRefused(refusal: .holdExpired, accountID: nil)) { _ = try await books.capture(expired.id) }
            #expect(try await books.balance(books.card).available == 500, "the refused capture left both holds in place")
            #expect(try await HoldExpiry(services: app.services).sweep() == 1)
            #expect(try await HoldExpiry(services: app.services).sweep() == 0)
            let card = try await books.balance(books.card)
            #expect(card.available == 900 && card.debitsPending == 100)
            let release = try await app.services.database.read { sql in
                try await sql.raw("SELECT * FROM ledger_transfers WHERE pending_id = \(bind: expired.id)").all()
            }
            #expect(try release.first?.decode(column: "reason", as: String?.self) == "expired")
            _ = try await books.capture(open.id)
            #expect(try await books.findings().isEmpty)
        }
    }

    @Test("64 clients capturing one hold at once: exactly one captures", arguments: TestBackend.available)
    func concurrentCaptures(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, _ in
            let books = try await Self.books(app)
            let hold = try await books.hold(500)
            let captured = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<64 {
                    group.addTask {
                        do {
                            _ = try await books.capture(hold.id)
                            return 1
                        } catch let refused as LedgerRefused where refused.refusal == .holdAlreadyResolved {
                            return 0
                        }
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(captured == 1)
            #expect(try await books.balance(books.card).posted == 500)
            #expect(try await app.count("ledger_transfers") == 3, "issue, hold, one capture")
            #expect(try await books.findings().isEmpty)
        }
    }

    @Test("ledger verify finds a hold whose open row went missing", arguments: TestBackend.available)
    func verifyFindsStrandedHold(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, _ in
            let books = try await Self.books(app)
            let hold = try await books.hold(100)
            try await app.services.database.transaction { sql in try await sql.raw("DELETE FROM ledger_open_holds").run() }
            #expect(try await books.findings() == [.holdOutOfStep(transferID: hold.id)])
        }
    }
}
