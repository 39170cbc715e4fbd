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

/// A webhook endpoint as listed. The signing secret is shown only when the endpoint is created.
struct WebhookEndpointResponse: Codable, Sendable {
    let id: String
    let url: String
    let description: String?
    let eventTypes: [String]
    let createdAt: String
    var secret: String?
}

struct WebhookEndpointRow: Decodable, Sendable {
    let id: String
    let url: String
    let description: String?
    let secret: String
    let eventTypes: String
    let createdAt: Int64
    let deletedAt: Int64?

    var response: WebhookEndpointResponse {
        WebhookEndpointResponse(id: id, url: url, description: description, eventTypes: eventTypes.split(separator: " ").map(String.init),
                                createdAt: Timestamp.text(createdAt), secret: nil)
    }
}

/// One event's delivery to one endpoint, with its attempts so far.
struct WebhookDeliveryResponse: Codable, Sendable {
    let id: String
    let endpointId: String
    let eventId: String
    let eventType: String
    let status: String
    let attempts: Int
    let nextAttemptAt: String?
    let lastAttemptAt: String?
    let lastResponseStatus: Int?
    let lastError: String?
    let createdAt: String
}

struct WebhookDeliveryRow: Decodable, Sendable {
    let id: String
    let endpointId: String
    let eventId: String
    let eventType: String
    let status: String
    let attempts: Int
    let nextAttemptAt: Int64?
    let lastAttemptAt: Int64?
    let lastResponseStatus: Int?
    let lastError: String?
    let createdAt: Int64

    var response: WebhookDeliveryResponse {
        WebhookDeliveryResponse(id: id, endpointId: endpointId, eventId: eventId, eventType: eventType, status: status, attempts: attempts,
                                nextAttemptAt: nextAttemptAt.map(Timestamp.text), lastAttemptAt: lastAttemptAt.map(Timestamp.text),
                                lastResponseStatus: lastResponseStatus, lastError: lastError, createdAt: Timestamp.text(createdAt))
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
