import Hummingbird
import OmniaCore

/// Journey events from every channel.
///
/// | route | scope |
/// | --- | --- |
/// | `POST /v1/events/track` (one event, or `{"events": [...]}` up to 100) | pos, ecommerce, service |
struct JourneyController {
    let services: AppServices

    func addRoutes(to routes: Routes) {
        let journeys = JourneyService(services: services)
        routes.post("events/track", scopes: CustomerController.writeScopes) { request, context, caller in
            let body = try await request.decode(TrackEventsRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context) { sql in
                try await journeys.track(on: sql, caller: caller, body, actor: actor)
            }
        }
    }
}
