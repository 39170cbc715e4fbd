import Hummingbird
import OmniaCore

/// The customer 360 across every channel.
///
/// | route | scope |
/// | --- | --- |
/// | `GET /v1/customers/{id}/overview` | pos, ecommerce, service, analytics:read |
/// | `GET /v1/customers/{id}/timeline` (newest first; `?type=sale,return,event,merge,unmerge`, `?channel_id=`) | pos, ecommerce, service, analytics:read |
struct CustomerOverviewController {
    let services: AppServices

    func addRoutes(to routes: Routes) {
        let identity = IdentityService(services: services)
        routes.get("customers/:id/overview", scopes: CustomerController.readScopes) { request, context, caller in
            let id = try request.id("id", .customer, context: context, what: "customer")
            let overview = try await services.database.read { sql in
                guard let customer = try await identity.customer(on: sql, tenantID: caller.tenantID, id: id) else { throw Problem.notFound("customer") }
                return try await CustomerOverviewStore(tenantID: caller.tenantID).overview(on: sql, customer: customer)
            }
            return try JSONResponse.make(overview)
        }
        routes.get("customers/:id/timeline", scopes: CustomerController.readScopes) { request, context, caller in
            let id = try request.id("id", .customer, context: context, what: "customer")
            var query = try Self.timelineQuery(request)
            query.now = services.nowMilliseconds
            let items = try await services.database.read { [query] sql in
                guard let root = try await CustomerStore(tenantID: caller.tenantID).resolvedRow(on: sql, id: id) else { throw Problem.notFound("customer") }
                return try await CustomerTimelineStore(tenantID: caller.tenantID).page(on: sql, customerID: root.id, query)
            }
            return try JSONResponse.make(PageRequest(limit: query.limit).page(items, id: \.cursor))
        }
    }

    /// `?type=` (comma-separated), `?channel_id=`, `?limit=`, `?starting_after=<next_cursor>`.
    static func timelineQuery(_ request: Request) throws -> TimelineQuery {
        let page = try PageRequest(request)
        var query = TimelineQuery(limit: page.limit)
        var validator = Validator()
        let parameters = request.uri.queryParameters
        if let types = parameters["type"] {
            query.types = Set(types.split(separator: ",").map { String($0) })
            if query.types.isEmpty || !query.types.isSubset(of: TimelineItem.types) {
                validator.fail("type", "invalid_enum", "type is a comma-separated list of: \(TimelineItem.types.joined(separator: ", "))")
            }
        }
        if let channelID = parameters["channel_id"] {
            query.channelID = String(channelID)
            if !IDGenerator.isWellFormed(String(channelID), prefix: .channel) {
                validator.fail("channel_id", "unknown_channel", "channel_id does not name a channel of this tenant")
            }
        }
        if let cursor = page.startingAfter {
            let parts = cursor.split(separator: "_", maxSplits: 1)
            if parts.count == 2, let milliseconds = Int64(parts[0]) {
                query.before = (milliseconds, String(parts[1]))
            } else {
                validator.fail("starting_after", "invalid_cursor", "starting_after must be a next_cursor from a previous page")
            }
        }
        guard validator.isValid else { throw Problem.validation(validator.errors) }
        return query
    }
}
