import Foundation
import HTTPTypes
import OmniaCore
@testable import OmniaServer
import PropertyBased
import SQLKit
import Testing

/// Random sequences of reload, redemption, hold, capture, void, refund and expiry through the
/// checkout service — what the API runs — on both databases, checked step by step against a model
/// of plain integers: every outcome (done, or the exact problem code), the card's balance and what
/// is available agree with the model, nothing is ever refunded beyond what was captured, and
/// `ledger verify` finds the books sound after each sequence.
@Suite("Checkout properties")
struct CheckoutHoldPropertyTests {
    private enum Operation: Int, CaseIterable {
        case reload, redeem, hold, capture, void, refund, expire
    }

    private struct Model {
        var posted: Int64 = 0
        var pending: Int64 = 0
        var open: [(id: String, amount: Int64)] = []
        /// Captured holds and redemptions: what was taken and what is left to refund.
        var captured: [(id: String, refundable: Int64)] = []
        var closed: [String] = []
        var available: Int64 { posted - pending }
    }

    @Test("random checkouts on a card keep its balance, its holds and its books", arguments: TestBackend.available)
    func randomSequences(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let services = app.services
            let caller = try await SaleGroupCommitTests.adminCaller(app)
            await propertyCheck(count: 10, input: Gen.int(in: 0...(Operation.allCases.count - 1)).array(of: 10...30),
                                Gen.int64(in: -20...1_500).array(of: 30), Gen.int(in: 0...7).array(of: 30)) { operations, amounts, picks in
                do {
                    let card = try await services.database.transaction { sql in
                        try await GiftCardService(services: services).issue(on: sql, caller: caller, IssueGiftCardRequest(amount: 0), actor: .cli).id
                    }
                    var model = Model()
                    for (step, raw) in operations.enumerated() {
                        let outcome = try await Self.perform(Operation(rawValue: raw)!, amount: amounts[step], pick: picks[step], card: card, caller: caller,
                                                             services: services, model: &model)
                        let balance = try await services.database.read { sql in
                            try #require(try await LedgerStore(tenantID: app.tenantID).accounts(on: sql, ids: [card]).first).balance
                        }
                        #expect(balance.posted == model.posted && balance.available == model.available, "after step \(step): \(outcome)")
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

    /// Does one operation and updates the model; the outcome must be the one the model expects
    /// (nil: done; otherwise the problem's code).
    private static func perform(_ operation: Operation, amount: Int64, pick: Int, card: String, caller: Caller, services: AppServices,
                                model: inout Model) async throws -> String {
        let holds = CheckoutHoldService(services: services)
        let tenantID = caller.tenantID
        func attempt<T: Sendable>(expecting expected: String?, _ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T? {
            try await PropertyAttempt.run(services.database, expecting: expected, step: "\(operation) of \(amount)", refusal: PropertyAttempt.problemCode, body)
        }
        let request = CreateHoldRequest(channel: "web", instruments: [InstrumentInput(type: "gift_card", id: card, amount: amount)])
        let spendRefusal: String? = amount == 0 ? "amount_not_positive" : amount < 0 ? "negative_amount" : amount > model.available ? "insufficient_funds" : nil
        switch operation {
        case .reload:
            let expected: String? = amount == 0 ? "amount_not_positive" : amount < 0 ? "negative_amount" : nil
            if try await attempt(expecting: expected, { sql in
                try await GiftCardService(services: services).reload(on: sql, tenantID: tenantID, id: card, ReloadGiftCardRequest(amount: amount), actor: .cli)
            }) != nil { model.posted += amount }
        case .redeem:
            if let hold = try await attempt(expecting: spendRefusal, { sql in
                try await holds.create(on: sql, caller: caller, request, kind: "redemption", cardIDsByCode: [:], actor: .cli)
            }) {
                model.posted -= amount
                model.captured.append((hold.id, amount))
            }
        case .hold, .expire:
            guard let hold = try await attempt(expecting: spendRefusal, { sql in
                try await holds.create(on: sql, caller: caller, request, kind: "hold", cardIDsByCode: [:], actor: .cli)
            }) else { break }
            if operation == .hold {
                model.pending += amount
                model.open.append((hold.id, amount))
            } else {
                // Its time passes, and the sweep releases it.
                try await services.database.transaction { sql in
                    try await sql.raw("UPDATE checkout_holds SET expires_at = 1 WHERE id = \(bind: hold.id)").run()
                    try await sql.raw("UPDATE ledger_open_holds SET expires_at = 1 WHERE transfer_id = \(bind: hold.parts[0].transferId ?? "")").run()
                }
                #expect(try await HoldExpiry(services: services).sweep() == 1, "the checkout hold, and nothing left of the ledger's: \(hold.id)")
                model.closed.append(hold.id)
            }
        case .capture, .void:
            // Mostly an open hold; sometimes one resolved already.
            let index = model.open.isEmpty ? nil : pick % model.open.count
            let target = index.map { model.open[$0] }
            guard let holdID = target?.id ?? (model.closed + model.captured.map(\.id)).randomElement() else { break }
            let closedCode: String? = target != nil ? nil : model.closed.contains(holdID) ? "closed" : "hold_already_captured"
            if operation == .void {
                let expected = closedCode == "closed" ? nil : closedCode
                let done = try await attemptResolved(expecting: expected, holdID: holdID) { sql in
                    try await holds.void(on: sql, tenantID: tenantID, id: holdID, HoldAmountRequest(), actor: .cli)
                }
                if done, let index, let target {
                    model.pending -= target.amount
                    model.open.remove(at: index)
                    model.closed.append(target.id)
                }
            } else {
                // A third of captures take the whole hold; the rest an amount, possibly too much or nothing.
                let taken: Int64? = pick % 3 == 0 ? nil : amount
                // Bad input first, then a closed hold, then too much for the hold.
                var expected = closedCode == "closed" ? nil : closedCode
                if let taken, taken <= 0 { expected = taken == 0 ? "amount_not_positive" : "negative_amount" }
                if expected == nil, let taken, let target, taken > target.amount { expected = "exceeds_hold" }
                let done = try await attemptResolved(expecting: expected, holdID: holdID) { sql in
                    try await holds.capture(on: sql, tenantID: tenantID, id: holdID, HoldAmountRequest(amount: taken), actor: .cli)
                }
                if done, let index, let target {
                    let captured = taken ?? target.amount
                    model.pending -= target.amount
                    model.posted -= captured
                    model.open.remove(at: index)
                    model.captured.append((target.id, captured))
                }
            }
        case .refund:
            guard !model.captured.isEmpty else { break }
            let index = pick % model.captured.count
            let target = model.captured[index]
            let given: Int64? = pick % 2 == 0 ? nil : amount
            var expected: String?
            if let given {
                expected = given == 0 ? "amount_not_positive" : given < 0 ? "negative_amount" : given > target.refundable ? "exceeds_refundable" : nil
            } else if target.refundable == 0 {
                expected = "exceeds_refundable"
            }
            if try await attempt(expecting: expected, { sql in
                try await holds.refund(on: sql, tenantID: tenantID, id: target.id, HoldAmountRequest(amount: given), actor: .cli)
            }) != nil {
                let back = given ?? target.refundable
                model.posted += back
                model.captured[index].refundable -= back
            }
        }
        return "\(operation) of \(amount)"

        /// A capture or void of a hold that may be closed already: "closed" stands for any of the
        /// codes a closed hold answers with (voided, expired), checked loosely.
        func attemptResolved(expecting expected: String?, holdID: String,
                             _ body: @escaping @Sendable (any SQLDatabase) async throws -> CheckoutHold) async throws -> Bool {
            do {
                _ = try await services.database.transaction(body)
                #expect(expected == nil, "\(operation) of \(holdID) went through, expected \(expected ?? "")")
                return expected == nil
            } catch let problem as Problem {
                let code = problem.code == "validation_failed" ? problem.errors.first?.code ?? problem.code : problem.code
                if expected == nil {
                    #expect(["hold_already_voided", "hold_expired"].contains(code), "\(operation) of \(holdID): \(code)")
                } else {
                    #expect(code == expected, "\(operation) of \(holdID): \(code)")
                }
                return false
            }
        }
    }
}
