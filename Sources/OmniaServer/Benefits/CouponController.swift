import Hummingbird
import NIOCore
import OmniaCore

/// Coupon campaigns and their codes, from every channel.
///
/// | route | scope |
/// | --- | --- |
/// | `POST /v1/coupon_campaigns` | service |
/// | `GET /v1/coupon_campaigns/{id}` | pos, ecommerce, service |
/// | `POST /v1/coupon_campaigns/{id}/codes` (up to 1,000,000 single-use codes) | service |
/// | `GET /v1/coupon_campaigns/{id}/codes.csv` | service |
/// | `POST /v1/coupons/assign` | ecommerce, service |
/// | `GET /v1/coupons/validate?code=&channel=&customer_id=` | pos, ecommerce, service |
struct CouponController {
    let services: AppServices
    /// Codes read per page while a CSV export streams.
    static let exportPage = 10_000

    func addRoutes(to routes: Routes) {
        let coupons = CouponService(services: services)
        routes.post("coupon_campaigns", scopes: [.service]) { request, context, caller in
            let body = try await request.decode(CreateCouponCampaignRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context) { sql in try await coupons.create(on: sql, tenantID: caller.tenantID, body, actor: actor) }
        }
        routes.get("coupon_campaigns/:id", scopes: CustomerController.writeScopes) { request, context, caller in
            let id = try request.id("id", .couponCampaign, context: context, what: "coupon campaign")
            let campaign = try await services.database.read { sql in try await coupons.campaign(on: sql, tenantID: caller.tenantID, id: id) }
            return try JSONResponse.make(campaign)
        }
        routes.post("coupon_campaigns/:id/codes", scopes: [.service]) { request, context, caller in
            let id = try request.id("id", .couponCampaign, context: context, what: "coupon campaign")
            let body = try await request.decode(GenerateCouponCodesRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context, status: .ok) { sql in
                try await coupons.generate(on: sql, tenantID: caller.tenantID, campaignID: id, body, actor: actor)
            }
        }
        routes.get("coupon_campaigns/:id/codes.csv", scopes: [.service]) { request, context, caller in
            let id = try request.id("id", .couponCampaign, context: context, what: "coupon campaign")
            _ = try await services.database.read { sql in try await coupons.campaign(on: sql, tenantID: caller.tenantID, id: id) }
            // Streamed a page at a time: a million codes never sit in memory at once.
            let body = ResponseBody { [services] writer in
                try await writer.write(ByteBuffer(string: "code,status,customer_id\n"))
                var cursor: String?
                while true {
                    let page = try await services.database.read { [cursor] sql in
                        try await coupons.codes(on: sql, tenantID: caller.tenantID, campaignID: id, after: cursor, limit: Self.exportPage)
                    }
                    var text = ""
                    for code in page { text += "\(CouponCode.display(code.code)),\(code.status),\(code.customerID ?? "")\n" }
                    if !text.isEmpty { try await writer.write(ByteBuffer(string: text)) }
                    guard page.count == Self.exportPage, let last = page.last else { break }
                    cursor = last.code
                }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8",
                                                   .contentDisposition: "attachment; filename=\"\(id)-codes.csv\""], body: body)
        }
        routes.post("coupons/assign", scopes: [.ecommerce, .service]) { request, context, caller in
            let body = try await request.decode(AssignCouponRequest.self, maxBytes: services.config.maxBodyBytes)
            try services.admitCodeLookup(caller.keyID, client: context.clientAddress)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context, status: .ok) { sql in try await coupons.assign(on: sql, tenantID: caller.tenantID, body, actor: actor) }
        }
        routes.get("coupons/validate", scopes: CustomerController.writeScopes) { request, context, caller in
            try services.admitCodeLookup(caller.keyID, client: context.clientAddress)
            let query = request.uri.queryParameters
            let coupon = try await services.database.read { sql in
                try await coupons.validate(on: sql, caller: caller, code: query["code"].map(String.init), channel: query["channel"].map(String.init),
                                           customerID: query["customer_id"].map(String.init))
            }
            return try JSONResponse.make(coupon)
        }
    }
}
