import Foundation
import HTTPTypes
import Hummingbird
import OmniaCore
import SQLKit

/// Segments: customers chosen by a rule over their live profile, or listed.
///
/// | route | scope |
/// | --- | --- |
/// | `POST /v1/segments`, `PATCH /v1/segments/{id}` | service |
/// | `POST /v1/segments/estimate` (writes nothing) | service, analytics:read |
/// | `GET /v1/segments?status=&kind=`, `GET /v1/segments/{id}` | service, analytics:read |
/// | `POST /v1/segments/{id}/members` (a static segment's) | service |
/// | `POST /v1/segments/{id}/refresh` (the tenant's dynamic segments, now) | service |
/// | `GET /v1/segments/{id}/members`, `GET /v1/segments/{id}/members.csv` | service, analytics:read |
/// | `GET /v1/segments/{id}/sizes` (newest first) | service, analytics:read |
struct SegmentController {
    let services: AppServices
    /// Members read per page while a CSV export streams.
    static let exportPage = 5_000

    func addRoutes(to routes: Routes) {
        let segments = SegmentService(services: services)
        let readers: Set<Scope> = [.service, .analyticsRead]
        routes.post("segments", scopes: [.service]) { request, context, caller in
            let body = try await request.decode(SegmentRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context) { sql in try await segments.create(on: sql, caller: caller, body, actor: actor) }
        }
        routes.post("segments/estimate", scopes: readers) { request, _, caller in
            let body = try await request.decode(SegmentEstimateRequest.self, maxBytes: services.config.maxBodyBytes)
            let estimate = try await segments.estimate(caller: caller, body)
            return try JSONResponse.make(estimate)
        }
        routes.get("segments", scopes: readers) { request, _, caller in
            let page = try PageRequest(request)
            let query = request.uri.queryParameters
            var validator = Validator()
            let status = query["status"].map(String.init)
            let kind = query["kind"].map(String.init)
            if let status, !SegmentService.statuses.contains(status) {
                validator.fail("status", "invalid_enum", "status must be one of: \(SegmentService.statuses.joined(separator: ", "))")
            }
            if let kind, !SegmentService.kinds.contains(kind) {
                validator.fail("kind", "invalid_enum", "kind must be one of: \(SegmentService.kinds.joined(separator: ", "))")
            }
            guard validator.isValid else { throw Problem.validation(validator.errors) }
            let found = try await services.database.read { sql in
                try await segments.page(on: sql, tenantID: caller.tenantID, status: status, kind: kind, page: page)
            }
            return try JSONResponse.make(page.page(found, id: \.id))
        }
        routes.get("segments/:id", scopes: readers) { request, context, caller in
            let id = try request.id("id", .segment, context: context, what: "segment")
            return try JSONResponse.make(try await existing(id, caller: caller, segments: segments))
        }
        routes.patch("segments/:id", scopes: [.service]) { request, context, caller in
            let id = try request.id("id", .segment, context: context, what: "segment")
            let body = try await request.decode(SegmentRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context, status: .ok) { sql in try await segments.update(on: sql, caller: caller, id: id, body, actor: actor) }
        }
        routes.post("segments/:id/members", scopes: [.service]) { request, context, caller in
            let id = try request.id("id", .segment, context: context, what: "segment")
            let body = try await request.decode(SegmentMembersRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context, status: .ok) { sql in
                try await segments.changeMembers(on: sql, caller: caller, id: id, body, actor: actor)
            }
        }
        routes.post("segments/:id/refresh", scopes: [.service]) { request, context, caller in
            let id = try request.id("id", .segment, context: context, what: "segment")
            let segment = try await existing(id, caller: caller, segments: segments)
            guard segment.kind == "dynamic", segment.status == "active" else {
                throw Problem(.conflict, code: "not_refreshable", detail: "only an active dynamic segment is computed; this one is \(segment.status) and \(segment.kind)")
            }
            guard try await SegmentRefresher(services: services).refresh(tenantID: caller.tenantID) != nil else {
                throw Problem(.conflict, code: "refresh_in_progress", detail: "the tenant's segments are being computed now; read the segment again in a moment",
                              headers: [.retryAfter: "2"])
            }
            return try JSONResponse.make(try await existing(id, caller: caller, segments: segments))
        }
        routes.get("segments/:id/members", scopes: readers) { request, context, caller in
            let id = try request.id("id", .segment, context: context, what: "segment")
            let page = try PageRequest(request)
            _ = try await existing(id, caller: caller, segments: segments)
            let members = try await services.database.read { sql in
                try await segments.members(on: sql, tenantID: caller.tenantID, id: id, after: page.startingAfter, limit: page.limit + 1)
            }
            return try JSONResponse.make(page.page(members, id: \.customerId))
        }
        routes.get("segments/:id/members.csv", scopes: readers) { request, context, caller in
            let id = try request.id("id", .segment, context: context, what: "segment")
            _ = try await existing(id, caller: caller, segments: segments)
            // Streamed a page at a time: a segment of a million never sits in memory at once.
            let body = ResponseBody { [services] writer in
                try await writer.write(ByteBuffer(string: "customer_id,first_name,last_name,entered_at\n"))
                var cursor: String?
                while true {
                    let rows = try await services.database.read { [cursor] sql in
                        var query: SQLQueryString = """
                            SELECT m.customer_id, m.entered_at, c.first_name, c.last_name FROM segment_members m
                            JOIN customers c ON c.tenant_id = m.tenant_id AND c.id = m.customer_id
                            WHERE m.tenant_id = \(bind: caller.tenantID) AND m.segment_id = \(bind: id)
                            """
                        if let cursor { query += " AND m.customer_id > \(bind: cursor)" }
                        return try await sql.raw(query + " ORDER BY m.customer_id LIMIT \(literal: Self.exportPage)").all().map { row in
                            (id: try row.decode(column: "customer_id", as: String.self), first: try row.decode(column: "first_name", as: String?.self),
                             last: try row.decode(column: "last_name", as: String?.self), entered: try row.decode(column: "entered_at", as: Int64.self))
                        }
                    }
                    var text = ""
                    for row in rows {
                        text += "\(row.id),\(Self.csvField(row.first)),\(Self.csvField(row.last)),\(Timestamp.text(row.entered))\n"
                    }
                    if !text.isEmpty { try await writer.write(ByteBuffer(string: text)) }
                    guard rows.count == Self.exportPage, let last = rows.last else { break }
                    cursor = last.id
                }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8",
                                                   .contentDisposition: "attachment; filename=\"\(id)-members.csv\""], body: body)
        }
        routes.get("segments/:id/sizes", scopes: readers) { request, context, caller in
            let id = try request.id("id", .segment, context: context, what: "segment")
            let page = try PageRequest(request)
            _ = try await existing(id, caller: caller, segments: segments)
            let sizes = try await services.database.read { sql in try await segments.sizes(on: sql, tenantID: caller.tenantID, id: id, page: page) }
            return try JSONResponse.make(page.page(sizes, id: { String($0.measuredAt.milliseconds) }))
        }
    }

    private func existing(_ id: String, caller: Caller, segments: SegmentService) async throws -> SegmentView {
        guard let segment = try await services.database.read({ sql in try await segments.segment(on: sql, tenantID: caller.tenantID, id: id) })
        else { throw Problem.notFound("segment") }
        return segment
    }

    /// A CSV field: quoted when it holds a comma, a quote or a line break (RFC 4180); a leading
    /// `=`, `+`, `-` or `@` is prefixed with `'` so a spreadsheet never runs it as a formula.
    static func csvField(_ value: String?) -> String {
        guard var value, !value.isEmpty else { return "" }
        if let first = value.first, "=+-@".contains(first) { value = "'" + value }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
