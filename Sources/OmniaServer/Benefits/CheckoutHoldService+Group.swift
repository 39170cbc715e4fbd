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

    /// A redemption `checkEach` found good: what `writeEach` takes from its card.
    struct CheckedRedemption: Sendable {
        let id: String
        let cardID: String
        let checked: CheckedRequest
        let country: String?
        let unit: LedgerUnit
        let requestID: String?
    }

    /// Redemptions of one card each, checked as `create` checks them — everything but whether their
    /// card still holds enough — with one read of their cards. This needs no lock, so it runs before
    /// the group's transaction, on any connection: the transaction then holds its locks only while
    /// it writes. (A card disabled meanwhile is disabled after these redemptions, as it would be had
    /// the transaction read it unlocked.) One result per redemption, in order.
    func checkEach(on sql: any SQLDatabase, tenantID: String, _ redemptions: [SingleCardRedemption], now: Int64) async throws
        -> [Result<CheckedRedemption, any Error>] {
        let cardIDs = Array(Set(redemptions.map(\.cardID)))
        let cards = try await sql.raw("SELECT * FROM gift_cards WHERE tenant_id = \(bind: tenantID) AND id IN (\(binds: cardIDs))").all()
            .map(GiftCardService.row).reduce(into: [String: GiftCardRow]()) { $0[$1.id] = $1 }
        var results: [Result<CheckedRedemption, any Error>] = []
        for redemption in redemptions {
            do {
                let checked = try await validate(on: sql, caller: redemption.caller, redemption.request, kind: "redemption",
                                                 cardIDsByCode: [0: redemption.cardID], now: now)
                let card = try Self.usable(cards[redemption.cardID], position: 0, now: now)
                guard card.currency == checked.currency else { throw CheckoutHoldError.currencyMismatch(card.currency, checkout: checked.currency, position: 0) }
                var country = checked.country
                if let refusal = try await restriction(of: card, checked, country: &country, on: sql, tenantID: tenantID) {
                    throw CheckoutHoldError.restricted(refusal, position: 0)
                }
                results.append(.success(CheckedRedemption(id: services.ids.make(.checkoutHold), cardID: redemption.cardID, checked: checked, country: country,
                                                          unit: LedgerUnit.currency(Currency(code: card.currency)!), requestID: redemption.actor.requestID)))
            } catch {
                results.append(.failure(error))
            }
        }
        return results
    }

    /// Writes the redemptions `checkEach` found good, in the caller's transaction: each amount is
    /// taken in turn while enough is left on its card — by `accounts`, the cards' accounts read
    /// before the transaction, and checked again as they are written (`LedgerStore.postEach`). One
    /// result per redemption, in order: what it would have got alone, its redemption (as JSON:
    /// encoded once for its event and its response) or its refusal — `checkEach`'s passed on.
    /// Nothing of a refused one is written. All its writes are held: on PostgreSQL, one statement.
    func writeEach(on sql: any SQLDatabase, tenantID: String, _ checkedRedemptions: [Result<CheckedRedemption, any Error>],
                   accounts: [String: LedgerAccount], now: Int64) async throws -> [Result<Data, any Error>] {
        var results: [Result<Data, any Error>?] = checkedRedemptions.map { checked in
            if case .failure(let error) = checked { return .failure(error) }
            return nil
        }
        let accepted = checkedRedemptions.enumerated().compactMap { index, checked in (try? checked.get()).map { (index: index, redemption: $0) } }
        // One part of the control account for the whole group, picked by its first redemption's new
        // id (as earning does): each card's own part would have every group take a lock on most of
        // the parts, held through its commit, and the groups written at once wait on one another.
        let controlPart = accepted.first?.redemption.id ?? ""
        let transfers = accepted.map { entry in
            let redemption = entry.redemption
            return LedgerTransferRequest(debitAccountID: redemption.cardID,
                                         creditAccountID: Self.redeemedAccount(.giftCard, unit: redemption.unit, instrumentID: controlPart),
                                         amount: redemption.checked.instruments[0].amount, unit: redemption.unit)
        }
        let posted = try await LedgerStore(tenantID: tenantID).postEach(
            on: sql, transfers, accounts: accounts, reasons: accepted.map(\.redemption.id), requestIDs: accepted.map(\.redemption.requestID), ids: services.ids, now: now)
        var holds: [(hold: CheckoutHold, json: Data, requestID: String?)] = []
        for (entry, result) in zip(accepted, posted) {
            let redemption = entry.redemption
            switch result {
            case .success(let transfer):
                let part = CheckoutHoldPart(instrumentType: InstrumentType.giftCard.rawValue, instrumentId: transfer.debitAccountId, unit: redemption.unit.rawValue,
                                            amount: transfer.amount, captured: transfer.amount, refunded: 0, transferId: transfer.id)
                let hold = CheckoutHold(id: redemption.id, kind: "redemption", status: "captured", channelId: redemption.checked.channel.id,
                                        currency: redemption.checked.currency, country: redemption.country, customerId: redemption.checked.customerID,
                                        reference: redemption.checked.reference, expiresAt: nil, parts: [part], createdAt: StoredTime(milliseconds: now),
                                        updatedAt: StoredTime(milliseconds: now))
                let json = try JSONCoding.encode(hold)
                holds.append((hold, json, redemption.requestID))
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
