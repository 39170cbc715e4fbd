import Hummingbird

/// Refuses a body whose declared length is over the limit before reading any of it; streamed bodies
/// are cut at the same limit when a handler collects them.
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = OmniaRequestContext
    let maxBodyBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > maxBodyBytes {
            throw Problem(.contentTooLarge, code: "body_too_large", detail: "the body is \(length) bytes; the limit is \(maxBodyBytes)")
        }
        return try await next(request, context)
    }
}
