import HTTPTypes
import OmniaCore

/// Errors of the platform capability (tenants, channels, locations, keys), each with its problem code.
enum PlatformError: ProblemConvertible {
    case codeTaken(kind: String, code: String)
    case tenantNotFound(String)
    case keyAlreadyRevoked
    case cannotRevokeOwnKey

    var problem: Problem {
        switch self {
        case .codeTaken(let kind, let code):
            Problem(.conflict, code: "code_taken", detail: "a \(kind) with code '\(code)' already exists",
                    errors: [FieldError(field: "code", code: "taken", detail: "code must be unique")])
        case .tenantNotFound(let id):
            Problem(.notFound, code: "not_found", detail: "no tenant \(id)")
        case .keyAlreadyRevoked:
            Problem(.conflict, code: "already_revoked", detail: "this API key is already revoked")
        case .cannotRevokeOwnKey:
            Problem(.conflict, code: "cannot_revoke_own_key",
                    detail: "a key cannot revoke itself; revoke it with another admin key (create the replacement first)")
        }
    }
}
