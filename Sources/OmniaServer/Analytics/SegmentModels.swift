import OmniaCore

/// `POST /v1/segments` and `PATCH /v1/segments/{id}` (every field optional there).
struct SegmentRequest: RequestBody {
    /// How rules name the segment (`"vip" in customer.segments`): lower case, digits and `_`.
    var code: String?
    var name: String?
    var description: String?
    /// `dynamic` (the default): the customers `rule` holds for, kept current as profiles change;
    /// `static`: the customers listed, changed with `POST /v1/segments/{id}/members`.
    var kind: String?
    /// Of a dynamic segment: a rule over `customer` (the live profile) and `context` (docs/analytics.md).
    var rule: String?
    /// Of a static segment: its first members.
    var customerIds: [String]?
    /// `active` (the default) or `archived` (no longer refreshed, nor in `customer.segments`).
    var status: String?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable { case code, name, description, kind, rule, customerIds, status }
}

/// `POST /v1/segments/{id}/members`: customers added to or removed from a static segment.
struct SegmentMembersRequest: RequestBody {
    var add: [String]?
    var remove: [String]?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable { case add, remove }
}

/// `POST /v1/segments/estimate`: how many customers a draft rule holds for, before it is saved.
struct SegmentEstimateRequest: RequestBody {
    var rule: String?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable { case rule }
}

/// A segment as stored and shown.
struct SegmentView: Codable, Sendable {
    let id: String
    let code: String
    let name: String
    let description: String?
    let kind: String
    /// The canonical text of a dynamic segment's rule.
    let rule: String?
    let status: String
    let version: Int
    /// Members as of the last refresh (or change, of a static segment).
    let size: Int64
    /// When the membership was last computed; null until the first refresh of a new dynamic segment.
    let refreshedAt: StoredTime?
    let createdAt: StoredTime
    let updatedAt: StoredTime
}

/// A member of a segment and since when.
struct SegmentMember: Codable, Sendable {
    let customerId: String
    let enteredAt: StoredTime
}

/// A refresh (or change) that moved a segment: its size after, and who entered and left.
struct SegmentSize: Codable, Sendable {
    let measuredAt: StoredTime
    let size: Int64
    let entered: Int64
    let exited: Int64
}

/// What `POST /v1/segments/estimate` answers.
struct SegmentEstimate: Encodable, Sendable {
    /// The canonical text of the rule.
    let rule: String
    let size: Int
    /// Customers considered (every customer not merged into another).
    let customers: Int
    /// Up to 10 of the customers it holds for, in id order.
    let sample: [String]
}

/// The payload of `segment.entered` and `segment.exited`.
struct SegmentMembershipEvent: Encodable, Sendable {
    let segmentId: String
    let segmentCode: String
    let customerId: String
}
