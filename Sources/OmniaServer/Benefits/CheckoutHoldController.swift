import Hummingbird
import OmniaCore
import SQLKit

/// Holds and redemptions on a checkout's instruments, from every channel.
///
/// | route | scope |
/// | --- | --- |
/// | `POST /v1/holds` | pos, ecommerce, service |
/// | `GET /v1/holds/{id}` | pos, ecommerce, service |
/// | `POST /v1/holds/{id}/capture` | pos, ecommerce, service |
/// | `POST /v1/holds/{id}/void` | pos, ecommerce, service |
/// | `POST /v1/holds/{id}/refund` | pos, ecommerce, service |
/// | `POST /v1/redemptions` (`offline: true`: 201, or 202 with a redemption exception) | pos, ecommerce, service |
/// | `GET /v1/redemption_exceptions?status=` | service |
/// | `POST /v1/redemption_exceptions/{id}/resolve` | service |
struct CheckoutHoldController {
    let services: AppServices

    /// The route whose `Idempotency-Key` the handler claims itself: a redemption written in a group
    /// writes its key completed with it, in the group's transaction (PostgreSQL).
    static let redemptionsPath = "/v1/redemptions"

    func addRoutes(to routes: Routes) {
        let holds = CheckoutHoldService(services: services)
        let scopes = CustomerController.writeScopes
        for (path, kind) in [("holds", "hold"), ("redemptions", "redemption")] {
            routes.post(path, scopes: scopes) { request, context, caller in
                let body = try await request.decode(CreateHoldRequest.self, maxBytes: services.config.maxBodyBytes)
                let actor = Actor(id: caller.keyID, requestID: context.requestID)
                if kind == "redemption" && body.offline == true { return try await syncOffline(body, caller: caller, context: context, actor: actor) }
                let cards = try await resolveCodes(body, caller: caller, client: context.clientAddress)
                let alone: @Sendable () async throws -> Response = {
                    try await context.claimingIdempotencyKey { context in
                        try await services.mutation(context) { sql in
                            try await holds.create(on: sql, caller: caller, body, kind: kind, cardIDsByCode: cards, actor: actor)
                        }
                    }
                }
                // A redemption of one card may be written with others arriving at the same moment.
                guard kind == "redemption", body.occurredAt == nil, let instruments = body.instruments, instruments.count == 1,
                    let cardID = instruments[0].id ?? cards[0], IDGenerator.isWellFormed(cardID, prefix: .giftCard)
                else { return try await alone() }
                return try await services.redemptionGroups.redeem(
                    .init(caller: caller, request: body, cardID: cardID, actor: actor, claim: context.idempotencyClaim,
                          unclaimedKey: context.unclaimedIdempotencyKey, services: services),
                    ordinary: alone)
            }
        }
        routes.get("holds/:id", scopes: scopes) { request, context, caller in
            let id = try request.id("id", .checkoutHold, context: context, what: "hold")
            let hold = try await services.database.read { sql in try await holds.current(on: sql, tenantID: caller.tenantID, id: id) }
            return try JSONResponse.make(hold)
        }
        let offline = OfflineRedemptions(services: services)
        routes.get("redemption_exceptions", scopes: [.service]) { request, _, caller in
            let page = try PageRequest(request)
            let status = request.uri.queryParameters["status"].map(String.init)
            if let status, !["open", "resolved"].contains(status) {
                throw Problem.validation([FieldError(field: "status", code: "invalid_enum", detail: "status must be open or resolved")])
            }
            let exceptions = try await services.database.read { sql in
                try await offline.page(on: sql, tenantID: caller.tenantID, status: status, page: page)
            }
            return try JSONResponse.make(page.page(exceptions, id: \.id))
        }
        routes.post("redemption_exceptions/:id/resolve", scopes: [.service]) { request, context, caller in
            let id = try request.id("id", .redemptionException, context: context, what: "redemption exception")
            let body = try await request.decode(ResolveExceptionRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context, status: .ok) { sql in
                try await offline.resolve(on: sql, tenantID: caller.tenantID, id: id, body, actor: actor)
            }
        }
        let actions: [(String, @Sendable (any SQLDatabase, String, String, HoldAmountRequest, Actor) async throws -> CheckoutHold)] = [
            ("capture", holds.capture), ("void", holds.void), ("refund", holds.refund),
        ]
        for (action, perform) in actions {
            routes.post("holds/:id/\(action)", scopes: scopes) { request, context, caller in
                let id = try request.id("id", .checkoutHold, context: context, what: "hold")
                let body = try await request.decode(HoldAmountRequest.self, maxBytes: services.config.maxBodyBytes)
                let actor = Actor(id: caller.keyID, requestID: context.requestID)
                return try await services.mutation(context, status: .ok) { sql in try await perform(sql, caller.tenantID, id, body, actor) }
            }
        }
    }

    /// A redemption a till made offline: redeemed, or recorded as an exception (202) when it can no
    /// longer be honoured — a code or PIN that no longer matches included. Never grouped.
    private func syncOffline(_ body: CreateHoldRequest, caller: Caller, context: OmniaRequestContext, actor: Actor) async throws -> Response {
        // The key is claimed before any code is looked up: a repeated sync gets its stored answer
        // without spending the key's lookups again, or counting a wrong PIN twice.
        try await context.claimingIdempotencyKey { context in
            var cards: [Int: String] = [:]
            var refusedCode: Problem?
            do {
                cards = try await resolveCodes(body, caller: caller, client: context.clientAddress)
            } catch let problem as Problem where OfflineRedemptions.isUnhonourable(problem) {
                refusedCode = problem
            }
            let resolved = cards, refusal = refusedCode
            return try await services.mutation(context, status: { $0.status }) { sql in
                try await OfflineRedemptions(services: services).sync(on: sql, caller: caller, body, cardIDsByCode: resolved, refusedCode: refusal,
                                                                      actor: actor)
            }
        }
    }

    /// The cards of the instruments given by code, by position: each code counts against the key's
    /// code lookups and is checked with its PIN before the checkout's transaction, so a wrong PIN
    /// counts towards the card's lockout even though the request fails.
    private func resolveCodes(_ body: CreateHoldRequest, caller: Caller, client: String?) async throws -> [Int: String] {
        var cards: [Int: String] = [:]
        // Coupon codes are looked up in the checkout's transaction; they count against the same allowance.
        for instrument in body.instruments ?? [] where instrument.code != nil && instrument.type == InstrumentType.coupon.rawValue {
            try services.admitCodeLookup(caller.keyID, client: client)
        }
        for (position, instrument) in (body.instruments ?? []).enumerated()
        where instrument.code != nil && instrument.id == nil && instrument.type == InstrumentType.giftCard.rawValue {
            try services.admitCodeLookup(caller.keyID, client: client)
            let card = try await GiftCardService(services: services).resolve(database: services.database, tenantID: caller.tenantID,
                                                                              code: instrument.code, pin: instrument.pin, field: "instruments[\(position)].code")
            cards[position] = card.id
        }
        return cards
    }
}
