import Foundation
import OmniaCore

/// `POST /v1/webhook_endpoints`
struct CreateWebhookEndpointRequest: RequestBody {
    var url: String?
    var description: String?
    var eventTypes: [String]?
    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case url, description, eventTypes
    }
}

/// A webhook endpoint as stored and listed. Its signing secret is read only by the delivery worker
/// and shown once, at creation.
struct WebhookEndpoint: Codable, Sendable {
    let id: String
    let url: String
    let description: String?
    let eventTypes: StoredWords
    let createdAt: StoredTime
    let deletedAt: StoredTime?
}

/// One event's delivery to one endpoint, with its attempts so far.
struct WebhookDelivery: Codable, Sendable {
    let id: String
    let endpointId: String
    let eventId: String
    let eventType: String
    let status: String
    let attempts: Int
    let nextAttemptAt: StoredTime?
    let lastAttemptAt: StoredTime?
    let lastResponseStatus: Int?
    let lastError: String?
    let createdAt: StoredTime
}

/// What a webhook URL may be: http(s), a DNS name or IPv4 address, an optional port, path and query —
/// no credentials, spaces or fragments. The contract (`openapi.yaml`) carries the same pattern.
enum WebhookURL {
    // A regex literal is checked when compiling, so no run-time failure path is needed.
    nonisolated(unsafe) private static let regex =
        #/^https?://[A-Za-z0-9]+(?:[.-][A-Za-z0-9]+)*(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~%!$&'()*+,;=:@-]*)*(?:\?[A-Za-z0-9._~%!$&'()*+,;=:@/?-]*)?$/#

    static func isValid(_ text: String) -> Bool {
        text.utf8.count <= 2048 && text.wholeMatch(of: regex) != nil
    }
}

/// Which event types an endpoint wants: exact types, `prefix.*`, or `*` for all.
enum EventTypeFilter {
    static func matches(_ patterns: some Sequence<Substring>, _ type: String) -> Bool {
        patterns.contains { pattern in
            pattern == "*" || pattern == type || (pattern.hasSuffix(".*") && type.hasPrefix(pattern.dropLast()))
        }
    }

    static func isValid(_ pattern: String) -> Bool {
        if pattern == "*" { return true }
        let body = pattern.hasSuffix(".*") ? String(pattern.dropLast(2)) : pattern
        let allowed = Set("abcdefghijklmnopqrstuvwxyz_.")
        return (1...100).contains(body.count) && body.allSatisfy(allowed.contains) && !body.hasPrefix(".") && !body.hasSuffix(".")
    }
}
