import Foundation
import OmniaCore
@testable import OmniaServer
import SQLKit
import Testing

/// The ledger's storage contract on both databases: a transfer moves value between two accounts
/// and is written with both balances or not at all; a card never gives out more than it holds,
/// whatever the number of clients taking from it at once; `ledger verify` proves the books.
@Suite("Ledger store")
struct LedgerStoreTests {
    private static let euro = LedgerUnit(rawValue: "EUR")!

    /// A tenant with a control account and a card of 1,000 cents loaded from it.
    private static func loadedCard(_ app: TestApp, amount: Int64 = 1_000) async throws -> (store: LedgerStore, control: String, card: String) {
        let store = LedgerStore(tenantID: app.tenantID)
        let services = app.services
        let (control, card) = try await services.database.transaction { sql in
            let now = services.nowMilliseconds
            let control = LedgerStore.controlAccountID("gift_cards_issued", unit: euro, for: "test")
            let card = services.ids.make(.ledgerAccount)
            try await store.open(on: sql, id: card, unit: euro, kind: "gift_card", customerID: nil, flags: .debitsMustNotExceedCredits, now: now)
            _ = try await store.post(on: sql, [LedgerTransferRequest(debitAccountID: control, creditAccountID: card, amount: amount, unit: euro)],
                                     ids: services.ids, reason: "issue", requestID: nil, now: now)
            return (control, card)
        }
        return (store, control, card)
    }

    private static func balances(_ app: TestApp, _ store: LedgerStore, _ ids: [String]) async throws -> [String: LedgerBalance] {
        try await app.services.database.read { sql in
            Dictionary(uniqueKeysWithValues: try await store.accounts(on: sql, ids: ids).map { ($0.id, $0.balance) })
        }
    }

    private static func redeem(_ app: TestApp, _ store: LedgerStore, card: String, to control: String, amount: Int64,
                               unit: LedgerUnit = euro) async throws {
        let services = app.services
        _ = try await services.database.transaction { sql in
            try await store.post(on: sql, [LedgerTransferRequest(debitAccountID: card, creditAccountID: control, amount: amount, unit: unit)],
                                 ids: services.ids, reason: "redeem", requestID: nil, now: services.nowMilliseconds)
        }
    }

    @Test("unrefusable credits open their control account in their own write, even after an opening rolled back", arguments: TestBackend.available)
    func unrefusableAfterRollback(backend: TestBackend) async throws {
        struct Abandoned: Error {}
        try await TestApp.run(backend) { app, _ in
            let services = app.services
            let store = LedgerStore(tenantID: app.tenantID)
            let control = LedgerStore.controlAccountID("points_issued", unit: .points, for: "rollback")
            let member = services.ids.make(.loyaltyAccount)
            try await services.database.transaction { sql in
                try await store.open(on: sql, id: member, unit: .points, kind: "test_points", customerID: nil, flags: .debitsMustNotExceedCredits,
                                     now: services.nowMilliseconds)
            }
            let credit = [LedgerTransferRequest(debitAccountID: control, creditAccountID: member, amount: 40, unit: .points)]
            // The first transaction to name the control account rolls back.
            await #expect(throws: Abandoned.self) {
                try await services.database.transaction { sql in
                    try await store.postUnrefusable(on: sql, credit, reasons: ["earn"], requestID: nil, ids: services.ids, now: services.nowMilliseconds)
                    throw Abandoned()
                }
            }
            for _ in 0..<2 {
                try await services.database.transaction { sql in
                    try await store.postUnrefusable(on: sql, credit, reasons: ["earn"], requestID: nil, ids: services.ids, now: services.nowMilliseconds)
                }
            }
            let sums = try await Self.balances(app, store, [control, member])
            #expect(sums[member]?.posted == 80 && sums[control]?.posted == -80, "\(sums)")
            let findings = try await OperatorTools(services: services).verifyLedger(tenant: app.tenantID).flatMap(\.findings)
            #expect(findings.isEmpty, "\(findings)")
        }
    }

    @Test("postEach takes from accounts read before its transaction, and writes nothing when one was spent meanwhile", arguments: TestBackend.available)
    func postEachAgainstStaleAccounts(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, _ in
            let services = app.services
            let (store, _, card) = try await Self.loadedCard(app)
            let (_, _, other) = try await Self.loadedCard(app)
            let control = LedgerStore.controlAccountID("gift_cards_redeemed", unit: Self.euro, for: "group")
            func readAccounts() async throws -> [String: LedgerAccount] {
                try await services.database.read { sql in
                    try await store.accounts(on: sql, ids: [card, other]).reduce(into: [:]) { $0[$1.id] = $1 }
                }
            }
            func postEach(_ amounts: [(String, Int64)], accounts: [String: LedgerAccount]) async throws -> [Result<LedgerTransfer, LedgerRefused>] {
                try await services.database.transaction { sql in
                    try await store.postEach(on: sql, amounts.map { LedgerTransferRequest(debitAccountID: $0.0, creditAccountID: control, amount: $0.1, unit: Self.euro) },
                                             accounts: accounts, reasons: amounts.map { _ in "group" }, requestIDs: amounts.map { _ in nil },
                                             ids: services.ids, now: services.nowMilliseconds)
                }
            }
            // In order, against what the earlier ones left: the third finds 100 of 1,000 left and is refused.
            let results = try await postEach([(card, 600), (other, 200), (card, 300), (card, 200)], accounts: try await readAccounts())
            #expect(results.map { (try? $0.get()) != nil } == [true, true, true, false])
            let refusals = results.compactMap { result -> LedgerRefusal? in
                if case .failure(let refused) = result { return refused.refusal }
                return nil
            }
            #expect(refusals == [.exceedsCredits])
            var sums = try await Self.balances(app, store, [card, other, control])
            #expect(sums[card]?.posted == 100 && sums[other]?.posted == 800 && sums[control]?.posted == 1_100, "\(sums)")

            // Read, then spent elsewhere before the write: the write would take more than is left, so
            // the whole transaction fails and writes nothing, not even the other card's transfer.
            let stale = try await readAccounts()
            try await Self.redeem(app, store, card: card, to: control, amount: 50)
            await #expect(throws: LedgerAccountsChanged.self) { _ = try await postEach([(other, 100), (card, 100)], accounts: stale) }
            sums = try await Self.balances(app, store, [card, other, control])
            #expect(sums[card]?.posted == 50 && sums[other]?.posted == 800 && sums[control]?.posted == 1_150, "\(sums)")
            // Spent elsewhere, but what the write takes still fits: it is written.
            let results2 = try await postEach([(other, 100), (card, 30)], accounts: stale)
            #expect(results2.allSatisfy { (try? $0.get()) != nil })
            sums = try await Self.balances(app, store, [card, other, control])
            #expect(sums[card]?.posted == 20 && sums[other]?.posted == 700 && sums[control]?.posted == 1_280, "\(sums)")
            let findings = try await OperatorTools(services: services).verifyLedger(tenant: app.tenantID).flatMap(\.findings)
            #expect(findings.isEmpty, "\(findings)")
        }
    }

    @Test("every write locks instruments' accounts before control accounts, each in id order")
    func lockOrder() {
        let control = LedgerStore.controlAccountID("gift_cards_redeemed", unit: Self.euro, for: "x")
        let ids = ["gc_b", control, "lpa_a", "ctl_a", "gc_a"]
        #expect(ids.sorted(by: LedgerStore.lockOrder) == ["gc_a", "gc_b", "lpa_a"] + ["ctl_a", control].sorted())
        #expect(ids.sorted() != ids.sorted(by: LedgerStore.lockOrder), "plain id order would take control accounts first")
    }

    @Test("a posted transfer moves value from one account to the other, and the books balance", arguments: TestBackend.available)
    func postMovesValue(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, _ in
            let (store, control, card) = try await Self.loadedCard(app)
            try await Self.redeem(app, store, card: card, to: control, amount: 300)
            let balances = try await Self.balances(app, store, [control, card])
            #expect(balances[card]?.posted == 700)
            #expect(balances[card]?.debitsPosted == 300 && balances[card]?.creditsPosted == 1_000)
            #expect(balances[control]?.posted == -700)
            #expect(try await app.count("ledger_transfers") == 2)
            let verification = try await OperatorTools(services: app.services).verifyLedger(tenant: app.tenantID)
            #expect(verification.count == 1 && verification[0].accounts == 2 && verification[0].findings.isEmpty)
        }
    }

    @Test("a refused transfer changes nothing: over the balance, another unit, an unknown account, a zero amount, the same account",
          arguments: TestBackend.available)
    func refusalsChangeNothing(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, _ in
            let (store, control, card) = try await Self.loadedCard(app)
            let before = try await Self.balances(app, store, [control, card])
            let cases: [(debit: String, credit: String, amount: Int64, unit: LedgerUnit, expected: LedgerRefused)] = [
                (card, control, 1_001, Self.euro, LedgerRefused(refusal: .exceedsCredits, accountID: card)),
                (card, control, 10, .points, LedgerRefused(refusal: .unitMismatch, accountID: card)),
                (card, "acc_missing", 10, Self.euro, LedgerRefused(refusal: .unknownAccount, accountID: "acc_missing")),
                (card, control, 0, Self.euro, LedgerRefused(refusal: .amountNotPositive, accountID: nil)),
                (card, card, 10, Self.euro, LedgerRefused(refusal: .sameAccount, accountID: card)),
            ]
            for refused in cases {
                await #expect(throws: refused.expected) {
                    // A valid transfer first: the refusal must take it back too.
                    _ = try await app.services.database.transaction { sql in
                        try await store.post(on: sql, [
                            LedgerTransferRequest(debitAccountID: card, creditAccountID: control, amount: 1, unit: Self.euro),
                            LedgerTransferRequest(debitAccountID: refused.debit, creditAccountID: refused.credit, amount: refused.amount, unit: refused.unit),
                        ], ids: app.services.ids, reason: nil, requestID: nil, now: 0)
                    }
                }
            }
            #expect(try await Self.balances(app, store, [control, card]) == before)
            #expect(try await app.count("ledger_transfers") == 1)
            await #expect(throws: LedgerRefused(refusal: .unitMismatch, accountID: card), "an open account cannot be reopened in another unit") {
                try await app.services.database.transaction { sql in
                    try await store.open(on: sql, id: card, unit: .points, kind: "points", customerID: nil, flags: [], now: 0)
                }
            }
        }
    }

    @Test("64 clients taking from one card at once never take more than it holds", arguments: TestBackend.available)
    func concurrentRedemptions(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, _ in
            let (store, control, card) = try await Self.loadedCard(app, amount: 1_000)
            // 64 clients × 3 attempts × 30 cents = 5,760 asked of 1,000: 33 can succeed.
            let outcomes = try await withThrowingTaskGroup(of: (taken: Int64, refused: Int).self) { group in
                for _ in 0..<64 {
                    group.addTask {
                        var taken: Int64 = 0
                        var refused = 0
                        for _ in 0..<3 {
                            do {
                                try await Self.redeem(app, store, card: card, to: control, amount: 30)
                                taken += 30
                            } catch let error as LedgerRefused where error == LedgerRefused(refusal: .exceedsCredits, accountID: card) {
                                refused += 1
                            }
                        }
                        return (taken, refused)
                    }
                }
                return try await group.reduce(into: [(taken: Int64, refused: Int)]()) { $0.append($1) }
            }
            let taken = outcomes.map(\.taken).reduce(0, +)
            #expect(taken == 990, "33 redemptions of 30 fit in 1,000")
            let refused: Int = outcomes.map(\.refused).reduce(0, +)
            #expect(refused == 159, "every other attempt refused cleanly")
            #expect(try await Self.balances(app, store, [card])[card]?.posted == 10)
            let verification = try await OperatorTools(services: app.services).verifyLedger(tenant: nil)
            #expect(verification.first?.findings.isEmpty == true)
        }
    }

    @Test("ledger verify finds a balance edited by hand and the unit it unbalances", arguments: TestBackend.available)
    func verifyFindsTampering(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, _ in
            let (_, _, card) = try await Self.loadedCard(app)
            try await app.services.database.transaction { sql in
                try await sql.raw("UPDATE ledger_accounts SET credits_posted = credits_posted + 5 WHERE id = \(bind: card)").run()
            }
            let findings = try await OperatorTools(services: app.services).verifyLedger(tenant: nil).flatMap(\.findings)
            let cached = LedgerBalance(debitsPending: 0, debitsPosted: 0, creditsPending: 0, creditsPosted: 1_005)
            let fromTransfers = LedgerBalance(debitsPending: 0, debitsPosted: 0, creditsPending: 0, creditsPosted: 1_000)
            #expect(findings == [.unitDoesNotSumToZero(Self.euro, sum: 5),
                                 .balanceDiffersFromTransfers(accountID: card, cached: cached, fromTransfers: fromTransfers)])
        }
    }
}
