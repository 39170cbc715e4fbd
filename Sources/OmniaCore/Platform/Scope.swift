/// What an API key may do. `admin` implies every other scope; the others are least-privilege roles
/// for a till (`pos`), a web shop (`ecommerce`), an agent desk (`service`) or a read-only analyst.
public enum Scope: String, Sendable, Codable, CaseIterable, Comparable {
    case admin
    case pos
    case ecommerce
    case service
    case analyticsRead = "analytics:read"

    public static func < (lhs: Scope, rhs: Scope) -> Bool { lhs.rawValue < rhs.rawValue }
}

extension Set where Element == Scope {
    /// Whether a key holding these scopes may perform an action needing any of `required`.
    public func permits(anyOf required: Set<Scope>) -> Bool {
        contains(.admin) || !isDisjoint(with: required)
    }
}
