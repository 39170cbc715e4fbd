import Foundation
import Hummingbird
import OmniaCore
import SQLKit

/// Webhook endpoints and their delivery log.
///
/// | route | scope |
/// | --- | --- |
/// | `GET /v1/webhook_endpoints` | admin |
/// | `POST /v1/webhook_endpoints` | admin |
/// | `GET /v1/webhook_endpoints/{id}` | admin |
/// | `DELETE /v1/webhook_endpoints/{id}` | admin |
/// | `GET /v1/webhook_endpoints/{id}/deliveries` | admin |
/// | `POST /v1/webhook_endpoints/{id}/deliveries/{delivery_id}/replay` | admin |
struct WebhookEndpointController {
    let services: AppServices

    func addRoutes(to routes: Routes) {
        routes.get("webhook_endpoints", scopes: [.admin]) { request, _, caller in
            let page = try PageRequest(request)
            let rows = try await services.database.page(WebhookEndpoint.self, from: "webhook_endpoints", tenantID: caller.tenantID,
                                                        page: page, filter: "deleted_at IS NULL")
            return try JSONResponse.make(page.page(rows, id: \.id))
        }
        routes.get("webhook_endpoints/:id", scopes: [.admin]) { request, context, caller in
            try JSONResponse.make(try await endpoint(request, context, caller))
        }
        routes.post("webhook_endpoints", scopes: [.admin]) { request, context, caller in
            let body = try await request.decode(CreateWebhookEndpointRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context) { sql in
                try await create(on: sql, tenantID: caller.tenantID, body, actor: actor)
            }
        }
        routes.delete("webhook_endpoints/:id", scopes: [.admin]) { request, context, caller in
            let endpoint = try await endpoint(request, context, caller)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context, status: .ok) { sql in
                let now = services.nowMilliseconds
                try await sql.raw("""
                    UPDATE webhook_endpoints SET deleted_at = \(bind: now)
                    WHERE tenant_id = \(bind: caller.tenantID) AND id = \(bind: endpoint.id) AND deleted_at IS NULL
                    """).run()
                // Nothing more goes to a deleted endpoint; its delivery log stays readable.
                try await sql.raw("""
                    UPDATE webhook_deliveries SET status = 'cancelled', next_attempt_at = NULL
                    WHERE tenant_id = \(bind: caller.tenantID) AND endpoint_id = \(bind: endpoint.id) AND status IN ('pending', 'sending')
                    """).run()
                try await services.events.append(on: sql, tenantID: caller.tenantID, type: "webhook_endpoint.deleted",
                                                  data: endpoint, requestID: actor.requestID)
                try await services.audit.record(on: sql, tenantID: caller.tenantID, actor: actor.id, action: "webhook_endpoint.delete",
                                                targetType: "webhook_endpoint", targetID: endpoint.id, requestID: actor.requestID)
                return endpoint
            }
        }
        routes.get("webhook_endpoints/:id/deliveries", scopes: [.admin]) { request, context, caller in
            let endpoint = try await endpoint(request, context, caller, includeDeleted: true)
            let page = try PageRequest(request)
            var filter: SQLQueryString = "endpoint_id = \(bind: endpoint.id)"
            if let status = request.uri.queryParameters["status"].map(String.init) {
                guard ["pending", "sending", "succeeded", "failed", "cancelled"].contains(status) else {
                    throw Problem.validation([FieldError(field: "status", code: "invalid_enum",
                                                         detail: "status must be one of: pending, sending, succeeded, failed, cancelled")])
                }
                filter.appendInterpolation(raw: " AND status = ")
                filter.appendInterpolation(bind: status)
            }
            let rows = try await services.database.page(WebhookDelivery.self, from: "webhook_deliveries", tenantID: caller.tenantID,
                                                        page: page, filter: filter)
            return try JSONResponse.make(page.page(rows, id: \.id))
        }
        routes.post("webhook_endpoints/:id/deliveries/:delivery_id/replay", scopes: [.admin]) { request, context, caller in
            let endpoint = try await endpoint(request, context, caller)
            let deliveryID = try request.id("delivery_id", .webhookDelivery, context: context, what: "delivery")
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context, status: .accepted) { sql in
                let now = services.nowMilliseconds
                guard let current = try await sql.raw("""
                    SELECT * FROM webhook_deliveries
                    WHERE tenant_id = \(bind: caller.tenantID) AND id = \(bind: deliveryID) AND endpoint_id = \(bind: endpoint.id)
                    """).row(WebhookDelivery.self)
                else { throw Problem.notFound("delivery") }
                // A delivery a worker is sending right now must not be sent a second time.
                if current.status == "sending", (current.nextAttemptAt?.milliseconds ?? 0) > now {
                    throw Problem(.conflict, code: "delivery_in_progress", detail: "this delivery is being sent right now; look at its log in a minute")
                }
                // Due now; a replay of a failed delivery is one more attempt, not a new retry schedule.
                guard let row = try await sql.raw("""
                    UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = \(bind: now), last_error = NULL
                    WHERE tenant_id = \(bind: caller.tenantID) AND id = \(bind: deliveryID)
                    RETURNING *
                    """).row(WebhookDelivery.self)
                else { throw Problem.notFound("delivery") }
                try await services.audit.record(on: sql, tenantID: caller.tenantID, actor: actor.id, action: "webhook_delivery.replay",
                                                targetType: "webhook_delivery", targetID: deliveryID, requestID: actor.requestID)
                return row
            }
        }
    }

    /// The endpoint named in the path; a deleted one only where `includeDeleted` (its delivery log).
    private func endpoint(_ request: Request, _ context: OmniaRequestContext, _ caller: Caller, includeDeleted: Bool = false) async throws -> WebhookEndpoint {
        let id = try request.id("id", .webhookEndpoint, context: context, what: "webhook endpoint")
        guard let row = try await services.database.fetch(WebhookEndpoint.self, from: "webhook_endpoints", tenantID: caller.tenantID, id: id),
            includeDeleted || row.deletedAt == nil
        else { throw Problem.notFound("webhook endpoint") }
        return row
    }

    private func create(on sql: any SQLDatabase, tenantID: String, _ request: CreateWebhookEndpointRequest, actor: Actor) async throws -> Revealed<WebhookEndpoint> {
        var validator = Validator()
        let url = validator.text(request.url, field: "url", maxLength: 2048)
        if let url, !WebhookURL.isValid(url) {
            validator.fail("url", "invalid_url", "url must be an absolute http:// or https:// URL with a host name, without credentials or spaces")
        }
        let description = validator.text(request.description, field: "description", required: false, maxLength: 500)
        let types = request.eventTypes ?? ["*"]
        if types.isEmpty || types.count > 100 { validator.fail("event_types", "invalid_length", "event_types must list 1 to 100 types") }
        for (index, type) in types.enumerated() where !EventTypeFilter.isValid(type) {
            validator.fail("event_types[\(index)]", "invalid_event_type", "event types look like 'channel.created', 'channel.*' or '*'")
        }
        guard validator.isValid, let url else { throw Problem.validation(validator.errors) }

        let now = services.nowMilliseconds
        let secret = WebhookSignature.generateSecret()
        let endpoint = WebhookEndpoint(id: services.ids.make(.webhookEndpoint), url: url, description: description,
                                       eventTypes: StoredWords(types), createdAt: StoredTime(milliseconds: now), deletedAt: nil)
        try await sql.raw("""
            INSERT INTO webhook_endpoints (tenant_id, id, url, description, secret, event_types, created_at)
            VALUES (\(bind: tenantID), \(bind: endpoint.id), \(bind: url), \(bind: description), \(bind: secret),
                    \(bind: endpoint.eventTypes.stored), \(bind: now))
            """).run()
        try await services.events.append(on: sql, tenantID: tenantID, type: "webhook_endpoint.created", data: endpoint, requestID: actor.requestID)
        try await services.audit.record(on: sql, tenantID: tenantID, actor: actor.id, action: "webhook_endpoint.create",
                                        targetType: "webhook_endpoint", targetID: endpoint.id, details: ["url": .string(url)],
                                        requestID: actor.requestID)
        return Revealed(model: endpoint, name: "secret", secret: secret)
    }
}
