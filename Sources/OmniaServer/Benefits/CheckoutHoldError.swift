import HTTPTypes
import OmniaCore

/// The refusals of holds and redemptions, each a stable problem `code`. A refusal caused by one
/// instrument names its position in the request's `instruments` as the `instrument` member.
enum CheckoutHoldError {
    static func refused(_ refused: LedgerRefused, position: Int) -> Problem {
        var problem = GiftCardError.refused(refused)
        if refused.refusal == .exceedsCredits { problem.detail = "instrument \(position) has too little available for this amount" }
        return problem.naming(position)
    }

    static func restricted(_ detail: String, position: Int) -> Problem {
        Problem(.conflict, code: "instrument_restricted", detail: detail).naming(position)
    }

    static func unusable(_ status: String, position: Int) -> Problem {
        GiftCardError.unusable(status).naming(position)
    }

    static func currencyMismatch(_ currency: String, checkout: String, position: Int) -> Problem {
        Problem(.conflict, code: "currency_mismatch", detail: "instrument \(position) counts \(currency); the checkout is in \(checkout)").naming(position)
    }

    static func unknownInstrument(position: Int, noun: String) -> Problem {
        Problem.validation([FieldError(field: "instruments[\(position)].id", code: "unknown_instrument",
                                       detail: "instruments[\(position)].id does not name a \(noun) of this tenant")])
    }

    /// Store credit and points are spent by their owner: `store_credit_not_owned`, `points_not_owned`.
    static func notOwned(position: Int, type: InstrumentType) -> Problem {
        Problem(.conflict, code: "\(type.rawValue)_not_owned",
                detail: "\(type == .points ? "points are" : "store credit is") spent by the customer they belong to; give that customer's customer_id")
            .naming(position)
    }

    static func programmeInactive(position: Int) -> Problem {
        Problem(.conflict, code: "programme_inactive", detail: "the points' loyalty programme is inactive; they cannot be spent now").naming(position)
    }

    /// A capture or void of a hold no longer open: `hold_already_captured`, `hold_already_voided` or `hold_expired`.
    static func notOpen(_ status: String) -> Problem {
        switch status {
        case "expired": Problem(.conflict, code: "hold_expired", detail: "the hold expired; what it reserved is released")
        case "captured", "voided": Problem(.conflict, code: "hold_already_\(status)", detail: "the hold was \(status) already")
        default: Problem(.conflict, code: "hold_not_open", detail: "the hold is \(status)")
        }
    }

    static let exceedsHold = Problem(.conflict, code: "exceeds_hold", detail: "a capture cannot take more than the hold reserved")

    static func exceedsRefundable(_ refundable: Int64) -> Problem {
        Problem(.conflict, code: "exceeds_refundable", detail: "only \(refundable) of what was captured is left to refund",
                extensions: ["refundable": .integer(refundable)])
    }

    static func notCaptured(_ status: String) -> Problem {
        Problem(.conflict, code: "hold_not_captured", detail: "only a captured hold or a redemption can be refunded; this one is \(status)")
    }
}

extension Problem {
    /// The problem, naming the request's instrument at `position` (`instrument`).
    func naming(_ position: Int) -> Problem {
        var problem = self
        problem.extensions["instrument"] = .integer(Int64(position))
        return problem
    }
}
