import OmniaCore

/// The journey event types Omnia knows; tenants may track others (`[a-z][a-z0-9_]*`).
enum JourneyEventType: String, CaseIterable, Sendable {
    case pageViewed = "page_viewed"
    case productViewed = "product_viewed"
    case cartUpdated = "cart_updated"
    case checkoutStarted = "checkout_started"
    case orderPlaced = "order_placed"
    case storeVisited = "store_visited"
    case search
    /// Raised by Omnia when a cart sits idle past the tenant's threshold; clients cannot track it.
    case cartAbandoned = "cart_abandoned"
}

/// One tracked event as sent: a single event is the body itself, a batch is `{"events": [...]}`.
struct TrackEventInput: Codable, Sendable {
    var type: String?
    var occurredAt: String?
    var anonymousId: String?
    var customerId: String?
    var identifiers: [IdentifierInput]?
    var channel: String?
    var properties: [String: JSONValue]?
}

/// `POST /v1/events/track`
struct TrackEventsRequest: RequestBody {
    var events: [TrackEventInput]
    var isBatch: Bool

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case events, type, occurredAt, anonymousId, customerId, identifiers, channel, properties
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if container.contains(.events) {
            events = try container.decode([TrackEventInput].self, forKey: .events)
            isBatch = true
        } else {
            events = [try TrackEventInput(from: decoder)]
            isBatch = false
        }
    }
}

/// A journey event as stored and shown.
struct JourneyEvent: Codable, Sendable {
    let id: String
    let type: String
    let customerId: String?
    let anonymousId: String?
    let channelId: String?
    let occurredAt: StoredTime
    let properties: StoredJSON
    let createdAt: StoredTime
}

/// What `POST /v1/events/track` answers.
struct TrackResult: Encodable, Sendable {
    let data: [JourneyEvent]
    /// Earlier anonymous events (and carts) this call attached to a customer.
    let stitched: Int
}
