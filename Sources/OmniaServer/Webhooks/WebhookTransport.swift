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
    private let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 15
        configuration.httpCookieAcceptPolicy = .never
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        return URLSession(configuration: configuration)
    }()

    func post(url: URL, headers: [String: String], body: Data) async throws -> Int {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = body
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (_, response) = try await session.data(for: request)
        return (response as? HTTPURLResponse)?.statusCode ?? 0
    }
}
