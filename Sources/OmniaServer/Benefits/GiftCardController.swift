import Hummingbird
import OmniaCore

/// Gift cards, from every channel.
///
/// | route | scope |
/// | --- | --- |
/// | `POST /v1/gift_cards` | pos, ecommerce, service |
/// | `GET /v1/gift_cards/lookup?code=&pin=` | pos, ecommerce, service |
/// | `GET /v1/gift_cards/{id}` | pos, ecommerce, service |
/// | `POST /v1/gift_cards/{id}/activate` | pos, ecommerce, service |
/// | `POST /v1/gift_cards/{id}/reload` | pos, ecommerce, service |
/// | `POST /v1/gift_cards/{id}/disable` | service |
struct GiftCardController {
    let services: AppServices

    func addRoutes(to routes: Routes) {
        let giftCards = GiftCardService(services: services)
        let scopes = CustomerController.writeScopes
        routes.post("gift_cards", scopes: scopes) { request, context, caller in
            let body = try await request.decode(IssueGiftCardRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context) { sql in try await giftCards.issue(on: sql, caller: caller, body, actor: actor) }
        }
        // Registered before `gift_cards/:id`: a constant segment, not an id.
        routes.get("gift_cards/lookup", scopes: scopes) { request, context, caller in
            try services.admitCodeLookup(caller.keyID, client: context.clientAddress)
            let query = request.uri.queryParameters
            let card = try await giftCards.lookup(database: services.database, tenantID: caller.tenantID, code: query["code"].map(String.init),
                                                  pin: query["pin"].map(String.init))
            return try JSONResponse.make(card)
        }
        routes.get("gift_cards/:id", scopes: scopes) { request, context, caller in
            let id = try request.id("id", .giftCard, context: context, what: "gift card")
            let card = try await services.database.read { sql in try await giftCards.card(on: sql, tenantID: caller.tenantID, id: id) }
            return try JSONResponse.make(card)
        }
        routes.post("gift_cards/:id/reload", scopes: scopes) { request, context, caller in
            let id = try request.id("id", .giftCard, context: context, what: "gift card")
            let body = try await request.decode(ReloadGiftCardRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context, status: .ok) { sql in
                try await giftCards.reload(on: sql, tenantID: caller.tenantID, id: id, body, actor: actor)
            }
        }
        routes.post("gift_cards/:id/activate", scopes: scopes) { request, context, caller in
            let id = try request.id("id", .giftCard, context: context, what: "gift card")
            let body = try await request.decode(GiftCardActionRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context, status: .ok) { sql in
                try await giftCards.activate(on: sql, tenantID: caller.tenantID, id: id, body, actor: actor)
            }
        }
        routes.post("gift_cards/:id/disable", scopes: [.service]) { request, context, caller in
            let id = try request.id("id", .giftCard, context: context, what: "gift card")
            let body = try await request.decode(GiftCardActionRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context, status: .ok) { sql in
                try await giftCards.disable(on: sql, tenantID: caller.tenantID, id: id, body, actor: actor)
            }
        }
    }
}
