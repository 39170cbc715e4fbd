import Foundation
import OmniaCore
@testable import OmniaServer
import PropertyBased
import SQLKit
import Testing

/// Random sequences of issue, redeem, hold, capture, void and expiry against one card, on both
/// databases, checked step by step against a model of plain integers: every outcome (done or the
/// exact refusal) and every sum agree with the model, the card never gives out more than it
/// holds, and `ledger verify` finds the books sound after each sequence.
@Suite("Ledger properties")
struct LedgerPropertyTests {
    private static let euro = LedgerUnit(rawValue: "EUR")!

    private enum Operation: Int, CaseIterable {
        case issue, redeem, hold, capture, void, expiredHold
    }

    /// What the card should hold, kept with nothing but integers.
    private struct Model {
        var credits: Int64 = 0
        var debits: Int64 = 0
        var pending: Int64 = 0
        var openHolds: [(id: String, amount: Int64)] = []
        var resolvedHolds: [String] = []
        var available: Int64 { credits - debits - pending }
    }

    @Test("random operations on a card keep the ledger's rules and its books", arguments: TestBackend.available)
    func randomSequences(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, _ in
            let services = app.services
            let store = LedgerStore(tenantID: app.tenantID)
            let control = LedgerStore.controlAccountID("gift_cards_issued", unit: Self.euro, for: "test")
            await propertyCheck(count: 12, input: Gen.int(in: 0...(Operation.allCases.count - 1)).array(of: 10...30),
                                Gen.int64(in: -20...1_500).array(of: 30), Gen.int(in: 0...7).array(of: 30)) { operations, amounts, picks in
                do {
                    let card = services.ids.make(.ledgerAccount)
                    try await services.database.transaction { sql in
                        try await store.open(on: sql, id: card, unit: Self.euro, kind: "gift_card", customerID: nil, flags: .debitsMustNotExceedCredits,
                                             now: services.nowMilliseconds)
                    }
                    var model = Model()
                    for (step, raw) in operations.enumerated() {
                        let amount = amounts[step]
                        let pick = picks[step]
                        let outcome = try await Self.perform(Operation(rawValue: raw)!, amount: amount, pick: pick, card: card, control: control,
                                                             store: store, services: services, model: &model)
                        let balance = try await services.database.read { sql in try #require(try await store.accounts(on: sql, ids: [card]).first).balance }
                        #expect(balance == LedgerBalance(debitsPending: model.pending, debitsPosted: model.debits, creditsPending: 0, creditsPosted: model.credits),
                                "after step \(step): \(outcome)")
                        #expect(balance.available >= 0)
                    }
                    let findings = try await OperatorTools(services: services).verifyLedger(tenant: app.tenantID).flatMap(\.findings)
                    #expect(findings.isEmpty, "\(findings)")
                } catch {
                    Issue.record(error)
                }
            }
        }
    }

    /// Does one operation to the store and the model; a refusal must be the one the model expects.
    private static func perform(_ operation: Operation, amount: Int64, pick: Int, card: String, control: String, store: LedgerStore,
                                services: AppServices, model: inout Model) async throws -> String {
        /// Runs `body` in a transaction; its result when it went through, nil when refused — as the model expected or not.
        func attempt<T: Sendable>(expecting expected: LedgerRefusal?, _ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T? {
            try await PropertyAttempt.run(services.database, expecting: expected, step: "\(operation) of \(amount)",
                                          refusal: { ($0 as? LedgerRefused)?.refusal }, body)
        }
        let now = services.nowMilliseconds
        let ids = services.ids
        switch operation {
        case .issue:
            let request = LedgerTransferRequest(debitAccountID: control, creditAccountID: card, amount: amount, unit: euro)
            if try await attempt(expecting: amount > 0 ? nil : .amountNotPositive, { sql in
                try await store.post(on: sql, [request], ids: ids, reason: nil, requestID: nil, now: now)
            }) != nil { model.credits += amount }
        case .redeem:
            let request = LedgerTransferRequest(debitAccountID: card, creditAccountID: control, amount: amount, unit: euro)
            let expected: LedgerRefusal? = amount <= 0 ? .amountNotPositive : amount > model.available ? .exceedsCredits : nil
            if try await attempt(expecting: expected, { sql in
                try await store.post(on: sql, [request], ids: ids, reason: nil, requestID: nil, now: now)
            }) != nil { model.debits += amount }
        case .hold, .expiredHold:
            let request = LedgerTransferRequest(debitAccountID: card, creditAccountID: control, amount: amount, unit: euro)
            let expected: LedgerRefusal? = amount <= 0 ? .amountNotPositive : amount > model.available ? .exceedsCredits : nil
            let expiresAt = operation == .expiredHold ? now - 1 : now + 900_000
            guard let id = try await attempt(expecting: expected, { sql in
                try await store.hold(on: sql, request, expiresAt: expiresAt, ids: ids, reason: nil, requestID: nil, now: now).id
            }) else { break }
            if operation == .hold {
                model.pending += amount
                model.openHolds.append((id, amount))
            } else {
                // Held and released by the sweep: nothing changes but the record.
                #expect(try await HoldExpiry(services: services).sweep() == 1)
                model.resolvedHolds.append(id)
            }
        case .capture, .void:
            // Mostly an open hold; sometimes one resolved already, or none at all.
            let open = model.openHolds.isEmpty ? nil : pick % model.openHolds.count
            let target = open.map { model.openHolds[$0] }
            let holdID = target?.id ?? (model.resolvedHolds.isEmpty ? "trf_unknown" : model.resolvedHolds[pick % model.resolvedHolds.count])
            let resolved: LedgerRefusal? = target != nil ? nil : holdID == "trf_unknown" ? .holdNotFound : .holdAlreadyResolved
            if operation == .void {
                if try await attempt(expecting: resolved, { sql in
                    try await store.void(on: sql, holdID: holdID, ids: ids, reason: nil, requestID: nil, now: now)
                }) != nil, let open, let target {
                    model.pending -= target.amount
                    model.openHolds.remove(at: open)
                    model.resolvedHolds.append(target.id)
                }
            } else {
                // A third of captures take the whole hold; the rest a random amount, possibly too much or nothing.
                let captured: Int64? = pick % 3 == 0 ? nil : amount
                var expected = resolved
                if expected == nil, let captured, let target {
                    expected = captured <= 0 ? .amountNotPositive : captured > target.amount ? .exceedsHold : nil
                }
                if try await attempt(expecting: expected, { sql in
                    try await store.capture(on: sql, holdID: holdID, amount: captured, ids: ids, reason: nil, requestID: nil, now: now)
                }) != nil, let open, let target {
                    model.pending -= target.amount
                    model.debits += captured ?? target.amount
                    model.openHolds.remove(at: open)
                    model.resolvedHolds.append(target.id)
                }
            }
        }
        return "\(operation) of \(amount)"
    }
}
