import OmniaCore
import SQLKit

/// The SQL of customers and identifiers. Every read is a bounded number of queries whatever the
/// number of identifiers or merged customers involved.
struct CustomerStore: Sendable {
    let tenantID: String

    /// Where each of `identifiers` already points, in one query: a primary-key lookup per identifier
    /// joined by UNION ALL. (With ORed conditions or a row-value IN, SQLite's planner may scan the
    /// tenant's identifiers through another index instead — hundreds of milliseconds at a million.)
    /// `independent`: read with `independentRows` (the caller relies on the answer only when every
    /// identifier is known, i.e. nothing is created on its strength).
    func matches(on sql: any SQLDatabase, _ identifiers: [NormalizedIdentifier], independent: Bool = false) async throws -> [IdentifierMatch] {
        guard !identifiers.isEmpty else { return [] }
        var query: SQLQueryString = ""
        for (index, identifier) in identifiers.enumerated() {
            query += """
                \(unsafeRaw: index == 0 ? "" : " UNION ALL ")SELECT i.kind, i.value, i.customer_id, c.canonical_id FROM customer_identifiers i
                JOIN customers c ON c.tenant_id = i.tenant_id AND c.id = i.customer_id
                WHERE i.tenant_id = \(bind: tenantID) AND i.kind = \(bind: identifier.kind) AND i.value = \(bind: identifier.value)
                """
        }
        return try await (independent ? sql.independentRows(query) : sql.raw(query).all()).map { row in
            IdentifierMatch(
                identifier: NormalizedIdentifier(kind: try row.decode(column: "kind", as: String.self), value: try row.decode(column: "value", as: String.self)),
                holderID: try row.decode(column: "customer_id", as: String.self),
                canonicalID: try row.decode(column: "canonical_id", as: String.self))
        }
    }

    /// The matches of many requests' identifiers (a bulk import's chunk), one query per kind and
    /// batch of values, keyed by identifier. `independent` as for `matches(on:_:independent:)`.
    func matches(on sql: any SQLDatabase, distinct identifiers: Set<NormalizedIdentifier>,
                 independent: Bool = false) async throws -> [NormalizedIdentifier: IdentifierMatch] {
        var found: [NormalizedIdentifier: IdentifierMatch] = [:]
        for (kind, values) in Dictionary(grouping: identifiers, by: \.kind) {
            for batch in values.map(\.value).sorted().chunks(of: 500) {
                let query: SQLQueryString = """
                    SELECT i.value, i.customer_id, c.canonical_id FROM customer_identifiers i
                    JOIN customers c ON c.tenant_id = i.tenant_id AND c.id = i.customer_id
                    WHERE i.tenant_id = \(bind: tenantID) AND i.kind = \(bind: kind) AND i.value IN (\(binds: Array(batch)))
                    """
                let rows = try await independent ? sql.independentRows(query) : sql.raw(query).all()
                for row in rows {
                    let identifier = NormalizedIdentifier(kind: kind, value: try row.decode(column: "value", as: String.self))
                    found[identifier] = IdentifierMatch(identifier: identifier, holderID: try row.decode(column: "customer_id", as: String.self),
                                                        canonicalID: try row.decode(column: "canonical_id", as: String.self))
                }
            }
        }
        return found
    }

    /// The customer each of `ids` resolves to (its cluster's survivor); ids of no customer are absent.
    func canonicalIDs(on sql: any SQLDatabase, _ ids: Set<String>) async throws -> [String: String] {
        var found: [String: String] = [:]
        for batch in ids.sorted().chunks(of: 500) {
            let rows = try await sql.raw("""
                SELECT id, canonical_id FROM customers WHERE tenant_id = \(bind: tenantID) AND id IN (\(binds: Array(batch)))
                """).all()
            for row in rows { found[try row.decode(column: "id", as: String.self)] = try row.decode(column: "canonical_id", as: String.self) }
        }
        return found
    }

    /// The customer a request's `field` names today (the survivor if it was merged), or nil after
    /// refusing the field as `unknown_customer` — an id of another shape without a lookup.
    func resolvedID(on sql: any SQLDatabase, _ requested: String, field: String = "customer_id", into validator: inout Validator) async throws -> String? {
        if IDGenerator.isWellFormed(requested, prefix: .customer), let row = try await resolvedRow(on: sql, id: requested) { return row.id }
        validator.fail(field, "unknown_customer", "\(field) does not name a customer of this tenant")
        return nil
    }

    /// The customer `id` resolves to today: itself, or the survivor it was merged into.
    func resolvedRow(on sql: any SQLDatabase, id: String) async throws -> CustomerRow? {
        try await sql.raw("""
            SELECT * FROM customers WHERE tenant_id = \(bind: tenantID)
            AND id = (SELECT canonical_id FROM customers WHERE tenant_id = \(bind: tenantID) AND id = \(bind: id))
            """).row(CustomerRow.self)
    }

    /// The customer a path's `id` names today (the survivor if it was merged), or 404 `not_found`
    /// — an id of another shape without a lookup.
    func requiredResolvedRow(on sql: any SQLDatabase, id: String) async throws -> CustomerRow {
        guard IDGenerator.isWellFormed(id, prefix: .customer), let row = try await resolvedRow(on: sql, id: id) else { throw Problem.notFound("customer") }
        return row
    }

    func row(on sql: any SQLDatabase, id: String) async throws -> CustomerRow? {
        try await sql.raw("SELECT * FROM customers WHERE tenant_id = \(bind: tenantID) AND id = \(bind: id)").row(CustomerRow.self)
    }

    /// On PostgreSQL, locks the rows of the customers about to be merged or split (in ID order, so two
    /// merges never wait on each other in a cycle) and checks that each is still unmerged: a merge
    /// committed meanwhile means the plan was made on stale data. SQLite has one writer, so nothing
    /// can change under a write transaction there.
    func lockRoots(on sql: any SQLDatabase, dialect: SQLDialectKind, _ ids: [String]) async throws {
        guard dialect == .postgres else { return }
        let rows = try await sql.raw("""
            SELECT id, canonical_id FROM customers WHERE tenant_id = \(bind: tenantID) AND id IN (\(binds: ids.sorted()))
            ORDER BY id FOR UPDATE
            """).all()
        let stillRoots = try rows.allSatisfy { try $0.decode(column: "id", as: String.self) == $0.decode(column: "canonical_id", as: String.self) }
        guard rows.count == Set(ids).count, stillRoots else { throw IdentityRaceLost() }
    }

    /// On PostgreSQL, serializes transactions that touch the same identifier values, so two tills
    /// identifying a new email at once make one customer, not a unique violation. Transaction-scoped
    /// advisory locks, taken in a fixed order.
    func lockIdentifiers(on sql: any SQLDatabase, dialect: SQLDialectKind, _ identifiers: [NormalizedIdentifier]) async throws {
        guard dialect == .postgres, !identifiers.isEmpty else { return }
        let keys = Set(identifiers.map { Self.lockKey(tenantID: tenantID, $0) }).sorted()
        try await sql.raw("""
            SELECT pg_advisory_xact_lock(k) FROM (SELECT unnest(ARRAY[\(binds: keys)]::bigint[]) AS k ORDER BY 1) AS keys
            """).run()
    }

    /// FNV-1a of the tenant, kind and value: a stable 64-bit lock key.
    static func lockKey(tenantID: String, _ identifier: NormalizedIdentifier) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(tenantID)\u{0}\(identifier.kind)\u{0}\(identifier.value)".utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }

    /// The API view of each root customer: its profile, the identifiers of every customer merged
    /// into it, and the IDs merged into it — one query for the whole list.
    func views(on sql: any SQLDatabase, _ roots: [CustomerRow], redirectedFrom requestedID: String? = nil) async throws -> [Customer] {
        guard !roots.isEmpty else { return [] }
        let rows = try await sql.raw("""
            SELECT c.id AS member_id, c.canonical_id, i.kind, i.value, i.channel_id, i.created_at
            FROM customers c LEFT JOIN customer_identifiers i ON i.tenant_id = c.tenant_id AND i.customer_id = c.id
            WHERE c.tenant_id = \(bind: tenantID) AND c.canonical_id IN (\(binds: roots.map(\.id)))
            """).all()
        var identifiers: [String: [CustomerIdentifier]] = [:]
        var merged: [String: Set<String>] = [:]
        for row in rows {
            let root = try row.decode(column: "canonical_id", as: String.self)
            let member = try row.decode(column: "member_id", as: String.self)
            if member != root { merged[root, default: []].insert(member) }
            guard let kind = try row.decode(column: "kind", as: String?.self) else { continue }
            identifiers[root, default: []].append(CustomerIdentifier(
                kind: kind, value: try row.decode(column: "value", as: String.self), channelId: try row.decode(column: "channel_id", as: String?.self),
                createdAt: StoredTime(milliseconds: try row.decode(column: "created_at", as: Int64.self))))
        }
        return roots.map { root in
            let sorted = (identifiers[root.id] ?? []).sorted {
                ($0.createdAt.milliseconds, $0.kind, $0.value) < ($1.createdAt.milliseconds, $1.kind, $1.value)
            }
            return Customer(id: root.id, profile: root.profile, identifiers: sorted, mergedIds: (merged[root.id] ?? []).sorted(),
                            mergedInto: requestedID.flatMap { $0 == root.id ? nil : root.id }, createdAt: root.createdAt, updatedAt: root.updatedAt)
        }
    }

    /// One page of unmerged customers, oldest first; with `query`, those whose name, surname or any
    /// identifier starts with it (prefix range scans on binary-ordered indexes).
    func page(on sql: any SQLDatabase, query: String?, defaultCountry: String?, page: PageRequest) async throws -> [CustomerRow] {
        var statement: SQLQueryString = "SELECT * FROM customers WHERE tenant_id = \(bind: tenantID) AND merged_into IS NULL"
        if let query {
            // One index range scan per key, joined by UNION (ORed ranges can make SQLite scan instead).
            let name = CustomerSearch.fold(query)
            statement += """
                 AND id IN (SELECT canonical_id FROM customers WHERE tenant_id = \(bind: tenantID)
                 AND name_key >= \(bind: name) AND name_key < \(bind: CustomerSearch.upperBound(name))
                 UNION SELECT canonical_id FROM customers WHERE tenant_id = \(bind: tenantID)
                 AND last_name_key >= \(bind: name) AND last_name_key < \(bind: CustomerSearch.upperBound(name))
                """
            for prefix in CustomerSearch.identifierPrefixes(query, defaultCountry: defaultCountry) {
                statement += """
                     UNION SELECT c.canonical_id FROM customer_identifiers i JOIN customers c ON c.tenant_id = i.tenant_id AND c.id = i.customer_id
                     WHERE i.tenant_id = \(bind: tenantID) AND i.value >= \(bind: prefix) AND i.value < \(bind: CustomerSearch.upperBound(prefix))
                    """
            }
            statement += ")"
        }
        if let cursor = page.startingAfter { statement += " AND id > \(bind: cursor)" }
        statement += " ORDER BY id LIMIT \(literal: page.limit + 1)"
        return try await sql.raw(statement).rows(CustomerRow.self)
    }

    // MARK: Writes

    func insert(on sql: any SQLDatabase, id: String, profile: CustomerProfile, now: Int64) async throws {
        try await sql.runDeferrable("""
            INSERT INTO customers (tenant_id, id, canonical_id, first_name, last_name, birth_date, language, address_line1, address_line2,
                                   city, postcode, region, country, attributes, name_key, last_name_key, created_at, updated_at)
            VALUES (\(bind: tenantID), \(bind: id), \(bind: id), \(bind: profile.firstName), \(bind: profile.lastName), \(bind: profile.birthDate),
                    \(bind: profile.language), \(bind: profile.addressLine1), \(bind: profile.addressLine2), \(bind: profile.city),
                    \(bind: profile.postcode), \(bind: profile.region), \(bind: profile.country), \(bind: try profile.attributesText),
                    \(bind: profile.nameKey), \(bind: profile.lastNameKey), \(bind: now), \(bind: now))
            """)
    }

    func updateProfile(on sql: any SQLDatabase, id: String, profile: CustomerProfile, now: Int64) async throws {
        try await sql.raw("""
            UPDATE customers SET first_name = \(bind: profile.firstName), last_name = \(bind: profile.lastName),
                birth_date = \(bind: profile.birthDate), language = \(bind: profile.language), address_line1 = \(bind: profile.addressLine1),
                address_line2 = \(bind: profile.addressLine2), city = \(bind: profile.city), postcode = \(bind: profile.postcode),
                region = \(bind: profile.region), country = \(bind: profile.country), attributes = \(bind: try profile.attributesText),
                name_key = \(bind: profile.nameKey), last_name_key = \(bind: profile.lastNameKey), updated_at = \(bind: now)
            WHERE tenant_id = \(bind: tenantID) AND id = \(bind: id)
            """).run()
    }

    /// Removes identifiers from whoever holds them: one primary-key delete each (at most 20 per request).
    func detach(on sql: any SQLDatabase, _ identifiers: [NormalizedIdentifier]) async throws {
        for identifier in identifiers {
            try await sql.raw("""
                DELETE FROM customer_identifiers WHERE tenant_id = \(bind: tenantID) AND kind = \(bind: identifier.kind) AND value = \(bind: identifier.value)
                """).run()
        }
    }

    /// Attaches identifiers to `customerID` in one statement. A value another transaction took
    /// meanwhile (PostgreSQL) makes the whole transaction run again.
    func attach(on sql: any SQLDatabase, _ identifiers: [NormalizedIdentifier], to customerID: String, channelID: String?, now: Int64) async throws {
        guard !identifiers.isEmpty else { return }
        var query: SQLQueryString = "INSERT INTO customer_identifiers (tenant_id, kind, value, customer_id, channel_id, created_at) VALUES "
        for (index, identifier) in identifiers.enumerated() {
            query += """
                \(unsafeRaw: index == 0 ? "" : ", ")(\(bind: tenantID), \(bind: identifier.kind), \(bind: identifier.value), \(bind: customerID), \
                \(bind: channelID), \(bind: now))
                """
        }
        try await sql.runDeferrable(query, ifDuplicate: DuplicateRule(table: "customer_identifiers", error: IdentityRaceLost()))
    }
}
