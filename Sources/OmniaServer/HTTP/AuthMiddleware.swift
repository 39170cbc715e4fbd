import Foundation
import Hummingbird
import OmniaCore

/// Authenticates every `/v1` request by its bearer key and applies the key's rate limit.
/// Missing or unknown keys get 401; scopes are checked per route by `Routes`.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = OmniaRequestContext
    let authenticator: APIKeyAuthenticator
    let rateLimiter: RateLimiter?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            throw Problem(.unauthorized, code: "unauthenticated", detail: "send an API key as 'Authorization: Bearer <key>'",
                          headers: [.wwwAuthenticate: "Bearer"])
        }
        guard header.utf8.count > 7, header.utf8.prefix(7).elementsEqual("bearer ".utf8, by: { (0x41...0x5A).contains($0) ? $0 | 0x20 == $1 : $0 == $1 }),
            let caller = try await authenticator.authenticate(presented: header.dropFirst(7).trimmingWhitespace())
        else {
            throw Problem(.unauthorized, code: "invalid_api_key", detail: "the API key is unknown or revoked",
                          headers: [.wwwAuthenticate: "Bearer error=\"invalid_token\""])
        }
        if let rateLimiter { try rateLimiter.admit(caller.keyID, exceeded: "sent more than \(Int(rateLimiter.ratePerSecond)) requests per second") }
        var context = context
        context.caller = caller
        return try await next(request, context)
    }
}
