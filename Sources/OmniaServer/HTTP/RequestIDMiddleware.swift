import HTTPTypes
import Hummingbird
import Logging
import OmniaCore

/// Accepts a sane client `X-Request-Id` or makes one, puts it in every log line of the request
/// and returns it on every response, errors included.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = OmniaRequestContext
    let ids: IDGenerator

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let supplied = request.headers[.xRequestID]
        let requestID = supplied.flatMap(Self.isAcceptable) == true ? supplied! : ids.make(.request)
        context.requestID = requestID
        context.logger[metadataKey: "request_id"] = .string(requestID)
        context.logger[metadataKey: "hb.request.id"] = nil
        var response = try await next(request, context)
        response.headers[.xRequestID] = requestID
        return response
    }

    /// Up to 128 printable ASCII characters without spaces, so a client cannot inject log lines.
    static func isAcceptable(_ value: String) -> Bool {
        (1...128).contains(value.utf8.count) && value.utf8.allSatisfy { (0x21...0x7e).contains($0) }
    }
}

extension HTTPField.Name {
    static let xRequestID = Self("X-Request-Id")!
    static let idempotencyKey = Self("Idempotency-Key")!
    static let idempotentReplayed = Self("Idempotent-Replayed")!
}
