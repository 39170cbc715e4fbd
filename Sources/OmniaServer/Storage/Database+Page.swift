import SQLKit

extension Database {
    /// One page of a tenant's rows of `table`, oldest first, fetching `limit + 1` rows so the caller
    /// can tell whether more follow. `filter` is an extra bound condition (e.g. a type filter).
    func page<Row: Decodable & Sendable>(_: Row.Type, from table: String, tenantID: String, page: PageRequest,
                                         filter: SQLQueryString? = nil) async throws -> [Row] {
        try await read { sql in
            var query: SQLQueryString = "SELECT * FROM \(unsafeRaw: table) WHERE tenant_id = \(bind: tenantID)"
            if let cursor = page.startingAfter { query.appendInterpolation(raw: " AND id > "); query.appendInterpolation(bind: cursor) }
            if let filter { query.appendInterpolation(raw: " AND "); query.appendInterpolation(filter) }
            query.appendInterpolation(raw: " ORDER BY id LIMIT ")
            query.appendInterpolation(literal: page.limit + 1)
            return try await sql.raw(query).rows(Row.self)
        }
    }

    /// One of a tenant's rows by id, or nil — never another tenant's.
    func fetch<Row: Decodable & Sendable>(_: Row.Type, from table: String, tenantID: String, id: String) async throws -> Row? {
        try await read { sql in
            try await sql.raw("SELECT * FROM \(unsafeRaw: table) WHERE tenant_id = \(bind: tenantID) AND id = \(bind: id)").row(Row.self)
        }
    }
}
