import Foundation
import HTTPTypes
import OmniaCore
import SQLKit

/// Segments created, changed and read by marketers. A dynamic segment's membership is computed by
/// `SegmentRefresher` (within seconds of its creation, then as profiles change); a static one's is
/// what the API lists. Every change emits `segment.created` / `segment.updated` and is audited.
struct SegmentService: Sendable {
    let services: AppServices
    static let kinds = ["dynamic", "static"]
    static let statuses = ["active", "archived"]
    /// Customers a static segment's request may list at once.
    static let maximumListed = 10_000
    static let maximumSegments = 500

    func create(on sql: any SQLDatabase, caller: Caller, _ request: SegmentRequest, actor: Actor) async throws -> SegmentView {
        var validator = Validator()
        let code = request.code ?? ""
        if request.code == nil {
            validator.fail("code", "required", "code is required: how rules name the segment, \"vip\" in customer.segments")
        } else if !ProfileSchema.isName(code) {
            validator.fail("code", "invalid_code", "code must be lower case letters, digits and _, starting with a letter, at most 40 characters")
        }
        let name = validator.text(request.name, field: "name", maxLength: 200)
        let description = request.description.flatMap { $0.isEmpty ? nil : validator.text($0, field: "description", maxLength: 2_000) }
        let kind = request.kind ?? "dynamic"
        if !Self.kinds.contains(kind) { validator.fail("kind", "invalid_enum", "kind must be one of: \(Self.kinds.joined(separator: ", "))") }
        let status = checkedStatus(request.status ?? "active", into: &validator)
        let rule = try await checkedRule(request.rule, kind: kind, required: true, tenantID: caller.tenantID, on: sql, into: &validator)
        if kind == "dynamic" && request.customerIds != nil {
            validator.fail("customer_ids", "not_for_kind", "a dynamic segment's members are those its rule holds for; list customers in a static segment")
        }
        let listed = kind == "static" ? try await checkedCustomers(request.customerIds ?? [], field: "customer_ids", tenantID: caller.tenantID, on: sql,
                                                                   into: &validator) : []
        guard validator.isValid, let name else { throw Problem.validation(validator.errors) }
        if try await sql.raw("SELECT id FROM segments WHERE tenant_id = \(bind: caller.tenantID) AND code = \(bind: code)").first() != nil {
            throw Problem(.conflict, code: "segment_code_taken", detail: "a segment \(code) exists; codes name segments in rules and are unique")
        }
        if status == "active" { try await checkRoomForActive(on: sql, tenantID: caller.tenantID) }
        let now = services.nowMilliseconds
        let id = services.ids.make(.segment)
        // A static segment is complete when created; a dynamic one waits for its first refresh.
        let refreshed: Int64? = kind == "static" ? now : nil
        try await sql.raw("""
            INSERT INTO segments (tenant_id, id, code, name, description, kind, rule, status, version, size, refreshed_at, created_at, updated_at)
            VALUES (\(bind: caller.tenantID), \(bind: id), \(bind: code), \(bind: name), \(bind: description), \(bind: kind), \(bind: rule),
                    \(bind: status), 1, \(bind: Int64(listed.count)), \(bind: refreshed), \(bind: now), \(bind: now))
            """).run()
        if !listed.isEmpty {
            try await SegmentMembership(tenantID: caller.tenantID, segmentID: id, code: code)
                .change(on: sql, entered: listed, exited: [], size: Int64(listed.count), at: now, events: services.events, requestID: actor.requestID,
                        announce: false)
        }
        guard let view = try await segment(on: sql, tenantID: caller.tenantID, id: id) else { throw Problem.notFound("segment") }
        return try await recorded(view, event: "segment.created", on: sql, tenantID: caller.tenantID, actor: actor)
    }

    func update(on sql: any SQLDatabase, caller: Caller, id: String, _ request: SegmentRequest, actor: Actor) async throws -> SegmentView {
        guard let current = try await segment(on: sql, tenantID: caller.tenantID, id: id) else { throw Problem.notFound("segment") }
        var validator = Validator()
        if let given = request.code, given != current.code { validator.fail("code", "immutable", "a segment's code does not change; rules name it") }
        if let given = request.kind, given != current.kind { validator.fail("kind", "immutable", "a segment's kind does not change; create another segment") }
        if request.customerIds != nil {
            validator.fail("customer_ids", "use_members", "change a static segment's members with POST /v1/segments/{id}/members")
        }
        let name = request.name == nil ? current.name : validator.text(request.name, field: "name", maxLength: 200)
        let description = request.description == nil ? current.description
            : request.description!.isEmpty ? nil : validator.text(request.description, field: "description", maxLength: 2_000)
        let status = checkedStatus(request.status ?? current.status, into: &validator)
        let rule = request.rule == nil ? current.rule
            : try await checkedRule(request.rule, kind: current.kind, required: true, tenantID: caller.tenantID, on: sql, into: &validator)
        guard validator.isValid, let name else { throw Problem.validation(validator.errors) }
        if status == "active" && current.status != "active" { try await checkRoomForActive(on: sql, tenantID: caller.tenantID) }
        let ruleChanged = rule != current.rule
        let version = ruleChanged ? current.version + 1 : current.version
        let now = services.nowMilliseconds
        // A new rule is computed again at the next refresh; an archived segment keeps its last members for the record.
        try await sql.raw("""
            UPDATE segments SET name = \(bind: name), description = \(bind: description), rule = \(bind: rule), status = \(bind: status),
              version = \(bind: version), updated_at = \(bind: now)\(unsafeRaw: ruleChanged ? ", refreshed_at = NULL" : "")
            WHERE tenant_id = \(bind: caller.tenantID) AND id = \(bind: id)
            """).run()
        guard let view = try await segment(on: sql, tenantID: caller.tenantID, id: id) else { throw Problem.notFound("segment") }
        return try await recorded(view, event: "segment.updated", on: sql, tenantID: caller.tenantID, actor: actor)
    }

    /// Adds and removes customers of a static segment; each change emits `segment.entered` / `segment.exited`.
    func changeMembers(on sql: any SQLDatabase, caller: Caller, id: String, _ request: SegmentMembersRequest, actor: Actor) async throws -> SegmentView {
        guard let current = try await segment(on: sql, tenantID: caller.tenantID, id: id) else { throw Problem.notFound("segment") }
        guard current.kind == "static" else {
            throw Problem(.conflict, code: "not_a_static_segment", detail: "a dynamic segment's members are those its rule holds for")
        }
        guard current.status == "active" else { throw Problem(.conflict, code: "segment_archived", detail: "an archived segment does not change") }
        var validator = Validator()
        if request.add == nil && request.remove == nil { validator.fail("add", "required", "give add, remove or both: lists of customer ids") }
        let add = try await checkedCustomers(request.add ?? [], field: "add", tenantID: caller.tenantID, on: sql, into: &validator)
        let remove = try await checkedCustomers(request.remove ?? [], field: "remove", tenantID: caller.tenantID, on: sql, into: &validator)
        if !Set(add).isDisjoint(with: remove) { validator.fail("remove", "conflicting", "a customer cannot be both added and removed") }
        guard validator.isValid else { throw Problem.validation(validator.errors) }
        var present = Set<String>()
        for batch in (add + remove).chunks(of: 500) {
            present.formUnion(try await sql.raw("""
                SELECT customer_id FROM segment_members WHERE tenant_id = \(bind: caller.tenantID) AND segment_id = \(bind: id)
                  AND customer_id IN (\(binds: Array(batch)))
                """).all(decodingColumn: "customer_id", as: String.self))
        }
        let entered = add.filter { !present.contains($0) }
        let exited = remove.filter { present.contains($0) }
        let now = services.nowMilliseconds
        // Counted, not added to the size read above: two changes at once on PostgreSQL would each add to a stale size.
        let membership = SegmentMembership(tenantID: caller.tenantID, segmentID: id, code: current.code)
        let size = try await membership.count(on: sql) + Int64(entered.count) - Int64(exited.count)
        try await membership.change(on: sql, entered: entered, exited: exited, size: size, at: now, events: services.events, requestID: actor.requestID,
                                    announce: true)
        try await services.audit.record(on: sql, tenantID: caller.tenantID, actor: actor.id, action: "segment.members_changed", targetType: "segment",
                                        targetID: id, details: ["entered": .integer(Int64(entered.count)), "exited": .integer(Int64(exited.count))],
                                        requestID: actor.requestID)
        try await sql.raw("""
            UPDATE segments SET size = \(bind: size), refreshed_at = \(bind: now), updated_at = \(bind: now)
            WHERE tenant_id = \(bind: caller.tenantID) AND id = \(bind: id)
            """).run()
        guard let view = try await segment(on: sql, tenantID: caller.tenantID, id: id) else { throw Problem.notFound("segment") }
        return view
    }

    /// The size of a draft rule over every customer's live profile, now.
    func estimate(caller: Caller, _ request: SegmentEstimateRequest) async throws -> SegmentEstimate {
        var validator = Validator()
        let attributes = try await services.database.read { sql in try await ProfileAttributes.load(on: sql, tenantID: caller.tenantID) }
        guard let source = request.rule else { throw Problem.validation([FieldError(field: "rule", code: "required", detail: "rule is required")]) }
        guard let program = PromotionTerms.program(source, schema: ProfileSchema.segment(attributes: attributes.fields), field: "rule", into: &validator)
        else { throw Problem.validation(validator.errors) }
        let profiles = try await LiveProfiles(caller: caller).all(in: services.database, parts: .read(by: [program], attributes: attributes))
        let day = LocalClock.day(at: services.nowMilliseconds, timeZone: caller.tenantTimeZone).day
        let members = await SegmentEvaluation(programs: [program], attributes: attributes)
            .members(of: profiles, on: day, tasks: ProcessInfo.processInfo.activeProcessorCount)[0]
        return SegmentEstimate(rule: program.text, size: members.count, customers: profiles.count, sample: Array(members.prefix(10)))
    }

    // MARK: Reading

    func segment(on sql: any SQLDatabase, tenantID: String, id: String) async throws -> SegmentView? {
        try await sql.raw("SELECT * FROM segments WHERE tenant_id = \(bind: tenantID) AND id = \(bind: id)").row(SegmentView.self)
    }

    func page(on sql: any SQLDatabase, tenantID: String, status: String?, kind: String?, page: PageRequest) async throws -> [SegmentView] {
        var query: SQLQueryString = "SELECT * FROM segments WHERE tenant_id = \(bind: tenantID)"
        if let status { query += " AND status = \(bind: status)" }
        if let kind { query += " AND kind = \(bind: kind)" }
        if let cursor = page.startingAfter { query += " AND id > \(bind: cursor)" }
        return try await sql.raw(query + " ORDER BY id LIMIT \(literal: page.limit + 1)").rows(SegmentView.self)
    }

    /// Members in customer id order, `limit` of them after `after`.
    func members(on sql: any SQLDatabase, tenantID: String, id: String, after: String?, limit: Int) async throws -> [SegmentMember] {
        var query: SQLQueryString = """
            SELECT customer_id, entered_at FROM segment_members WHERE tenant_id = \(bind: tenantID) AND segment_id = \(bind: id)
            """
        if let after { query += " AND customer_id > \(bind: after)" }
        return try await sql.raw(query + " ORDER BY customer_id LIMIT \(literal: limit)").rows(SegmentMember.self)
    }

    func sizes(on sql: any SQLDatabase, tenantID: String, id: String, page: PageRequest) async throws -> [SegmentSize] {
        var query: SQLQueryString = """
            SELECT measured_at, size, entered, exited FROM segment_sizes WHERE tenant_id = \(bind: tenantID) AND segment_id = \(bind: id)
            """
        if let cursor = page.startingAfter, let at = Int64(cursor) { query += " AND measured_at < \(bind: at)" }
        return try await sql.raw(query + " ORDER BY measured_at DESC LIMIT \(literal: page.limit + 1)").rows(SegmentSize.self)
    }

    // MARK: Checks

    /// Refuses a segment more than a tenant may keep active (each is computed at every refresh).
    private func checkRoomForActive(on sql: any SQLDatabase, tenantID: String) async throws {
        let count = try await sql.raw("SELECT COUNT(*) AS n FROM segments WHERE tenant_id = \(bind: tenantID) AND status = 'active'")
            .first()?.decode(column: "n", as: Int.self) ?? 0
        if count >= Self.maximumSegments {
            throw Problem(.conflict, code: "too_many_segments", detail: "a tenant has at most \(Self.maximumSegments) active segments; archive some")
        }
    }

    private func checkedStatus(_ status: String, into validator: inout Validator) -> String {
        if !Self.statuses.contains(status) { validator.fail("status", "invalid_enum", "status must be one of: \(Self.statuses.joined(separator: ", "))") }
        return status
    }

    /// A dynamic segment's rule, checked against the profile with the tenant's attributes; a static segment has none.
    private func checkedRule(_ source: String?, kind: String, required: Bool, tenantID: String, on sql: any SQLDatabase,
                             into validator: inout Validator) async throws -> String? {
        guard kind == "dynamic" else {
            if source != nil { validator.fail("rule", "not_for_kind", "a static segment lists its customers; it has no rule") }
            return nil
        }
        guard let source else {
            if required { validator.fail("rule", "required", "a dynamic segment needs a rule, e.g. customer.orders >= 3 and customer.channel_mix == \"omnichannel\"") }
            return nil
        }
        let attributes = try await ProfileAttributes.load(on: sql, tenantID: tenantID)
        return PromotionTerms.rule(source, schema: ProfileSchema.segment(attributes: attributes.fields), field: "rule", into: &validator)
    }

    /// Listed customers that exist, each as the customer it resolves to today (a merged one's survivor), without repeats.
    private func checkedCustomers(_ ids: [String], field: String, tenantID: String, on sql: any SQLDatabase,
                                  into validator: inout Validator) async throws -> [String] {
        guard ids.count <= Self.maximumListed else {
            validator.fail(field, "too_many", "\(field) lists at most \(Self.maximumListed) customers per request")
            return []
        }
        var canonical: [String: String] = [:]
        for batch in Set(ids).sorted().chunks(of: 500) {
            for row in try await sql.raw("""
                SELECT id, canonical_id FROM customers WHERE tenant_id = \(bind: tenantID) AND id IN (\(binds: Array(batch)))
                """).all() {
                canonical[try row.decode(column: "id", as: String.self)] = try row.decode(column: "canonical_id", as: String.self)
            }
        }
        var seen = Set<String>()
        var result: [String] = []
        for (index, id) in ids.enumerated() {
            guard let root = canonical[id] else {
                validator.fail("\(field)[\(index)]", "customer_not_found", "no customer \(id)")
                continue
            }
            if seen.insert(root).inserted { result.append(root) }
        }
        return result
    }

    private func recorded(_ view: SegmentView, event: String, on sql: any SQLDatabase, tenantID: String, actor: Actor) async throws -> SegmentView {
        try await services.events.append(on: sql, tenantID: tenantID, type: event, data: view, requestID: actor.requestID)
        try await services.audit.record(on: sql, tenantID: tenantID, actor: actor.id, action: event, targetType: "segment", targetID: view.id,
                                        details: ["status": .string(view.status), "version": .integer(Int64(view.version))], requestID: actor.requestID)
        return view
    }
}
