import Foundation
import HTTPTypes
import OmniaCore
import SQLKit

extension TransactionService {
    /// The tender kind a return records for what is refunded outside Omnia (to the card or cash the
    /// sale was paid with, by the till or the payment provider).
    static let originalPaymentTender = "original_payment"

    /// Puts a return's refund back on instruments, whatever channel the sale and the return happen
    /// in, and answers the tenders the return records.
    ///
    /// - With tenders, the return says where its refund goes: a tender whose `reference` is a
    ///   checkout of the sale (`hld_…`) refunds that amount onto the checkout's instruments (gift
    ///   cards, points, store credit — `POST /v1/holds/{id}/refund`); a `store_credit` tender
    ///   without a reference gives the return's customer that much store credit; any other tender
    ///   (cash, card) is refunded outside Omnia.
    /// - Without tenders, the refund goes back the way the sale was paid: each of the sale's
    ///   checkouts takes its tenders' share of the return's total (by cumulative shares, so returning
    ///   everything in any number of returns refunds each exactly), as far as it has captured value
    ///   left to refund, onto its parts in order; the return records a tender per instrument
    ///   refunded, and the rest as `original_payment`.
    func refundInstruments(on sql: any SQLDatabase, caller: Caller, draft: TransactionDraft, plan: Plan, original: TransactionRow,
                           customerID: String?, actor: Actor) async throws -> [Tender]? {
        let saleTenders = (try? JSONCoding.decoder.decode([Tender].self, from: Data(original.tenders.utf8))) ?? []
        let checkouts = saleTenders.filter { $0.reference.map { IDGenerator.isWellFormed($0, prefix: .checkoutHold) } ?? false }
        let holds = CheckoutHoldService(services: services)
        let reason = "return \(draft.externalID) of \(original.id)"
        guard let tenders = draft.tenders else {
            guard !checkouts.isEmpty, original.total > 0, plan.total > 0 else { return nil }
            var recorded: [Tender] = []
            // A checkout named by several tenders (a card and points) is refunded once, for all of them.
            let checkoutIDs = checkouts.compactMap(\.reference).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
            for checkoutID in checkoutIDs {
                let paid = checkouts.filter { $0.reference == checkoutID }.reduce(0) { $0 + $1.amount }
                let share = TransactionMath.refund(net: paid, sold: original.total, alreadyReturned: min(plan.refundedBefore, original.total - plan.total),
                                                   quantity: plan.total)
                // A tender naming a checkout that does not exist (a till's typo) refunds outside Omnia.
                let hold: CheckoutHold
                do {
                    hold = try await holds.existing(on: sql, tenantID: caller.tenantID, id: checkoutID)
                } catch let problem as Problem where problem.status == .notFound {
                    continue
                }
                let amount = min(share, hold.status == "captured" ? hold.refundable : 0)
                guard amount > 0 else { continue }
                let refunded = try await holds.refund(on: sql, tenantID: caller.tenantID, id: hold.id, HoldAmountRequest(amount: amount, reason: reason),
                                                      actor: actor)
                // One tender per instrument that took some of it, as the checkout's parts took it.
                for (before, after) in zip(hold.parts, refunded.parts) where after.refunded > before.refunded {
                    recorded.append(Tender(kind: after.instrumentType, amount: after.value(of: after.refunded - before.refunded), reference: hold.id))
                }
            }
            let rest = plan.total - recorded.reduce(0) { $0 + $1.amount }
            if rest > 0 { recorded.append(Tender(kind: Self.originalPaymentTender, amount: rest, reference: nil)) }
            return recorded
        }
        var validator = Validator()
        for (index, tender) in tenders.enumerated() {
            if let reference = tender.reference, IDGenerator.isWellFormed(reference, prefix: .checkoutHold),
                !checkouts.contains(where: { $0.reference == reference }) {
                validator.fail("tenders[\(index)].reference", "not_on_sale", "\(reference) is not a checkout the sale \(original.id) was paid with")
            }
            if tender.kind == InstrumentType.storeCredit.rawValue, tender.reference == nil, customerID == nil {
                validator.fail("tenders[\(index)].kind", "customer_required", "a refund to store credit needs the return's customer")
            }
        }
        guard validator.isValid else { throw Problem.validation(validator.errors) }
        for (index, tender) in tenders.enumerated() where tender.amount > 0 {
            do {
                if let reference = tender.reference, IDGenerator.isWellFormed(reference, prefix: .checkoutHold) {
                    _ = try await holds.refund(on: sql, tenantID: caller.tenantID, id: reference, HoldAmountRequest(amount: tender.amount, reason: reason),
                                               actor: actor)
                } else if tender.kind == InstrumentType.storeCredit.rawValue, tender.reference == nil, let customerID {
                    _ = try await StoreCreditService(services: services).issue(
                        on: sql, caller: caller, customerID: customerID,
                        IssueStoreCreditRequest(amount: tender.amount, currency: plan.currency, reason: reason), actor: actor)
                }
            } catch let problem as Problem {
                var named = problem
                named.extensions["tender"] = .integer(Int64(index))
                throw named
            }
        }
        return tenders
    }
}
