import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
@testable import OmniaServer
import Synchronization
import Testing
import SQLKit
import NIOFoundationEssentialsCompat

/// A running API on a fresh database with one tenant ("Moda Test") and its admin key.
struct TestApp: Sendable {
    let services: AppServices
    let tenantID: String
    let adminKey: String
    let webhooks: CapturingWebhookTransport

    /// Builds the real router on a fresh database of `backend` and runs `body` with a client that
    /// calls it without sockets.
    static func run(
        _ backend: TestBackend,
        configure: (inout AppConfig) -> Void = { _ in },
        _ body: @Sendable (TestApp, any TestClientProtocol) async throws -> Void
    ) async throws {
        var config = AppConfig()
        config.runWorkers = false
        config.authCacheTTL = .zero
        configure(&config)
        let finalConfig = config
        try await backend.withDatabase { database in
            let webhooks = CapturingWebhookTransport()
            let services = AppServices(config: finalConfig, database: database, logger: TestBackend.logger,
                                       metrics: MetricsTestBootstrap.registry, webhookTransport: webhooks)
            let (tenant, key) = try await OperatorTools(services: services)
                .createTenant(name: "Moda Test", currency: "EUR", timezone: "Europe/Madrid", country: "ES")
            let testApp = TestApp(services: services, tenantID: tenant.id, adminKey: key.key, webhooks: webhooks)
            let application = Application(router: try OmniaApplication.buildRouter(services))
            try await application.test(.router) { client in
                try await body(testApp, client)
            }
        }
    }

    /// A second tenant with its own admin key, to prove isolation.
    func otherTenant() async throws -> (tenantID: String, key: String) {
        let (tenant, key) = try await OperatorTools(services: services)
            .createTenant(name: "Other Chain", currency: "GBP", timezone: "Europe/London", country: "GB")
        return (tenant.id, key.key)
    }

    /// A key of this tenant with the given scopes.
    func key(scopes: [String], channel: String? = nil) async throws -> String {
        try await OperatorTools(services: services).createKey(tenant: tenantID, name: "test", scopes: scopes, channel: channel, location: nil).key
    }

    func count(_ table: String) async throws -> Int {
        try await services.database.read { sql in
            try await sql.raw("SELECT COUNT(*) AS n FROM \(unsafeRaw: table)").first(decodingColumn: "n", as: Int.self) ?? 0
        }
    }
}

/// Records every webhook request instead of sending it; answers with `status`.
final class CapturingWebhookTransport: WebhookTransport {
    struct Sent: Sendable {
        let url: URL
        let headers: [String: String]
        let body: Data
    }

    let sent = Mutex<[Sent]>([])
    let status = Mutex<Int>(200)

    func post(url: URL, headers: [String: String], body: Data) async throws -> Int {
        sent.withLock { $0.append(Sent(url: url, headers: headers, body: body)) }
        return status.withLock { $0 }
    }
}

extension TestClientProtocol {
    /// Calls the API with a key and an optional JSON body (any `Encodable`, or raw text via `rawBody`).
    @discardableResult
    func call(
        _ method: HTTPRequest.Method, _ path: String, key: String?, json: [String: any Sendable]? = nil, rawBody: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = extra
        if let key { headers[.authorization] = "Bearer \(key)" }
        var body: ByteBuffer?
        if let json {
            let data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
            body = ByteBuffer(bytes: data)
            if headers[.contentType] == nil { headers[.contentType] = "application/json" }
        } else if let rawBody {
            body = ByteBuffer(string: rawBody)
            if headers[.contentType] == nil { headers[.contentType] = "application/json" }
        }
        return try await execute(uri: path, method: method, headers: headers, body: body)
    }
}

extension TestResponse {
    /// The body as a JSON object.
    var object: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
    }

    /// `data` of a list response.
    var list: [[String: Any]] { object["data"] as? [[String: Any]] ?? [] }

    /// The problem `code` of an error response.
    var problemCode: String? { object["code"] as? String }

    var text: String { String(buffer: body) }
}
