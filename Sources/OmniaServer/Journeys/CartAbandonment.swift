import Foundation
import Logging
import OmniaCore
import ServiceLifecycle
import SQLKit

/// Raises `cart_abandoned` for carts left open past their tenant's threshold (60 minutes unless
/// `PATCH /v1/tenant` sets `cart_abandonment_minutes`): a journey event on the customer's timeline
/// and a `cart.abandoned` outbox event for campaigns and webhooks. Each cart is claimed with a
/// conditional write, so several servers sweeping at once raise it once.
struct CartAbandonment: Sendable {
    let services: AppServices
    static let defaultMinutes = 60
    static let batch = 500

    /// One sweep; returns how many carts it marked abandoned.
    @discardableResult
    func sweep() async throws -> Int {
        let now = services.nowMilliseconds
        return try await services.database.transaction { sql in
            let due = try await sql.raw("""
                SELECT c.tenant_id, c.cart_key, c.customer_id, c.anonymous_id, c.channel_id, c.item_count, c.value, c.currency, c.last_activity_at
                FROM carts c JOIN tenants t ON t.id = c.tenant_id
                WHERE c.state = 'open' AND c.last_activity_at < \(bind: now) - COALESCE(t.cart_abandonment_minutes, \(literal: Self.defaultMinutes)) * 60000
                ORDER BY c.last_activity_at LIMIT \(literal: Self.batch)\(unsafeRaw: services.database.dialect == .postgres ? " FOR UPDATE OF c SKIP LOCKED" : "")
                """).rows(DueCart.self)
            var raised = 0
            for cart in due {
                let claimed = try await sql.raw("""
                    UPDATE carts SET state = 'abandoned', abandoned_at = \(bind: now)
                    WHERE tenant_id = \(bind: cart.tenantId) AND cart_key = \(bind: cart.cartKey) AND state = 'open'
                    AND last_activity_at = \(bind: cart.lastActivityAt)
                    RETURNING cart_key
                    """).first()
                guard claimed != nil else { continue }
                var properties: [String: JSONValue] = ["idle_since": .string(Timestamp.text(cart.lastActivityAt))]
                if cart.cartKey.hasPrefix("cart:") { properties["cart_id"] = .string(String(cart.cartKey.dropFirst(5))) }
                if let value = cart.value { properties["value"] = .integer(value) }
                if let items = cart.itemCount { properties["item_count"] = .integer(items) }
                if let currency = cart.currency { properties["currency"] = .string(currency) }
                let event = JourneyEvent(id: services.ids.make(.journeyEvent), type: JourneyEventType.cartAbandoned.rawValue, customerId: cart.customerId,
                                         anonymousId: cart.anonymousId, channelId: cart.channelId, occurredAt: StoredTime(milliseconds: now),
                                         properties: StoredJSON(.object(properties)), createdAt: StoredTime(milliseconds: now))
                try await JourneyService(services: services).insert(on: sql, tenantID: cart.tenantId, event)
                try await services.events.append(on: sql, tenantID: cart.tenantId, type: "cart.abandoned", data: event, requestID: nil)
                raised += 1
            }
            return raised
        }
    }

    private struct DueCart: Decodable {
        let tenantId: String
        let cartKey: String
        let customerId: String?
        let anonymousId: String?
        let channelId: String?
        let itemCount: Int64?
        let value: Int64?
        let currency: String?
        let lastActivityAt: Int64
    }
}

/// Runs the abandonment sweep every minute in the background of `omnia serve`.
struct CartAbandonmentWorker: Service {
    let services: AppServices
    static let interval = Duration.seconds(60)

    func run() async throws {
        await repeatUntilShutdown(every: Self.interval, logger: services.logger, failure: "cart abandonment sweep failed") { [services] in
            let raised = try await CartAbandonment(services: services).sweep()
            if raised > 0 { services.logger.info("carts abandoned", metadata: ["count": .stringConvertible(raised)]) }
        }
    }
}
