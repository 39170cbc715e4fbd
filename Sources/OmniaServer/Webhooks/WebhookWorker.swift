import Foundation
import Logging
import OmniaCore
import SQLKit
import ServiceLifecycle

/// Delivers the outbox to webhook endpoints. Two steps, each safe with several server processes on
/// one PostgreSQL (rows are claimed with `FOR UPDATE SKIP LOCKED`) and on SQLite (one writer):
/// 1. dispatch: turn each new event into one pending delivery per matching endpoint;
/// 2. deliver: send due deliveries, signed per Standard Webhooks, and reschedule failures with
///    exponential backoff for about a day before giving up.
struct WebhookWorker: Service {
    let services: AppServices

    /// Waits after attempt 1, 2, …; the last entry ends the schedule (about 27 hours in all).
    static let retryDelaysSeconds: [Int64] = [5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200]
    /// A claimed delivery that was neither delivered nor rescheduled within this time is tried again.
    static let claimLeaseMilliseconds: Int64 = 60_000
    static let dispatchBatch = 500
    static let deliveryBatch = 32

    /// The pause after a round that found work but filled neither batch. Under steady load, going
    /// straight on read the outbox every few milliseconds for a handful of events, each round a
    /// transaction of its own beside the writes that made them (on PostgreSQL as many statements as
    /// the redemptions' own); pausing lets hundreds gather for one round, for at most this much
    /// more delay before an event's deliveries are queued.
    static let gatherPause = Duration.milliseconds(50)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                var pause: Duration? = services.config.webhookPollInterval
                do {
                    let dispatched = try await dispatch()
                    pause = Self.pause(dispatched: dispatched, delivered: try await deliverDue(), idle: services.config.webhookPollInterval)
                } catch {
                    services.logger.error("webhook worker failed", metadata: ["error": .string(String(describing: error))])
                }
                if let pause { try? await Task.sleep(for: pause) }
            }
        }
    }

    /// How long to wait after a round that handled `dispatched` events and `delivered` deliveries:
    /// not at all after a full batch (more is waiting), `gatherPause` after some work, `idle` after none.
    static func pause(dispatched: Int, delivered: Int, idle: Duration) -> Duration? {
        if dispatched >= dispatchBatch || delivered >= deliveryBatch { return nil }
        return dispatched + delivered > 0 ? min(idle, gatherPause) : idle
    }

    /// One dispatch and one delivery round; returns how many rows it handled (0 when idle).
    @discardableResult
    func runOnce() async throws -> Int {
        let dispatched = try await dispatch()
        let delivered = try await deliverDue()
        return dispatched + delivered
    }

    // MARK: Dispatch

    private struct PendingEvent: Decodable {
        let tenantId: String
        let id: String
        let type: String
        let createdAt: Int64
    }

    private struct EndpointFilter: Decodable {
        let tenantId: String
        let id: String
        let eventTypes: String
        let createdAt: Int64
    }

    func dispatch() async throws -> Int {
        let now = services.nowMilliseconds
        let dialect = services.database.dialect
        return try await services.database.transaction { sql in
            let events = try await sql.raw("""
                SELECT tenant_id, event_id AS id, type, created_at FROM event_outbox
                ORDER BY created_at LIMIT \(literal: Self.dispatchBatch)\(unsafeRaw: dialect.skipLockedClause)
                """).rows(PendingEvent.self)
            guard !events.isEmpty else { return 0 }
            let tenants = Array(Set(events.map(\.tenantId)))
            let endpoints = try await sql.raw("""
                SELECT tenant_id, id, event_types, created_at FROM webhook_endpoints
                WHERE deleted_at IS NULL AND tenant_id IN \(SQLBind.group(tenants))
                """).rows(EndpointFilter.self)
            let byTenant = Dictionary(grouping: endpoints, by: \.tenantId)
            var deliveries: [any SQLExpression] = []
            for event in events {
                // An endpoint receives what happens from its creation on, not the tenant's history.
                for endpoint in byTenant[event.tenantId] ?? []
                where event.createdAt >= endpoint.createdAt && EventTypeFilter.matches(endpoint.eventTypes.split(separator: " "), event.type) {
                    let row: [any Encodable & Sendable] = [
                        event.tenantId, services.ids.make(.webhookDelivery), endpoint.id, event.id, event.type, "pending", 0, now, now,
                    ]
                    deliveries.append(SQLBind.group(row))
                }
            }
            for chunk in stride(from: 0, to: deliveries.count, by: 100).map({ Array(deliveries[$0..<min($0 + 100, deliveries.count)]) }) {
                try await sql.raw("""
                    INSERT INTO webhook_deliveries (tenant_id, id, endpoint_id, event_id, event_type, status, attempts, next_attempt_at, created_at)
                    VALUES \(SQLList(chunk))
                    ON CONFLICT (tenant_id, endpoint_id, event_id) DO NOTHING
                    """).run()
            }
            for (tenant, tenantEvents) in Dictionary(grouping: events, by: \.tenantId) {
                try await sql.raw("""
                    DELETE FROM event_outbox WHERE tenant_id = \(bind: tenant) AND event_id IN \(SQLBind.group(tenantEvents.map(\.id)))
                    """).run()
            }
            return events.count
        }
    }

    // MARK: Delivery

    private struct DueDelivery: Decodable, Sendable {
        let tenantId: String
        let id: String
        let eventId: String
        let eventType: String
        let attempts: Int
        let url: String
        let secret: String
        let data: String
        let eventCreatedAt: Int64
    }

    func deliverDue() async throws -> Int {
        let now = services.nowMilliseconds
        let dialect = services.database.dialect
        let due = try await services.database.transaction { sql in
            let lock = dialect == .postgres ? " FOR UPDATE OF d SKIP LOCKED" : ""
            let rows = try await sql.raw("""
                SELECT d.tenant_id, d.id, d.event_id, d.event_type, d.attempts, w.url, w.secret, e.data, e.created_at AS event_created_at
                FROM webhook_deliveries d
                JOIN webhook_endpoints w ON w.tenant_id = d.tenant_id AND w.id = d.endpoint_id
                JOIN events e ON e.tenant_id = d.tenant_id AND e.id = d.event_id
                WHERE d.status IN ('pending', 'sending') AND d.next_attempt_at <= \(bind: now)
                ORDER BY d.next_attempt_at LIMIT \(literal: Self.deliveryBatch)\(unsafeRaw: lock)
                """).rows(DueDelivery.self)
            // Lease the rows ('sending' until the lease ends) so no other worker, and no manual replay, takes them meanwhile.
            for (tenant, group) in Dictionary(grouping: rows, by: \.tenantId) {
                try await sql.raw("""
                    UPDATE webhook_deliveries SET status = 'sending', next_attempt_at = \(bind: now + Self.claimLeaseMilliseconds)
                    WHERE tenant_id = \(bind: tenant) AND id IN \(SQLBind.group(group.map(\.id)))
                    """).run()
            }
            return rows
        }
        guard !due.isEmpty else { return 0 }
        await withTaskGroup(of: Void.self) { group in
            for delivery in due {
                group.addTask { await attempt(delivery) }
            }
        }
        return due.count
    }

    private func attempt(_ delivery: DueDelivery) async {
        // The stored event data is already JSON; only the envelope's strings need encoding.
        let type = String(decoding: (try? JSONCoding.encode(delivery.eventType)) ?? Data("\"\"".utf8), as: UTF8.self)
        let body = Data("{\"data\":\(delivery.data),\"timestamp\":\"\(Timestamp.text(delivery.eventCreatedAt))\",\"type\":\(type)}".utf8)
        let sentAt = services.nowMilliseconds
        let timestamp = sentAt / 1000
        let headers = [
            "content-type": "application/json",
            "user-agent": "Omnia-Webhooks/\(OmniaVersion.current)",
            "webhook-id": delivery.eventId,
            "webhook-timestamp": String(timestamp),
            "webhook-signature": WebhookSignature.sign(secret: delivery.secret, id: delivery.eventId, timestamp: timestamp, body: body),
        ]
        var status: Int?
        var failure: String?
        if let url = URL(string: delivery.url) {
            do {
                status = try await services.webhookTransport.post(url: url, headers: headers, body: body)
                if let status, !(200..<300).contains(status) { failure = "endpoint answered \(status)" }
            } catch {
                failure = String(String(describing: error).prefix(300))
            }
        } else {
            failure = "invalid url"
        }
        let attempts = delivery.attempts + 1
        let nextAttempt: Int64? = failure == nil || attempts > Self.retryDelaysSeconds.count
            ? nil : services.nowMilliseconds + Self.retryDelaysSeconds[attempts - 1] * 1000
        let newStatus = failure == nil ? "succeeded" : (nextAttempt == nil ? "failed" : "pending")
        let (responseStatus, lastError) = (status, failure)
        do {
            try await services.database.transaction { sql in
                try await sql.raw("""
                    UPDATE webhook_deliveries SET status = \(bind: newStatus), attempts = \(bind: attempts), next_attempt_at = \(bind: nextAttempt),
                        last_attempt_at = \(bind: sentAt), last_response_status = \(bind: responseStatus), last_error = \(bind: lastError)
                    WHERE tenant_id = \(bind: delivery.tenantId) AND id = \(bind: delivery.id)
                    """).run()
            }
        } catch {
            // The lease expires and the delivery is tried again; receivers deduplicate by webhook-id.
            services.logger.error("could not record webhook attempt", metadata: ["delivery": .string(delivery.id), "error": .string("\(error)")])
        }
    }
}
