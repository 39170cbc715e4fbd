import Hummingbird
import OmniaCore

/// Digital receipts, served without an API key: the unguessable token in the link is the
/// permission to read that one receipt (it is mailed to the shopper via `receipt.issued`).
///
/// | route | scope |
/// | --- | --- |
/// | `GET /v1/receipts/{token}` (JSON; HTML with `Accept: text/html` or `?format=html`) | none |
struct ReceiptController {
    let services: AppServices

    func addRoutes(to router: Router<OmniaRequestContext>, table: RouteTable) {
        table.record(.get, "/v1/receipts/:token")
        router.get("/v1/receipts/:token") { request, context in
            guard let token = context.parameters.get("token"),
                let receipt = try await services.database.read({ sql in try await Receipt.load(on: sql, token: token) })
            else { throw Problem(.notFound, code: "not_found", detail: "no receipt with that token") }
            let format = request.uri.queryParameters["format"].map(String.init)
            let wantsHTML = format == "html" || (format == nil && (request.headers[.accept] ?? "").contains("text/html"))
            guard wantsHTML else {
                var response = try JSONResponse.make(receipt)
                response.headers[.cacheControl] = "private, no-store"
                return response
            }
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "private, no-store"],
                            body: .init(byteBuffer: ByteBuffer(string: ReceiptPage.html(receipt))))
        }
    }
}
