import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Sends one webhook request and returns the HTTP status; injected so tests capture deliveries.
public protocol WebhookTransport: Sendable {
    func post(url: URL, headers: [String: String], body: Data) async throws -> Int
}

/// The production transport: Foundation's URL loading with a short timeout and no cookies or cache.
struct URLSessionWebhookTransport: WebhookTransport {
    private let session: URLSession

    init(timeout: TimeInterval = 15) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.httpCookieAcceptPolicy = .never
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        session = URLSession(configuration: configuration)
    }

    func post(url: URL, headers: [String: String], body: Data) async throws -> Int {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = body
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        // Cancelling a task that awaits Foundation's URLSession on Linux can deadlock the concurrency
        // runtime (the cancellation handler waits on the session's queue while that queue waits to
        // resume the task); a server stopped with a delivery in flight then never exited. The request
        // therefore runs in a task of its own, which cancellation does not reach: a stop waits for it
        // to answer or time out.
        let session = session
        let (_, response) = try await Task { try await session.data(for: request) }.value
        return (response as? HTTPURLResponse)?.statusCode ?? 0
    }
}
