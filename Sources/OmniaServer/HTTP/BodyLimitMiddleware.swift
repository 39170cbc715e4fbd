import Hummingbird

/// Refuses a body whose declared length is over the limit before reading any of it; streamed bodies
/// are cut at the same limit when a handler collects them.
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = OmniaRequestContext
    let config: AppConfig

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let maxBodyBytes = config.bodyLimit(path: request.uri.path)
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > maxBodyBytes {
            throw Problem(.contentTooLarge, code: "body_too_large", detail: "the body is \(length) bytes; the limit is \(maxBodyBytes)")
        }
        return try await next(request, context)
    }
}
