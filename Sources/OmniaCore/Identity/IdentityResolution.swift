/// One identifier in its normalized form.
public struct NormalizedIdentifier: Hashable, Sendable, Codable {
    public let kind: String
    public let value: String

    public init(kind: String, value: String) {
        self.kind = kind
        self.value = value
    }
}

/// Where an identifier already points: the customer holding it and the customer that one resolves to
/// today (itself, or the survivor it was merged into).
public struct IdentifierMatch: Sendable, Equatable {
    public let identifier: NormalizedIdentifier
    public let holderID: String
    public let canonicalID: String

    public init(identifier: NormalizedIdentifier, holderID: String, canonicalID: String) {
        self.identifier = identifier
        self.holderID = holderID
        self.canonicalID = canonicalID
    }
}

/// What `identify` must do with a set of identifiers, decided without I/O from what they match.
public enum IdentityResolution: Equatable, Sendable {
    /// No identifier is known: a new customer holding all of them.
    case create(identifiers: [NormalizedIdentifier])
    /// All known identifiers lead to one customer; the unknown ones are attached to it.
    case attach(customerID: String, newIdentifiers: [NormalizedIdentifier])
    /// The identifiers lead to several customers and the policy lets them merge: the oldest survives.
    case merge(survivorID: String, mergedIDs: [String], linkingIdentifiers: [NormalizedIdentifier], newIdentifiers: [NormalizedIdentifier])
    /// The identifiers lead to several customers, and at least one of them only through a kind the
    /// policy does not merge on.
    case forbidden(customerIDs: [String], weakIdentifiers: [NormalizedIdentifier])

    /// Decides from the request's identifiers and their existing matches. IDs sort by creation time,
    /// so the smallest canonical ID is the oldest customer.
    public static func resolve(_ identifiers: [NormalizedIdentifier], matches: [IdentifierMatch], policy: IdentityPolicy) -> IdentityResolution {
        let known = Set(matches.map(\.identifier))
        var seen = Set<NormalizedIdentifier>()
        let newIdentifiers = identifiers.filter { !known.contains($0) && seen.insert($0).inserted }
        let customers = Set(matches.map(\.canonicalID)).sorted()
        guard let survivor = customers.first else { return .create(identifiers: newIdentifiers) }
        if customers.count == 1 { return .attach(customerID: survivor, newIdentifiers: newIdentifiers) }

        // Every customer must be reached through at least one mergeable identifier; one reached only
        // through a device or a payment token may be another member of the household.
        var weak: [NormalizedIdentifier] = []
        for customer in customers {
            let links = matches.filter { $0.canonicalID == customer }
            let trusted = links.contains { match in policy.kind(named: match.identifier.kind).map(policy.mergesOn) ?? false }
            if !trusted { weak += links.map(\.identifier) }
        }
        if !weak.isEmpty { return .forbidden(customerIDs: customers, weakIdentifiers: weak) }
        let linking = matches.filter { match in policy.kind(named: match.identifier.kind).map(policy.mergesOn) ?? false }.map(\.identifier)
        return .merge(survivorID: survivor, mergedIDs: Array(customers.dropFirst()), linkingIdentifiers: linking, newIdentifiers: newIdentifiers)
    }
}
