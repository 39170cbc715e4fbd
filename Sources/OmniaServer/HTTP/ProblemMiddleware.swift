import Hummingbird
import Logging

/// The one edge where every error becomes an RFC 9457 problem+json response: domain errors with
/// their codes, router errors (404, 405, 413), and anything unexpected as a bare 500 — logged with
/// the request id, never a stack trace or internal detail in the response.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = OmniaRequestContext
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let problem = problem(for: error, request: request, context: context)
            if problem.status.code >= 500 {
                context.logger.error("request failed", metadata: ["error": .string(String(reflecting: error))])
            }
            return problem.response(instance: request.uri.path, requestID: context.requestID)
        }
    }

    func problem(for error: any Error, request: Request, context: Context) -> Problem {
        if let convertible = error as? any ProblemConvertible {
            return convertible.problem
        }
        if let httpError = error as? HTTPError {
            switch httpError.status {
            // Handlers signal missing objects with `Problem`, so a bare 404 here is the router's: no such route.
            case .notFound:
                let allowed = routes.methods(matching: request.uri.path)
                if !allowed.isEmpty {
                    let allow = allowed.map(\.rawValue).joined(separator: ", ")
                    return Problem(
                        .methodNotAllowed, code: "method_not_allowed",
                        detail: "\(request.method.rawValue) is not allowed here; use \(allow)",
                        headers: [.allow: allow]
                    )
                }
                return Problem(.notFound, code: "route_not_found", detail: "no route \(request.method.rawValue) \(request.uri.path)")
            case .contentTooLarge:
                return Problem(.contentTooLarge, code: "body_too_large", detail: "the request body is larger than the server accepts")
            default:
                return Problem(httpError.status, code: "http_\(httpError.status.code)", detail: httpError.body ?? httpError.status.reasonPhrase)
            }
        }
        return Problem(.internalServerError, code: "internal_error", detail: "an unexpected error occurred; quote the request id when reporting it")
    }
}
