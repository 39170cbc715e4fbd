import HTTPTypes
import OmniaCore

/// Errors of the identity capability, each with its problem code.
enum IdentityError: ProblemConvertible {
    /// The identifier already belongs to another customer (only `identify` and merges move identifiers between customers).
    case identifierTaken(NormalizedIdentifier, customerID: String, field: String)
    /// The identifiers lead to several customers, some only through kinds the policy does not merge on.
    case mergeForbidden(customerIDs: [String], weakIdentifiers: [NormalizedIdentifier])
    /// Unmerge of a customer that is not merged into another.
    case notMerged(String)
    /// A merge of a customer with itself (or with one already merged into it).
    case alreadyOneCustomer(String)

    var problem: Problem {
        switch self {
        case .identifierTaken(let identifier, let customerID, let field):
            Problem(.conflict, code: "identifier_taken", detail: "\(identifier.kind) '\(identifier.value)' already belongs to customer \(customerID)",
                    errors: [FieldError(field: field, code: "identifier_taken", detail: "this identifier belongs to \(customerID)")],
                    extensions: ["customer_id": .string(customerID)])
        case .mergeForbidden(let customerIDs, let weak):
            Problem(.conflict, code: "merge_forbidden",
                    detail: "the identifiers belong to customers \(customerIDs.joined(separator: " and ")); "
                        + "\(Set(weak.map(\.kind)).sorted().joined(separator: ", ")) alone does not merge customers under this tenant's policy",
                    extensions: ["customer_ids": .array(customerIDs.map(JSONValue.string))])
        case .notMerged(let id):
            Problem(.conflict, code: "not_merged", detail: "customer \(id) is not merged into another customer")
        case .alreadyOneCustomer(let id):
            Problem(.conflict, code: "already_merged", detail: "both ids already resolve to customer \(id)",
                    extensions: ["customer_id": .string(id)])
        }
    }
}

/// A concurrent writer changed the customers this transaction was about to merge; the transaction
/// is rolled back and run again on fresh data. Only if that keeps happening does the client see it.
struct IdentityRaceLost: RetryableConflict, ProblemConvertible {
    var problem: Problem {
        Problem(.conflict, code: "concurrent_update", detail: "these customers were changed by another request at the same time; retry")
    }
}
