import HTTPTypes
import OmniaCore

/// Errors of sales, returns and claims, each with its problem code.
enum TransactionError: ProblemConvertible {
    /// The channel already recorded a different transaction under this external id.
    case externalIDTaken(externalID: String, transactionID: String)
    /// A return asks for more units of a line than remain unreturned.
    case overReturn([FieldError])
    /// The stated total is not what the lines, discounts and taxes add up to.
    case totalMismatch(stated: Int64, computed: Int64)
    /// The tenders do not add up to the total.
    case tendersMismatch(tendered: Int64, total: Int64)
    /// Order discounts larger than the lines they discount.
    case discountsExceedSubtotal(discounts: Int64, subtotal: Int64)
    /// The claim code was claimed by another customer already.
    case alreadyClaimed(transactionID: String)
    case claimCodeNotFound

    var problem: Problem {
        switch self {
        case .externalIDTaken(let externalID, let transactionID):
            Problem(.conflict, code: "external_id_taken",
                    detail: "this channel already recorded a different transaction as '\(externalID)' (\(transactionID)); a retry must send the same content",
                    errors: [FieldError(field: "external_id", code: "external_id_taken", detail: "already used by \(transactionID)")],
                    extensions: ["transaction_id": .string(transactionID)])
        case .overReturn(let errors):
            Problem(.unprocessableContent, code: "over_return", detail: errors.map(\.detail).joined(separator: "; "), errors: errors)
        case .totalMismatch(let stated, let computed):
            Problem(.unprocessableContent, code: "total_mismatch",
                    detail: "total is \(stated) but the lines, discounts and taxes add up to \(computed)",
                    errors: [FieldError(field: "total", code: "total_mismatch", detail: "expected \(computed)")])
        case .tendersMismatch(let tendered, let total):
            Problem(.unprocessableContent, code: "tenders_mismatch", detail: "the tenders add up to \(tendered) but the total is \(total)",
                    errors: [FieldError(field: "tenders", code: "tenders_mismatch", detail: "expected tenders adding up to \(total)")])
        case .discountsExceedSubtotal(let discounts, let subtotal):
            Problem(.unprocessableContent, code: "discounts_exceed_subtotal",
                    detail: "order discounts of \(discounts) exceed the lines' total of \(subtotal)",
                    errors: [FieldError(field: "discounts", code: "discounts_exceed_subtotal", detail: "at most \(subtotal)")])
        case .alreadyClaimed(let transactionID):
            Problem(.conflict, code: "already_claimed", detail: "this receipt was already claimed by another customer",
                    extensions: ["transaction_id": .string(transactionID)])
        case .claimCodeNotFound:
            Problem(.notFound, code: "not_found", detail: "no receipt with that claim code")
        }
    }
}

/// Another request recorded the same external id at the same instant; running again finds it.
struct TransactionRaceLost: RetryableConflict, ProblemConvertible {
    var problem: Problem {
        Problem(.conflict, code: "concurrent_update", detail: "this transaction was recorded by another request at the same time; retry")
    }
}
