import Hummingbird
import OmniaCore

/// Sales and service channels.
///
/// | route | scope |
/// | --- | --- |
/// | `GET /v1/channels` | any |
/// | `GET /v1/channels/{id}` | any |
/// | `POST /v1/channels` | admin |
struct ChannelController {
    let services: AppServices

    func addRoutes(to routes: Routes) {
        routes.get("channels", scopes: Set(Scope.allCases)) { request, _, caller in
            let page = try PageRequest(request)
            let rows = try await services.database.page(Channel.self, from: "channels", tenantID: caller.tenantID, page: page)
            return try JSONResponse.make(page.page(rows, id: \.id))
        }
        routes.get("channels/:id", scopes: Set(Scope.allCases)) { request, context, caller in
            let id = try request.id("id", .channel, context: context, what: "channel")
            guard let row = try await services.database.fetch(Channel.self, from: "channels", tenantID: caller.tenantID, id: id) else {
                throw Problem.notFound("channel")
            }
            return try JSONResponse.make(row)
        }
        routes.post("channels", scopes: [.admin]) { request, context, caller in
            let body = try await request.decode(CreateChannelRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context) { sql in
                try await services.platform.createChannel(on: sql, tenantID: caller.tenantID, body, actor: actor)
            }
        }
    }
}
