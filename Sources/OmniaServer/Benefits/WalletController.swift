import Hummingbird
import OmniaCore

/// What a customer holds to pay with, and store credit given by agents.
///
/// | route | scope |
/// | --- | --- |
/// | `GET /v1/customers/{id}/wallet` | pos, ecommerce, service |
/// | `POST /v1/customers/{id}/store_credit` | service |
struct WalletController {
    let services: AppServices

    func addRoutes(to routes: Routes) {
        let giftCards = GiftCardService(services: services)
        let storeCredit = StoreCreditService(services: services)
        let coupons = CouponService(services: services)
        routes.get("customers/:id/wallet", scopes: CustomerController.writeScopes) { request, context, caller in
            let id = try request.id("id", .customer, context: context, what: "customer")
            let wallet = try await services.database.read { sql in
                guard let customer = try await CustomerStore(tenantID: caller.tenantID).resolvedRow(on: sql, id: id) else {
                    throw Problem.notFound("customer")
                }
                return Wallet(customerId: customer.id, giftCards: try await giftCards.cards(on: sql, tenantID: caller.tenantID, customerID: customer.id),
                              storeCredit: try await storeCredit.credits(on: sql, tenantID: caller.tenantID, customerID: customer.id),
                              coupons: try await coupons.assigned(on: sql, tenantID: caller.tenantID, customerID: customer.id))
            }
            return try JSONResponse.make(wallet)
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

/// `GET /v1/customers/{id}/wallet`: the gift cards, store credit and assigned coupons still usable
/// of the customer's whole merged cluster (the survivor's id answers for a merged-away one), each
/// with what is available now.
struct Wallet: Encodable, Sendable {
    let customerId: String
    let giftCards: [GiftCard]
    let storeCredit: [StoreCredit]
    let coupons: [Coupon]
}
