import Foundation
import OmniaCore
import SQLKit

/// Journey events from every channel: who did what, where and when — landing on the customer when
/// known, on an anonymous id until then, and stitched to the customer once they identify. Cart
/// events keep a cart's state for the abandonment sweep.
struct JourneyService: Sendable {
    let services: AppServices

    private var dialect: SQLDialectKind { services.database.dialect }

    /// Records a batch of events in one transaction: all of them, or (on any refusal) none.
    func track(on sql: any SQLDatabase, caller: Caller, _ request: TrackEventsRequest, actor: Actor) async throws -> TrackResult {
        let now = services.nowMilliseconds
        let drafts = try JourneyValidation.drafts(request, now: now, policy: caller.identityPolicy)
        let tenantID = caller.tenantID
        var channels: [String: String] = [:]
        var stitched = 0
        var recorded: [JourneyEvent] = []
        for (index, draft) in drafts.enumerated() {
            let path = request.isBatch ? "events[\(index)]." : ""
            var channelID = caller.channelID
            if let reference = draft.channel {
                if channels[reference] == nil {
                    channels[reference] = try await services.platform.knownChannel(on: sql, tenantID: tenantID, reference)?.id
                }
                guard let resolved = channels[reference] else {
                    throw Problem.validation([FieldError(field: "\(path)channel", code: "unknown_channel", detail: "channel does not name a channel (by code or id) of this tenant")])
                }
                if let bound = caller.channelID, bound != resolved {
                    throw Problem.validation([FieldError(field: "\(path)channel", code: "channel_mismatch", detail: "this key tracks events for channel \(bound) only")])
                }
                channelID = resolved
            }
            var customerID = try await services.identity.namedCustomer(
                on: sql, tenantID: tenantID, policy: caller.identityPolicy, id: draft.customerID, identifiers: draft.identifiers,
                field: "\(path)customer_id", channelID: channelID, actor: actor)
            if let anonymousID = draft.anonymousID {
                if let customerID {
                    stitched += try await stitch(on: sql, tenantID: tenantID, anonymousID: anonymousID, customerID: customerID)
                } else {
                    customerID = try await sql.raw("""
                        SELECT customer_id FROM anonymous_ids WHERE tenant_id = \(bind: tenantID) AND anonymous_id = \(bind: anonymousID)
                        """).first(decodingColumn: "customer_id", as: String.self)
                }
            }
            let event = JourneyEvent(id: services.ids.make(.journeyEvent), type: draft.type, customerId: customerID, anonymousId: draft.anonymousID,
                                     channelId: channelID, occurredAt: StoredTime(milliseconds: draft.occurredAt),
                                     properties: StoredJSON(.object(draft.properties)), createdAt: StoredTime(milliseconds: now))
            try await insert(on: sql, tenantID: tenantID, event)
            try await CartTracker(tenantID: tenantID, dialect: dialect).apply(event, properties: draft.properties, on: sql)
            recorded.append(event)
        }
        return TrackResult(data: recorded, stitched: stitched)
    }

    func insert(on sql: any SQLDatabase, tenantID: String, _ event: JourneyEvent) async throws {
        try await sql.runDeferrable("""
            INSERT INTO journey_events (tenant_id, id, type, customer_id, anonymous_id, channel_id, occurred_at, properties, created_at)
            VALUES (\(bind: tenantID), \(bind: event.id), \(bind: event.type), \(bind: event.customerId), \(bind: event.anonymousId),
                \(bind: event.channelId), \(bind: event.occurredAt.milliseconds), \(bind: try JSONCoding.text(event.properties.value)),
                \(bind: event.createdAt.milliseconds))
            """)
    }

    /// Ties an anonymous id to a customer (the first customer it was seen with keeps it) and gives
    /// them its earlier anonymous events and carts. Returns how many events were stitched.
    func stitch(on sql: any SQLDatabase, tenantID: String, anonymousID: String, customerID: String) async throws -> Int {
        let owner = try await sql.raw("""
            INSERT INTO anonymous_ids (tenant_id, anonymous_id, customer_id, stitched_at)
            VALUES (\(bind: tenantID), \(bind: anonymousID), \(bind: customerID), \(bind: services.nowMilliseconds))
            ON CONFLICT (tenant_id, anonymous_id) DO UPDATE SET stitched_at = anonymous_ids.stitched_at
            RETURNING customer_id
            """).first(decodingColumn: "customer_id", as: String.self)
        guard owner == customerID else { return 0 }
        let events = try await sql.raw("""
            UPDATE journey_events SET customer_id = \(bind: customerID)
            WHERE tenant_id = \(bind: tenantID) AND anonymous_id = \(bind: anonymousID) AND customer_id IS NULL
            RETURNING id
            """).all().count
        try await sql.raw("""
            UPDATE carts SET customer_id = \(bind: customerID)
            WHERE tenant_id = \(bind: tenantID) AND anonymous_id = \(bind: anonymousID) AND customer_id IS NULL
            """).run()
        if events > 0 {
            try await services.events.append(on: sql, tenantID: tenantID, type: "customer.stitched",
                                              data: ["customer_id": JSONValue.string(customerID), "anonymous_id": .string(anonymousID),
                                                     "events": .integer(Int64(events))], requestID: nil)
        }
        return events
    }
}

/// Keeps each cart's state from the events about it: `cart_updated` opens or refreshes it,
/// `order_placed` closes the buyer's open carts. A cart is keyed by its `cart_id` property when
/// given, otherwise by who holds it (customer or anonymous id).
struct CartTracker: Sendable {
    let tenantID: String
    let dialect: SQLDialectKind

    func apply(_ event: JourneyEvent, properties: [String: JSONValue], on sql: any SQLDatabase) async throws {
        guard let holder = event.customerId.map({ "cus:\($0)" }) ?? event.anonymousId.map({ "anon:\($0)" }) else { return }
        switch event.type {
        case JourneyEventType.cartUpdated.rawValue, JourneyEventType.checkoutStarted.rawValue:
            var key = holder
            if case .string(let cartID)? = properties["cart_id"] { key = "cart:\(cartID)" }
            let value = Self.integer(properties["value"])
            let items = Self.integer(properties["item_count"])
            var currency: String?
            if case .string(let code)? = properties["currency"] { currency = code }
            try await sql.raw("""
                INSERT INTO carts (tenant_id, cart_key, customer_id, anonymous_id, channel_id, state, item_count, value, currency, last_activity_at)
                VALUES (\(bind: tenantID), \(bind: key), \(bind: event.customerId), \(bind: event.anonymousId), \(bind: event.channelId), 'open',
                    \(bind: items), \(bind: value), \(bind: currency), \(bind: event.occurredAt.milliseconds))
                ON CONFLICT (tenant_id, cart_key) DO UPDATE SET state = 'open', abandoned_at = NULL,
                    customer_id = COALESCE(excluded.customer_id, carts.customer_id), anonymous_id = COALESCE(excluded.anonymous_id, carts.anonymous_id),
                    channel_id = COALESCE(excluded.channel_id, carts.channel_id), item_count = COALESCE(excluded.item_count, carts.item_count),
                    value = COALESCE(excluded.value, carts.value), currency = COALESCE(excluded.currency, carts.currency),
                    last_activity_at = \(unsafeRaw: dialect == .postgres ? "GREATEST" : "max")(carts.last_activity_at, excluded.last_activity_at)
                """).run()
        case JourneyEventType.orderPlaced.rawValue:
            var condition: SQLQueryString = "customer_id = \(bind: event.customerId ?? "")"
            if let anonymousID = event.anonymousId { condition += " OR anonymous_id = \(bind: anonymousID)" }
            if case .string(let cartID)? = properties["cart_id"] { condition += " OR cart_key = \(bind: "cart:\(cartID)")" }
            try await sql.raw("""
                UPDATE carts SET state = 'ordered', last_activity_at = \(bind: event.occurredAt.milliseconds)
                WHERE tenant_id = \(bind: tenantID) AND state = 'open' AND (\(condition))
                """).run()
        default:
            break
        }
    }

    static func integer(_ value: JSONValue?) -> Int64? {
        switch value {
        case .integer(let number): number
        case .number(let number): Int64(exactly: number)
        default: nil
        }
    }
}
