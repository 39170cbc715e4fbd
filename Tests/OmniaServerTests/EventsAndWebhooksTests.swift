import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import OmniaServer
import SQLKit
import Testing
import Synchronization

@Suite("Events and webhooks")
struct EventsAndWebhooksTests {
    @Test("each change appends an event in the same transaction, listed by type", arguments: TestBackend.available)
    func eventFeed(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let channel = try await client.call(.post, "/v1/channels", key: app.adminKey, json: ["code": "web", "name": "Web", "kind": "web"],
                                                 headers: [.xRequestID: "req-web-1"])
            let events = try await client.call(.get, "/v1/events?type=channel.created", key: app.adminKey)
            #expect(events.status == .ok)
            let event = try #require(events.list.first)
            #expect(events.list.count == 1)
            #expect((event["data"] as? [String: Any])?["id"] as? String == channel.object["id"] as? String)
            #expect(event["request_id"] as? String == "req-web-1")
            let one = try await client.call(.get, "/v1/events/\(try #require(event["id"] as? String))", key: app.adminKey)
            #expect(one.object["type"] as? String == "channel.created")
        }
    }

    @Test("a delivery is signed per Standard Webhooks and sent once", arguments: TestBackend.available)
    func signedDelivery(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let endpoint = try await client.call(.post, "/v1/webhook_endpoints", key: app.adminKey,
                                                  json: ["url": "https://hooks.example/omnia", "event_types": ["channel.*"]])
            #expect(endpoint.status == .created)
            let secret = try #require(endpoint.object["secret"] as? String)
            let endpointID = try #require(endpoint.object["id"] as? String)
            #expect(secret.hasPrefix("whsec_"))
            #expect(try await client.call(.get, "/v1/webhook_endpoints/\(endpointID)", key: app.adminKey).object["secret"] == nil)

            _ = try await client.call(.post, "/v1/channels", key: app.adminKey, json: ["code": "web", "name": "Web", "kind": "web"])
            _ = try await client.call(.post, "/v1/locations", key: app.adminKey, json: ["code": "l", "name": "L", "kind": "store", "country": "ES"])
            let worker = WebhookWorker(services: app.services)
            try await worker.runOnce()
            try await worker.runOnce()

            let sent = app.webhooks.sent.withLock { $0 }
            #expect(sent.count == 1, "only channel.* matches, and it is sent once")
            let delivery = try #require(sent.first)
            let id = try #require(delivery.headers["webhook-id"])
            let timestamp = try #require(Int64(delivery.headers["webhook-timestamp"] ?? ""))
            let signature = try #require(delivery.headers["webhook-signature"])
            #expect(WebhookSignature.verify(secret: secret, id: id, timestamp: timestamp, body: delivery.body, header: signature))
            #expect(!WebhookSignature.verify(secret: secret, id: id, timestamp: timestamp + 1, body: delivery.body, header: signature))
            let payload = try #require(try JSONSerialization.jsonObject(with: delivery.body) as? [String: Any])
            #expect(payload["type"] as? String == "channel.created")
            #expect((payload["data"] as? [String: Any])?["code"] as? String == "web")

            let log = try await client.call(.get, "/v1/webhook_endpoints/\(endpointID)/deliveries", key: app.adminKey)
            #expect(log.list.first?["status"] as? String == "succeeded")
            #expect(log.list.first?["attempts"] as? Int == 1)
        }
    }

    @Test("a failed delivery is retried with backoff and can be replayed by hand", arguments: TestBackend.available)
    func retries(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            app.webhooks.status.withLock { $0 = 503 }
            let endpoint = try await client.call(.post, "/v1/webhook_endpoints", key: app.adminKey,
                                                  json: ["url": "https://hooks.example/x", "event_types": ["channel.created"]])
            let endpointID = try #require(endpoint.object["id"] as? String)
            _ = try await client.call(.post, "/v1/channels", key: app.adminKey, json: ["code": "web", "name": "Web", "kind": "web"])
            let worker = WebhookWorker(services: app.services)
            try await worker.runOnce()
            try await worker.runOnce()
            #expect(app.webhooks.sent.withLock { $0.count } == 1, "the retry waits for its backoff")

            let log = try await client.call(.get, "/v1/webhook_endpoints/\(endpointID)/deliveries?status=pending", key: app.adminKey)
            let delivery = try #require(log.list.first)
            #expect(delivery["last_response_status"] as? Int == 503)
            #expect(delivery["attempts"] as? Int == 1)
            #expect(delivery["next_attempt_at"] as? String != nil)

            app.webhooks.status.withLock { $0 = 204 }
            let deliveryID = try #require(delivery["id"] as? String)
            // While a worker holds the delivery, a replay would send it twice: refused.
            let leaseEnd = app.services.nowMilliseconds + 60_000
            try await app.services.database.transaction { sql in
                try await sql.raw("UPDATE webhook_deliveries SET status = 'sending', next_attempt_at = \(bind: leaseEnd)").run()
            }
            let busy = try await client.call(.post, "/v1/webhook_endpoints/\(endpointID)/deliveries/\(deliveryID)/replay", key: app.adminKey)
            #expect(busy.status == .conflict)
            #expect(busy.problemCode == "delivery_in_progress")
            try await app.services.database.transaction { sql in
                try await sql.raw("UPDATE webhook_deliveries SET status = 'pending'").run()
            }
            let replay = try await client.call(.post, "/v1/webhook_endpoints/\(endpointID)/deliveries/\(deliveryID)/replay", key: app.adminKey)
            #expect(replay.status == .accepted)
            try await worker.runOnce()
            #expect(app.webhooks.sent.withLock { $0.count } == 2)
            let after = try await client.call(.get, "/v1/webhook_endpoints/\(endpointID)/deliveries", key: app.adminKey)
            #expect(after.list.first?["status"] as? String == "succeeded")
            #expect(after.list.first?["attempts"] as? Int == 2)
        }
    }

    @Test("the retry schedule gives up after about a day", arguments: [TestBackend.sqlite])
    func schedule(backend: TestBackend) {
        let total = WebhookWorker.retryDelaysSeconds.reduce(0, +)
        #expect((20 * 3600...30 * 3600).contains(Int(total)))
        #expect(WebhookWorker.retryDelaysSeconds == WebhookWorker.retryDelaysSeconds.sorted(), "backoff never shrinks")
    }

    @Test("the worker goes straight on after a full batch, gathers after a few events, and polls when idle")
    func workerPacing() {
        let idle = Duration.milliseconds(500)
        #expect(WebhookWorker.pause(dispatched: WebhookWorker.dispatchBatch, delivered: 0, idle: idle) == nil)
        #expect(WebhookWorker.pause(dispatched: 3, delivered: WebhookWorker.deliveryBatch, idle: idle) == nil)
        #expect(WebhookWorker.pause(dispatched: 17, delivered: 0, idle: idle) == WebhookWorker.gatherPause)
        #expect(WebhookWorker.pause(dispatched: 0, delivered: 2, idle: idle) == WebhookWorker.gatherPause)
        #expect(WebhookWorker.pause(dispatched: 0, delivered: 0, idle: idle) == idle)
        // A test configuration polling faster than the gathering pause keeps its own pace.
        #expect(WebhookWorker.pause(dispatched: 5, delivered: 0, idle: .milliseconds(10)) == .milliseconds(10))
    }

    @Test("two workers on one database send each delivery exactly once", arguments: TestBackend.available)
    func concurrentWorkers(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await client.call(.post, "/v1/webhook_endpoints", key: app.adminKey, json: ["url": "https://hooks.example/x"])
            for index in 0..<40 {
                _ = try await client.call(.post, "/v1/channels", key: app.adminKey, json: ["code": "c\(index)", "name": "C", "kind": "web"])
            }
            let first = WebhookWorker(services: app.services)
            let second = WebhookWorker(services: app.services)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in [first, second, first, second] {
                    group.addTask { for _ in 0..<4 { try await worker.runOnce() } }
                }
                try await group.waitForAll()
            }
            let ids = app.webhooks.sent.withLock { $0.compactMap { $0.headers["webhook-id"] } }
            #expect(ids.count == Set(ids).count, "no event delivered twice")
            let states = try await app.services.database.read { sql in
                try await sql.raw("SELECT e.type || ':' || COALESCE(d.status, 'none') AS s FROM events e LEFT JOIN webhook_deliveries d ON d.event_id = e.id ORDER BY e.id").all(decodingColumn: "s", as: String.self)
            }
            #expect(Set(ids).count == 41, "40 channels plus the endpoint's own creation event: \(states.filter { !$0.contains("succeeded") })")
            #expect(try await app.count("event_outbox") == 0, "every dispatched event left the outbox")
        }
    }

    @Test("deleting an endpoint cancels its pending deliveries", arguments: TestBackend.available)
    func deleteEndpoint(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let endpoint = try await client.call(.post, "/v1/webhook_endpoints", key: app.adminKey, json: ["url": "https://hooks.example/x"])
            let endpointID = try #require(endpoint.object["id"] as? String)
            _ = try await WebhookWorker(services: app.services).dispatch()
            #expect(try await client.call(.delete, "/v1/webhook_endpoints/\(endpointID)", key: app.adminKey).status == .ok)
            try await WebhookWorker(services: app.services).runOnce()
            #expect(app.webhooks.sent.withLock { $0.isEmpty })
            #expect(try await client.call(.get, "/v1/webhook_endpoints/\(endpointID)", key: app.adminKey).status == .notFound)
            for url in ["https://hooks.example/x?token=a1", "http://10.0.0.7:8080/omnia", "https://Shop.Example.com/h/%20"] {
                #expect(WebhookURL.isValid(url), "\(url)")
            }
            for url in ["http://a*b", "https://user:pw@hooks.example/", "https://hooks.example/a b", "https://hooks.example/#f", "ftp://x"] {
                #expect(!WebhookURL.isValid(url), "\(url)")
            }
            let invalid = try await client.call(.post, "/v1/webhook_endpoints", key: app.adminKey, json: ["url": "ftp://x", "event_types": ["Bad Type"]])
            #expect(invalid.status == .badRequest)
            #expect(Set((invalid.object["errors"] as? [[String: Any]])?.compactMap { $0["field"] as? String } ?? []) == ["url", "event_types[0]"])
        }
    }
}
