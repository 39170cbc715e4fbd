import OmniaCore
import SQLKit

/// Which customers dynamic segments hold: each profile made into a rule value once, then every
/// segment's compiled rule run on it (no I/O, a bounded number of steps each).
struct SegmentEvaluation: Sendable {
    let programs: [RuleProgram]
    let attributes: ProfileAttributes.Compiled

    /// For each program, in order, the ids of the profiles it holds for on the local day `day`,
    /// ascending. A profile a rule cannot be evaluated on (its step budget, a currency mismatch)
    /// is not a member.
    func members(of profiles: [LiveProfile], on day: Int32) -> [[String]] {
        Self.ascending(members(of: profiles[...], on: day))
    }

    /// `members(of:on:)` with the profiles split between the machine's cores: a tenant's hundred
    /// thousand profiles are pure CPU, and the parts' lists are joined in order at the end.
    func members(of profiles: [LiveProfile], on day: Int32, tasks: Int) async -> [[String]] {
        guard tasks > 1, profiles.count >= 2 * Self.smallestShare else { return members(of: profiles, on: day) }
        let share = max(Self.smallestShare, (profiles.count + tasks - 1) / tasks)
        let parts = await withTaskGroup(of: (Int, [[String]]).self) { group in
            for start in stride(from: 0, to: profiles.count, by: share) {
                let slice = profiles[start..<min(profiles.count, start + share)]
                group.addTask { (start, self.members(of: slice, on: day)) }
            }
            var parts: [(Int, [[String]])] = []
            for await part in group { parts.append(part) }
            return parts.sorted { $0.0 < $1.0 }.map(\.1)
        }
        var joined = Array(repeating: [String](), count: programs.count)
        for part in parts {
            for (index, ids) in part.enumerated() { joined[index].append(contentsOf: ids) }
        }
        return Self.ascending(joined)
    }

    /// Below this many profiles a task costs more than it saves.
    static let smallestShare = 5_000

    /// Profiles come in the database's id order, which is the byte order on SQLite (a check, no
    /// work) but a collation's on PostgreSQL.
    private static func ascending(_ lists: [[String]]) -> [[String]] {
        lists.map { ids in zip(ids, ids.dropFirst()).allSatisfy { $0 < $1 } ? ids : ids.sorted() }
    }

    private func members(of profiles: ArraySlice<LiveProfile>, on day: Int32) -> [[String]] {
        var members = Array(repeating: [String](), count: programs.count)
        for var profile in profiles {
            attributes.apply(to: &profile, on: day)
            let input = ProfileSchema.value(of: profile, attributes: attributes.record, on: day)
            for (index, program) in programs.enumerated() where (try? program.isSatisfied(by: input)) == true {
                members[index].append(profile.id)
            }
        }
        return members
    }

    /// What changes from `present` to `wanted`, both ascending without repeats: one merge of the two
    /// lists, where sets would hash every member of a large segment twice.
    static func change(from present: [String], to wanted: [String]) -> (entered: [String], exited: [String]) {
        var entered: [String] = [], exited: [String] = []
        var i = present.startIndex, j = wanted.startIndex
        while i < present.endIndex || j < wanted.endIndex {
            if j == wanted.endIndex || (i < present.endIndex && present[i] < wanted[j]) {
                exited.append(present[i])
                i += 1
            } else if i == present.endIndex || wanted[j] < present[i] {
                entered.append(wanted[j])
                j += 1
            } else {
                i += 1
                j += 1
            }
        }
        return (entered, exited)
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
        // The fingerprint no longer describes the members; a refresh that wrote this change sets it again.
        try await sql.raw("""
            UPDATE segments SET members_fingerprint = NULL WHERE tenant_id = \(bind: tenantID) AND id = \(bind: segmentID)
            """).run()
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

/// A fingerprint of a set of customer ids: the wrapping sum of a 64-bit hash of each (FNV-1a with
/// a final mix), so it does not depend on order and is the same in every process and release (a
/// Swift `Hasher` is seeded per process). Two different sets of the same size share one by chance
/// about once in 2⁶⁴; the ids are the server's own, not chosen by anyone who could aim for that.
enum SegmentFingerprint {
    static func of(_ ids: [String]) -> Int64 {
        var sum: UInt64 = 0
        for id in ids { sum &+= hash(id) }
        return Int64(bitPattern: sum)
    }

    static func hash(_ id: String) -> UInt64 {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in id.utf8 { value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        // splitmix64's finalizer: FNV alone leaves the high bits poorly mixed for short, similar ids.
        value = (value ^ (value >> 30)) &* 0xbf58_476d_1ce4_e5b9
        value = (value ^ (value >> 27)) &* 0x94d0_49bb_1331_11eb
        return value ^ (value >> 31)
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
