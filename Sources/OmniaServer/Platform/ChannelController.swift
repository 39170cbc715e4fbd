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
        routes.listAndFetch(Channel.self, path: "channels", table: "channels", prefix: .channel, what: "channel", scopes: Set(Scope.allCases),
                             database: services.database, id: \.id)
        routes.post("channels", scopes: [.admin]) { request, context, caller in
            let body = try await request.decode(CreateChannelRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context) { sql in
                try await services.platform.createChannel(on: sql, tenantID: caller.tenantID, body, actor: actor)
            }
        }
    }
}
