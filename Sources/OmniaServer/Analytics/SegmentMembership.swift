import OmniaCore
import SQLKit

/// Which customers dynamic segments hold: each profile made into a rule value once, then every
/// segment's compiled rule run on it (no I/O, a bounded number of steps each).
struct SegmentEvaluation: Sendable {
    let programs: [RuleProgram]
    let attributes: ProfileAttributes.Compiled

    /// For each program, in order, the ids of the profiles it holds for on the local day `day`. A
    /// profile a rule cannot be evaluated on (its step budget, a currency mismatch) is not a member.
    func members(of profiles: [LiveProfile], on day: Int32) -> [Set<String>] {
        members(of: profiles[...], on: day)
    }

    /// `members(of:on:)` with the profiles split between the machine's cores: a tenant's hundred
    /// thousand profiles are pure CPU, and the split sets are joined at the end.
    func members(of profiles: [LiveProfile], on day: Int32, tasks: Int) async -> [Set<String>] {
        let share = (profiles.count + max(1, tasks) - 1) / max(1, tasks)
        guard tasks > 1, profiles.count >= 2 * Self.smallestShare else { return members(of: profiles, on: day) }
        return await withTaskGroup(of: [Set<String>].self) { group in
            for start in stride(from: 0, to: profiles.count, by: max(share, Self.smallestShare)) {
                let slice = profiles[start..<min(profiles.count, start + max(share, Self.smallestShare))]
                group.addTask { self.members(of: slice, on: day) }
            }
            var joined = Array(repeating: Set<String>(), count: programs.count)
            for await part in group {
                for (index, set) in part.enumerated() { joined[index].formUnion(set) }
            }
            return joined
        }
    }

    /// Below this many profiles a task costs more than it saves.
    static let smallestShare = 5_000

    private func members(of profiles: ArraySlice<LiveProfile>, on day: Int32) -> [Set<String>] {
        var members = Array(repeating: Set<String>(), count: programs.count)
        for var profile in profiles {
            attributes.apply(to: &profile, on: day)
            let input = ProfileSchema.value(of: profile, attributes: attributes.record, on: day)
            for (index, program) in programs.enumerated() where (try? program.isSatisfied(by: input)) == true {
                members[index].insert(profile.id)
            }
        }
        return members
    }
}

/// Writes a change of one segment's membership: rows in and out, the size history, and — but for
/// a segment's first computation, which is no one's entry — `segment.entered` / `segment.exited`
/// per customer, which campaigns can be triggered by.
struct SegmentMembership: Sendable {
    let tenantID: String
    let segmentID: String
    let code: String
    static let rowsPerStatement = 200
    static let eventsPerStatement = 500

    /// The members now.
    func count(on sql: any SQLDatabase) async throws -> Int64 {
        try await sql.raw("""
            SELECT COUNT(*) AS n FROM segment_members WHERE tenant_id = \(bind: tenantID) AND segment_id = \(bind: segmentID)
            """).first()?.decode(column: "n", as: Int64.self) ?? 0
    }

    func change(on sql: any SQLDatabase, entered: [String], exited: [String], size: Int64, at now: Int64, events: EventLog, requestID: String?,
                announce: Bool) async throws {
        for batch in exited.chunks(of: 500) {
            try await sql.raw("""
                DELETE FROM segment_members WHERE tenant_id = \(bind: tenantID) AND segment_id = \(bind: segmentID) AND customer_id IN (\(binds: Array(batch)))
                """).run()
        }
        for batch in entered.chunks(of: Self.rowsPerStatement) {
            try await sql.insertRows(into: "segment_members", columns: ["tenant_id", "segment_id", "customer_id", "entered_at"], Array(batch)) { id, values in
                values.add(tenantID)
                values.add(segmentID)
                values.add(id)
                values.add(now)
            }
        }
        guard !entered.isEmpty || !exited.isEmpty else { return }
        // Two changes in one millisecond (a static segment's quick edits) keep the last.
        try await sql.raw("""
            INSERT INTO segment_sizes (tenant_id, segment_id, measured_at, size, entered, exited)
            VALUES (\(bind: tenantID), \(bind: segmentID), \(bind: now), \(bind: size), \(bind: Int64(entered.count)), \(bind: Int64(exited.count)))
            ON CONFLICT (tenant_id, segment_id, measured_at) DO UPDATE SET size = excluded.size,
              entered = segment_sizes.entered + excluded.entered, exited = segment_sizes.exited + excluded.exited
            """).run()
        guard announce else { return }
        let changes = entered.map { ("segment.entered", $0) } + exited.map { ("segment.exited", $0) }
        for batch in changes.chunks(of: Self.eventsPerStatement) {
            try await events.append(on: sql, tenantID: tenantID, batch.map { type, customerID in
                (type: type, data: SegmentMembershipEvent(segmentId: segmentID, segmentCode: code, customerId: customerID) as any Encodable)
            }, requestID: requestID)
        }
    }
}

/// A customer's segment codes read in the same statement as their other facts (checkout): the
/// codes joined with a space, which a code never holds.
enum SegmentCodes {
    /// The SQL aggregate of `g.code` over the joined segments.
    static func aggregate(_ dialect: SQLDialectKind) -> String {
        dialect == .postgres ? "string_agg(g.code, ' ' ORDER BY g.code)" : "group_concat(g.code, ' ')"
    }

    static func split(_ text: String?) -> [String] {
        (text ?? "").split(separator: " ").map(String.init).sorted()
    }
}
