import Foundation
import Hummingbird
import OmniaCore
import SQLKit

/// The tenant's event feed, oldest first, for polling consumers.
///
/// | route | scope |
/// | --- | --- |
/// | `GET /v1/events?type=&limit=&starting_after=` | admin, analytics:read |
/// | `GET /v1/events/{id}` | admin, analytics:read |
struct EventController {
    let services: AppServices

    func addRoutes(to routes: Routes) {
        routes.get("events", scopes: [.admin, .analyticsRead]) { request, _, caller in
            let page = try PageRequest(request)
            var filter: SQLQueryString?
            if let type = request.uri.queryParameters["type"].map(String.init) {
                guard EventTypeFilter.isValid(type), type != "*", !type.hasSuffix(".*") else {
                    throw Problem.validation([FieldError(field: "type", code: "invalid_event_type", detail: "type must be an event type such as channel.created")])
                }
                filter = "type = \(bind: type)"
            }
            let rows = try await services.database.page(Event.self, from: "events", tenantID: caller.tenantID, page: page, filter: filter)
            return try JSONResponse.make(page.page(rows, id: \.id))
        }
        routes.get("events/:id", scopes: [.admin, .analyticsRead]) { request, context, caller in
            let id = try request.id("id", .event, context: context, what: "event")
            guard let row = try await services.database.fetch(Event.self, from: "events", tenantID: caller.tenantID, id: id) else {
                throw Problem.notFound("event")
            }
            return try JSONResponse.make(row)
        }
    }
}
