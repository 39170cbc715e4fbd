/// A tenant's rules for customer identifiers: which kinds exist beyond the built-in ones, how values
/// are normalized, and which kinds are trusted enough to merge two customers without review.
public struct IdentityPolicy: Sendable, Equatable, Codable {
    /// Kinds whose shared value merges two customers automatically (`email`, `account_id`, `loyalty_card` by default).
    public var mergeOn: [String]
    /// Tenant-defined identifier kinds (`member_number`, `crm_id`…); any other unknown kind is refused,
    /// so a typo such as `emial` is an error instead of a new kind.
    public var customKinds: [String]
    /// Whether Gmail addresses ignore dots and `+tags` (see `IdentifierNormalization`).
    public var canonicalGmail: Bool
    /// Country whose numbering plan applies to phone numbers given without `+`; the tenant's country by default.
    public var defaultCountry: String?

    public init(mergeOn: [String], customKinds: [String], canonicalGmail: Bool, defaultCountry: String?) {
        self.mergeOn = mergeOn
        self.customKinds = customKinds
        self.canonicalGmail = canonicalGmail
        self.defaultCountry = defaultCountry
    }

    /// The policy of a tenant that has not set one.
    public static func defaults(country: String?) -> IdentityPolicy {
        IdentityPolicy(mergeOn: IdentifierKind.builtIn.filter(\.isStrong).map(\.name), customKinds: [], canonicalGmail: true, defaultCountry: country)
    }

    /// Kinds that can never merge customers on their own: devices and payment cards are shared in households.
    public static let neverMergeKinds: Set<String> = [IdentifierKind.deviceID.name, IdentifierKind.paymentToken.name]

    /// At most this many tenant-defined kinds.
    public static let maximumCustomKinds = 20

    public var normalization: IdentifierNormalization {
        IdentifierNormalization(defaultCountry: defaultCountry, canonicalGmail: canonicalGmail)
    }

    /// The kind called `name`, if it is built in or declared by the tenant.
    public func kind(named name: String) -> IdentifierKind? {
        guard let kind = IdentifierKind(name: name) else { return nil }
        if case .custom(let custom) = kind, !customKinds.contains(custom) { return nil }
        return kind
    }

    /// Whether a shared value of `kind` merges two customers without review.
    public func mergesOn(_ kind: IdentifierKind) -> Bool {
        mergeOn.contains(kind.name)
    }

    /// Every kind a request may use, for error messages.
    public var knownKinds: [String] { IdentifierKind.builtIn.map(\.name) + customKinds }

    /// The problems of a policy a tenant wants to set, as (field, code, detail).
    public func problems() -> [(field: String, code: String, detail: String)] {
        var problems: [(String, String, String)] = []
        if customKinds.count > Self.maximumCustomKinds {
            problems.append(("custom_kinds", "too_many", "at most \(Self.maximumCustomKinds) custom kinds"))
        }
        for (index, name) in customKinds.enumerated() {
            guard let kind = IdentifierKind(name: name) else {
                problems.append(("custom_kinds[\(index)]", "invalid_kind_name", "a kind name is 1–40 characters of a-z, 0-9 and '_', starting with a letter"))
                continue
            }
            if case .custom = kind {} else {
                problems.append(("custom_kinds[\(index)]", "built_in_kind", "\(name) is a built-in kind"))
            }
        }
        if Set(customKinds).count != customKinds.count {
            problems.append(("custom_kinds", "duplicate", "custom_kinds lists a kind twice"))
        }
        for (index, name) in mergeOn.enumerated() {
            if Self.neverMergeKinds.contains(name) {
                problems.append(("merge_on[\(index)]", "weak_kind", "\(name) is shared too often to merge customers on"))
            } else if kind(named: name) == nil {
                problems.append(("merge_on[\(index)]", "unknown_kind", "\(name) is neither a built-in kind nor one of custom_kinds"))
            }
        }
        return problems
    }
}
