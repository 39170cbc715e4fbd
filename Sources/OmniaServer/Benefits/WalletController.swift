import Hummingbird
import OmniaCore
import SQLKit

/// What a customer holds to pay with, and store credit given by agents.
///
/// | route | scope |
/// | --- | --- |
/// | `GET /v1/customers/{id}/wallet` | pos, ecommerce, service |
/// | `POST /v1/customers/{id}/store_credit` | service |
/// | `POST /v1/customers/{id}/wallet_link` | ecommerce, service |
/// | `DELETE /v1/customers/{id}/wallet_links` | ecommerce, service |
/// | `GET /v1/wallets/{token}` (JSON; HTML with `Accept: text/html` or `?format=html`) | none: the token is the permission |
struct WalletController {
    let services: AppServices

    /// The shopper's page, outside the API-key routes: the token in the link opens that one wallet.
    func addPublicRoutes(to router: Router<OmniaRequestContext>, table: RouteTable) {
        table.record(.get, "/v1/wallets/:token")
        router.get("/v1/wallets/:token") { request, context in
            let notFound = Problem(.notFound, code: "not_found", detail: "no wallet with that link")
            guard let token = context.parameters.get("token") else { throw notFound }
            let found = try await services.database.read { sql -> (Wallet, String)? in
                guard let (tenantID, customerID) = try await WalletLink.open(on: sql, token: token, now: services.nowMilliseconds),
                    let tenantName = try await sql.raw("SELECT name FROM tenants WHERE id = \(bind: tenantID)").first(decodingColumn: "name", as: String.self)
                else { return nil }
                return (try await wallet(on: sql, tenantID: tenantID, customerID: customerID), tenantName)
            }
            guard let (wallet, tenantName) = found else { throw notFound }
            let format = request.uri.queryParameters["format"].map(String.init)
            let wantsHTML = format == "html" || (format == nil && (request.headers[.accept] ?? "").contains("text/html"))
            guard wantsHTML else {
                var response = try JSONResponse.make(wallet)
                response.headers[.cacheControl] = "private, no-store"
                return response
            }
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "private, no-store"],
                            body: .init(byteBuffer: ByteBuffer(string: WalletPage.html(wallet, tenantName: tenantName))))
        }
    }

    /// Everything `customerID` (a cluster's survivor) holds.
    private func wallet(on sql: any SQLDatabase, tenantID: String, customerID: String) async throws -> Wallet {
        Wallet(customerId: customerID,
               giftCards: try await GiftCardService(services: services).cards(on: sql, tenantID: tenantID, customerID: customerID),
               storeCredit: try await StoreCreditService(services: services).credits(on: sql, tenantID: tenantID, customerID: customerID),
               coupons: try await CouponService(services: services).assigned(on: sql, tenantID: tenantID, customerID: customerID),
               points: try await LoyaltyService(services: services).memberships(on: sql, tenantID: tenantID, customerID: customerID))
    }

    func addRoutes(to routes: Routes) {
        let storeCredit = StoreCreditService(services: services)
        routes.get("customers/:id/wallet", scopes: CustomerController.writeScopes) { request, context, caller in
            let id = try request.id("id", .customer, context: context, what: "customer")
            let held = try await services.database.read { sql in
                guard let customer = try await CustomerStore(tenantID: caller.tenantID).resolvedRow(on: sql, id: id) else {
                    throw Problem.notFound("customer")
                }
                return try await self.wallet(on: sql, tenantID: caller.tenantID, customerID: customer.id)
            }
            return try JSONResponse.make(held)
        }
        routes.post("customers/:id/wallet_link", scopes: [.ecommerce, .service]) { request, context, caller in
            let id = try request.id("id", .customer, context: context, what: "customer")
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context) { sql in
                try await WalletLink.create(on: sql, services: services, tenantID: caller.tenantID, customerID: id, actor: actor)
            }
        }
        routes.delete("customers/:id/wallet_links", scopes: [.ecommerce, .service]) { request, context, caller in
            let id = try request.id("id", .customer, context: context, what: "customer")
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context, status: .ok) { sql in
                try await WalletLink.revokeAll(on: sql, services: services, tenantID: caller.tenantID, customerID: id, actor: actor)
            }
        }
        routes.post("customers/:id/store_credit", scopes: [.service]) { request, context, caller in
            let id = try request.id("id", .customer, context: context, what: "customer")
            let body = try await request.decode(IssueStoreCreditRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context) { sql in
                try await storeCredit.issue(on: sql, caller: caller, customerID: id, body, actor: actor)
            }
        }
    }
}

/// `GET /v1/customers/{id}/wallet`: the gift cards, store credit, assigned coupons and points still usable
/// of the customer's whole merged cluster (the survivor's id answers for a merged-away one), each
/// with what is available now.
struct Wallet: Encodable, Sendable {
    let customerId: String
    let giftCards: [GiftCard]
    let storeCredit: [StoreCredit]
    let coupons: [Coupon]
    /// Each loyalty membership, with its points, tier and next expiries.
    let points: [LoyaltyMembership]
}
