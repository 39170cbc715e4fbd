import Foundation
import OmniaCore
import SQLKit

extension CheckoutHoldService {
    /// A redemption of one card, as `RedemptionGroupCommit` hands it over.
    struct SingleCardRedemption: Sendable {
        let caller: Caller
        let request: CreateHoldRequest
        /// The card, by id (given, or resolved from its code before).
        let cardID: String
        let actor: Actor
    }

    /// Redemptions of one card each, checked as `create` checks them and written together: the
    /// cards' accounts are locked once and each amount is taken in turn while enough is left on its
    /// card (`LedgerStore.postEach`). One result per redemption, in order: what it would have got
    /// alone, its redemption (as JSON: encoded once for its event and its response) or its
    /// refusal. Nothing of a refused one is written.
    func redeemEach(on sql: any SQLDatabase, tenantID: String, _ redemptions: [SingleCardRedemption]) async throws -> [Result<Data, any Error>] {
        let now = services.nowMilliseconds
        let cardIDs = Array(Set(redemptions.map(\.cardID)))
        let cards = try await sql.raw("SELECT * FROM gift_cards WHERE tenant_id = \(bind: tenantID) AND id IN (\(binds: cardIDs))").all()
            .map(GiftCardService.row).reduce(into: [String: GiftCardRow]()) { $0[$1.id] = $1 }
        var results: [Result<Data, any Error>?] = Array(repeating: nil, count: redemptions.count)
        var accepted: [(index: Int, id: String, checked: CheckedRequest, country: String?, unit: LedgerUnit)] = []
        for (index, redemption) in redemptions.enumerated() {
            do {
                let checked = try await validate(on: sql, caller: redemption.caller, redemption.request, kind: "redemption",
                                                 cardIDsByCode: [0: redemption.cardID], now: now)
                let card = try Self.usable(cards[redemption.cardID], position: 0, now: now)
                guard card.currency == checked.currency else { throw CheckoutHoldError.currencyMismatch(card.currency, checkout: checked.currency, position: 0) }
                var country = checked.country
                if let refusal = try await restriction(of: card, checked, country: &country, on: sql, tenantID: tenantID) {
                    throw CheckoutHoldError.restricted(refusal, position: 0)
                }
                accepted.append((index, services.ids.make(.checkoutHold), checked, country, LedgerUnit.currency(Currency(code: card.currency)!)))
            } catch {
                results[index] = .failure(error)
            }
        }
        let transfers = accepted.map { entry in
            let cardID = redemptions[entry.index].cardID
            return LedgerTransferRequest(debitAccountID: cardID, creditAccountID: Self.redeemedAccount(.giftCard, unit: entry.unit, instrumentID: cardID),
                                         amount: entry.checked.instruments[0].amount, unit: entry.unit)
        }
        let posted = try await LedgerStore(tenantID: tenantID).postEach(
            on: sql, transfers, reasons: accepted.map(\.id), requestIDs: accepted.map { redemptions[$0.index].actor.requestID }, ids: services.ids, now: now)
        var holds: [(hold: CheckoutHold, json: Data, requestID: String?)] = []
        for (entry, result) in zip(accepted, posted) {
            switch result {
            case .success(let transfer):
                let part = CheckoutHoldPart(instrumentType: InstrumentType.giftCard.rawValue, instrumentId: transfer.debitAccountId, unit: entry.unit.rawValue,
                                            amount: transfer.amount, captured: transfer.amount, refunded: 0, transferId: transfer.id)
                let hold = CheckoutHold(id: entry.id, kind: "redemption", status: "captured", channelId: entry.checked.channel.id,
                                        currency: entry.checked.currency, country: entry.country, customerId: entry.checked.customerID,
                                        reference: entry.checked.reference, expiresAt: nil, parts: [part], createdAt: StoredTime(milliseconds: now),
                                        updatedAt: StoredTime(milliseconds: now))
                let json = try JSONCoding.encode(hold)
                holds.append((hold, json, redemptions[entry.index].actor.requestID))
                results[entry.index] = .success(json)
            case .failure(let refused):
                results[entry.index] = .failure(CheckoutHoldError.refused(refused, position: 0))
            }
        }
        try await insert(holds.map(\.hold), on: sql, tenantID: tenantID)
        try await services.events.append(on: sql, tenantID: tenantID, holds.map { (type: "redemption.created", data: EncodedJSON($0.json) as any Encodable, requestID: $0.requestID) })
        return results.map { $0! }
    }
}
