import HTTPTypes
import OmniaCore

/// The gift card refusals the API answers with, each a stable problem `code`.
enum GiftCardError {
    /// Unknown code, wrong or missing PIN, locked card: one answer, so codes and PINs cannot be told apart by probing.
    static let notFound = Problem(.notFound, code: "gift_card_not_found", detail: "no gift card matches this code and PIN")

    static func unusable(_ status: String) -> Problem {
        Problem(.conflict, code: "gift_card_\(status)", detail: "the gift card is \(status)")
    }

    static let alreadyActive = Problem(.conflict, code: "gift_card_active", detail: "the gift card is active already")

    /// A ledger refusal as the API shows it.
    static func refused(_ refused: LedgerRefused) -> Problem {
        switch refused.refusal {
        case .exceedsCredits: Problem(.conflict, code: "insufficient_funds", detail: "the gift card's available balance is too low")
        case .overflow: Problem(.conflict, code: "balance_overflow", detail: "the amount would overflow the card's balance")
        default: Problem(.conflict, code: refused.refusal.rawValue, detail: "the ledger refused the transfer (\(refused.refusal.rawValue))")
        }
    }
}
