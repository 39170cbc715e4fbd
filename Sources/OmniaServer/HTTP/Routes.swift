import Foundation
import Hummingbird
import OmniaCore

/// Registers `/v1` routes with the scopes each needs, records them for 405 answers, and gives
/// handlers their authenticated caller. Handlers return `Response`s built by `JSONResponse`.
struct Routes: Sendable {
    typealias Handler = @Sendable (inout Request, OmniaRequestContext, Caller) async throws -> Response

    let group: RouterGroup<OmniaRequestContext>
    let table: RouteTable
    let basePath: String

    func get(_ path: String, scopes: Set<Scope>, _ handler: @escaping Handler) { add(.get, path, scopes, handler) }
    func post(_ path: String, scopes: Set<Scope>, _ handler: @escaping Handler) { add(.post, path, scopes, handler) }
    func patch(_ path: String, scopes: Set<Scope>, _ handler: @escaping Handler) { add(.patch, path, scopes, handler) }
    func delete(_ path: String, scopes: Set<Scope>, _ handler: @escaping Handler) { add(.delete, path, scopes, handler) }

    private func add(_ method: HTTPRequest.Method, _ path: String, _ scopes: Set<Scope>, _ handler: @escaping Handler) {
        table.record(method, basePath + "/" + path)
        group.on(RouterPath(path), method: method) { request, context in
            let caller = try context.requireCaller()
            guard caller.scopes.permits(anyOf: scopes) else {
                let needed = scopes.map(\.rawValue).sorted().joined(separator: " or ")
                throw Problem(.forbidden, code: "insufficient_scope", detail: "this key lacks the scope for this action (needs \(needed.isEmpty ? "admin" : needed))")
            }
            var request = request
            return try await handler(&request, context, caller)
        }
    }
}

/// Builds JSON responses with the API's one encoder.
enum JSONResponse {
    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        try make(data: JSONCoding.encode(value), status: status)
    }

    static func make(data: Data, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension Request {
    /// A path parameter that must look like an ID with `prefix`; anything else cannot exist, so 404.
    func id(_ name: String, _ prefix: IDPrefix, context: OmniaRequestContext, what: String) throws -> String {
        guard let value = context.parameters.get(name), IDGenerator.isWellFormed(value, prefix: prefix) else {
            throw Problem.notFound(what)
        }
        return value
    }
}

extension Routes {
    /// `GET /v1/{path}` (cursor-paginated, oldest first) and `GET /v1/{path}/{id}` over a tenant's
    /// rows of `table`; another tenant's id, or a malformed one, is a 404.
    func listAndFetch<Model: Decodable & Encodable & Sendable>(
        _: Model.Type, path: String, table: String, prefix: IDPrefix, what: String, scopes: Set<Scope>, database: any Database,
        id: @escaping @Sendable (Model) -> String
    ) {
        get(path, scopes: scopes) { request, _, caller in
            let page = try PageRequest(request)
            let rows = try await database.page(Model.self, from: table, tenantID: caller.tenantID, page: page)
            return try JSONResponse.make(page.page(rows, id: id))
        }
        get("\(path)/:id", scopes: scopes) { request, context, caller in
            let modelID = try request.id("id", prefix, context: context, what: what)
            guard let row = try await database.fetch(Model.self, from: table, tenantID: caller.tenantID, id: modelID) else {
                throw Problem.notFound(what)
            }
            return try JSONResponse.make(row)
        }
    }
}
