import Foundation
import HTTPTypes
import OmniaCore
@testable import OmniaServer
import PropertyBased
import SQLKit
import Testing

/// Random sequences of sales, returns, redemptions, holds, captures, voids, adjustments and expiries
/// of one member's points, through the services the API runs, on both databases — checked step by
/// step against a model of plain integers and lots: every outcome, the balance and what is
/// available, and what is left of each lot (spent first-to-expire first, a return's own lot first);
/// `ledger verify` (lots included) finds the books sound after each sequence.
@Suite("Loyalty properties")
struct LoyaltyPropertyTests {
    private enum Operation: Int, CaseIterable {
        case sale, returnSale, redeem, hold, capture, void, adjust, expire
    }

    private struct Lot {
        let id: String
        var remaining: Int64
        var expiresAt: Int64?
    }

    private struct Sale {
        let id: String
        let points: Int64
        let sold: Int64
        var returned: Int64
    }

    private struct Model {
        var posted: Int64 = 0
        var pending: Int64 = 0
        var lots: [Lot] = []
        var sales: [Sale] = []
        var open: [(id: String, points: Int64)] = []
        var available: Int64 { posted - pending }

        /// Takes `points` from the lots, `first` before the others, then first to expire.
        mutating func take(_ points: Int64, first: String? = nil) {
            var left = points
            let order = lots.indices.sorted { a, b in
                let (x, y) = (lots[a], lots[b])
                if (x.id == first) != (y.id == first) { return x.id == first }
                switch (x.expiresAt, y.expiresAt) {
                case let (p?, q?) where p != q: return p < q
                case (.some, nil): return true
                case (nil, .some): return false
                default: return x.id < y.id
                }
            }
            for index in order where left > 0 {
                let part = min(left, lots[index].remaining)
                lots[index].remaining -= part
                left -= part
            }
            posted -= points
        }
    }

    // No shrinking: each run replays a database sequence, and a failure is reported with its own message.
    @Test("random earning, spending, returns and expiry keep a member's points, lots and books", .shrinking(false), arguments: TestBackend.available)
    func randomSequences(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let services = app.services
            let caller = try await SaleGroupCommitTests.adminCaller(app)
            _ = try await client.call(.post, "/v1/loyalty_programmes", key: app.adminKey, json: ["name": "Plain", "currency": "EUR"])
            var sequence = 0
            await propertyCheck(count: 8, input: Gen.int(in: 0...(Operation.allCases.count - 1)).array(of: 10...30),
                                Gen.int64(in: -20...3_000).array(of: 30), Gen.int(in: 0...7).array(of: 30)) { operations, amounts, picks in
                do {
                    sequence += 1
                    let customer = try #require(try await client.call(.post, "/v1/customers", key: app.adminKey, json: ["first_name": "P"])
                        .object["id"] as? String)
                    var model = Model()
                    var account: String?
                    for (step, raw) in operations.enumerated() {
                        let operation = Operation(rawValue: raw)!
                        let outcome = try await Self.perform(operation, amount: amounts[step], pick: picks[step], customer: customer, account: &account,
                                                             tag: "\(sequence)-\(step)", caller: caller, services: services, model: &model)
                        guard let account else { continue }
                        let (balance, lots) = try await services.database.read { sql in
                            let balance = try #require(try await LedgerStore(tenantID: app.tenantID).accounts(on: sql, ids: [account]).first).balance
                            let lots = try await sql.raw("SELECT id, remaining FROM loyalty_lots WHERE account_id = \(bind: account)").all()
                                .reduce(into: [String: Int64]()) { $0[try $1.decode(column: "id", as: String.self)] = try $1.decode(column: "remaining", as: Int64.self) }
                            return (balance, lots)
                        }
                        #expect(balance.posted == model.posted && balance.available == model.available, "after step \(step) \(operation): \(outcome)")
                        #expect(lots == Dictionary(uniqueKeysWithValues: model.lots.map { ($0.id, $0.remaining) }), "lots after step \(step) \(operation)")
                    }
                    let findings = try await OperatorTools(services: services).verifyLedger(tenant: app.tenantID).flatMap(\.findings)
                    #expect(findings.isEmpty, "\(findings)")
                } catch {
                    Issue.record(error)
                }
            }
        }
    }

    /// Does one operation and updates the model; its outcome must be the model's (nil: done, or the problem's code).
    private static func perform(_ operation: Operation, amount: Int64, pick: Int, customer: String, account: inout String?, tag: String, caller: Caller,
                                services: AppServices, model: inout Model) async throws -> String {
        let tenantID = caller.tenantID
        let holds = CheckoutHoldService(services: services)
        func attempt<T: Sendable>(expecting expected: String?, _ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T? {
            try await PropertyAttempt.run(services.database, expecting: expected, step: "\(operation) of \(amount)", refusal: PropertyAttempt.problemCode, body)
        }
        func newestLot() async throws -> (id: String, account: String) {
            try await services.database.read { sql in
                let row = try #require(try await sql.raw("""
                    SELECT id, account_id FROM loyalty_lots WHERE tenant_id = \(bind: tenantID) ORDER BY id DESC LIMIT 1
                    """).first())
                return (try row.decode(column: "id", as: String.self), try row.decode(column: "account_id", as: String.self))
            }
        }
        let spend = CreateHoldRequest(channel: "web", customerId: customer, instruments: [InstrumentInput(type: "points", amount: amount)])
        let noAccount = account == nil ? "unknown_instrument" : nil
        let spendRefusal: String? = amount == 0 ? "amount_not_positive" : amount < 0 ? "negative_amount"
            : noAccount ?? (amount > model.available ? "insufficient_funds" : nil)
        switch operation {
        case .sale:
            let quantity = Int64(pick % 4 + 1)
            let unitPrice = abs(amount)
            let request = RecordTransactionRequest(externalId: "P-\(tag)", channel: "web", occurredAt: LoyaltyAPITests.daysAgo(1), currency: "EUR",
                                                   customer: ["id": customer],
                                                   lines: [LineInput(sku: "SKU", quantity: quantity, unitPrice: unitPrice)])
            guard let sale = try await attempt(expecting: nil, { sql in
                try await TransactionService(services: services).record(on: sql, caller: caller, request, actor: .cli)
            }) else { break }
            let points = unitPrice * quantity / 100
            model.sales.append(Sale(id: sale.transaction.id, points: points, sold: quantity, returned: 0))
            // A sale enrols its customer, whatever it earns.
            account = try await services.database.read { sql in
                try await sql.raw("SELECT account_id FROM loyalty_members WHERE customer_id = \(bind: customer)").first(decodingColumn: "account_id", as: String.self)
            }
            guard points > 0 else { break }
            let lot = try await newestLot()
            model.lots.append(Lot(id: lot.id, remaining: points, expiresAt: nil))
            model.posted += points
        case .returnSale:
            let returnable = model.sales.indices.filter { model.sales[$0].returned < model.sales[$0].sold }
            guard !returnable.isEmpty else { break }
            let index = returnable[pick % returnable.count]
            let sale = model.sales[index]
            let quantity = min(Int64(pick % 3 + 1), sale.sold - sale.returned)
            let request = RecordTransactionRequest(externalId: "R-\(tag)", kind: "return", channel: "store-madrid-01",
                                                   occurredAt: LoyaltyAPITests.daysAgo(0.5), original: OriginalReference(id: sale.id),
                                                   lines: [LineInput(quantity: quantity, originalLine: 1)])
            guard try await attempt(expecting: nil, { sql in
                try await TransactionService(services: services).record(on: sql, caller: caller, request, actor: .cli)
            }) != nil else { break }
            let reversal = LoyaltyRules.reversal(earned: sale.points, sold: sale.sold, alreadyReturned: sale.returned, quantity: quantity)
            model.sales[index].returned += quantity
            // Under `forbid`, what was spent already is written off.
            let firstLot = try await services.database.read { sql in
                try await sql.raw("SELECT id FROM loyalty_lots WHERE source_id = \(bind: sale.id) AND kind = 'earn'").first(decodingColumn: "id", as: String.self)
            }
            model.take(min(reversal, max(model.available, 0)), first: firstLot)
        case .redeem:
            if try await attempt(expecting: spendRefusal, { sql in
                try await holds.create(on: sql, caller: caller, spend, kind: "redemption", cardIDsByCode: [:], actor: .cli)
            }) != nil { model.take(amount) }
        case .hold:
            if let hold = try await attempt(expecting: spendRefusal, { sql in
                try await holds.create(on: sql, caller: caller, spend, kind: "hold", cardIDsByCode: [:], actor: .cli)
            }) {
                model.pending += amount
                model.open.append((hold.id, amount))
            }
        case .capture, .void:
            guard !model.open.isEmpty else { break }
            let index = pick % model.open.count
            let hold = model.open.remove(at: index)
            _ = try await attempt(expecting: nil, { sql in
                operation == .capture
                    ? try await holds.capture(on: sql, tenantID: tenantID, id: hold.id, HoldAmountRequest(), actor: .cli)
                    : try await holds.void(on: sql, tenantID: tenantID, id: hold.id, HoldAmountRequest(), actor: .cli)
            })
            model.pending -= hold.points
            if operation == .capture { model.take(hold.points) }
        case .adjust:
            let points = amount - 1_000
            let expected: String? = points == 0 ? "out_of_range" : points < 0 && -points > model.available ? "insufficient_points" : nil
            guard try await attempt(expecting: expected, { sql in
                try await LoyaltyService(services: services).adjust(on: sql, caller: caller, customerID: customer,
                                                                    LoyaltyAdjustmentRequest(points: points, reason: "property"), actor: .cli)
            }) != nil else { break }
            if points > 0 {
                let lot = try await newestLot()
                account = lot.account
                model.lots.append(Lot(id: lot.id, remaining: points, expiresAt: nil))
                model.posted += points
            } else {
                model.take(-points)
            }
        case .expire:
            let withPoints = model.lots.indices.filter { model.lots[$0].remaining > 0 }
            guard !withPoints.isEmpty else { break }
            let index = withPoints[pick % withPoints.count]
            try await services.database.transaction { [id = model.lots[index].id] sql in
                try await sql.raw("UPDATE loyalty_lots SET expires_at = 1 WHERE id = \(bind: id)").run()
            }
            model.lots[index].expiresAt = 1
            // What this member lost: the sweep also expires what earlier sequences' members left due
            // (a lot an open hold kept, released since), which is their business, not this model's.
            func posted() async throws -> Int64 {
                try await services.database.read { [account] sql in
                    try await LedgerStore(tenantID: tenantID).accounts(on: sql, ids: [account ?? ""]).first?.balance.posted ?? 0
                }
            }
            let before = try await posted()
            _ = try await LoyaltySweep(services: services).sweep()
            let expired = try await before - posted()
            let expected = min(model.lots.filter { $0.expiresAt != nil }.reduce(0) { $0 + $1.remaining }, max(model.available, 0))
            #expect(expired == expected, "expired \(expired), expected \(expected)")
            model.take(expected)
        }
        return "\(operation) \(amount)"
    }
}
