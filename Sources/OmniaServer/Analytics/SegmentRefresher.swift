import Foundation
import Logging
import OmniaCore
import ServiceLifecycle
import SQLKit

/// Keeps dynamic segments current. A tenant's segments are computed together — every customer's
/// live profile read once, each segment's rule run on it — when one is new or its rule changed
/// (within seconds), and in full every `segmentRefreshInterval`, since profiles move with every
/// sale and attributes such as days since the last purchase move with every day.
///
/// A tenant is refreshed by one server at a time: it holds the tenant's lease in
/// `segment_refreshes`, and every segment's write checks it, so a server that stalled and was
/// taken over writes nothing. Each segment's change is one transaction: its members in and out,
/// its size and history, and `segment.entered` / `segment.exited` for each customer. A segment
/// whose computed members have the fingerprint (`SegmentFingerprint`) the last refresh stored, with
/// nothing changed since, is left as it is without reading its members back to compare.
struct SegmentRefresher: Sendable {
    let services: AppServices
    static let lease: Int64 = 120_000

    /// What one refresh of a tenant did.
    struct Outcome: Sendable {
        var segments = 0
        var entered = 0
        var exited = 0
        var customers = 0
    }

    /// Refreshes every tenant with a dynamic segment that is new, changed or due; returns how many were.
    @discardableResult
    func refreshDue() async throws -> Int {
        let now = services.nowMilliseconds
        let dueBefore = now - Int64(services.config.segmentRefreshInterval.components.seconds) * 1_000
        let tenants = try await services.database.read { sql in
            try await sql.raw("""
                SELECT DISTINCT tenant_id FROM segments
                WHERE kind = 'dynamic' AND status = 'active' AND (refreshed_at IS NULL OR refreshed_at <= \(bind: dueBefore))
                """).all(decodingColumn: "tenant_id", as: String.self)
        }
        var refreshed = 0
        for tenantID in tenants where try await refresh(tenantID: tenantID) != nil { refreshed += 1 }
        return refreshed
    }

    /// Computes every active dynamic segment of a tenant now; nil when another server holds the tenant's lease.
    @discardableResult
    func refresh(tenantID: String) async throws -> Outcome? {
        let token = UUID().uuidString
        guard try await claim(tenantID: tenantID, token: token) else { return nil }
        do {
            let outcome = try await refresh(tenantID: tenantID, token: token)
            try await release(tenantID: tenantID, token: token)
            return outcome
        } catch {
            try? await release(tenantID: tenantID, token: token)
            throw error
        }
    }

    private func refresh(tenantID: String, token: String) async throws -> Outcome {
        guard let tenant = try await services.platform.fetchTenant(tenantID) else { return Outcome() }
        let started = services.nowMilliseconds
        let day = LocalClock.day(at: started, timeZone: tenant.timezone).day
        let (compiled, attributes) = try await services.database.read { sql in
            let segments = try await sql.raw("""
                SELECT * FROM segments WHERE tenant_id = \(bind: tenantID) AND kind = 'dynamic' AND status = 'active' ORDER BY id
                """).rows(SegmentView.self)
            let attributes = try await ProfileAttributes.load(on: sql, tenantID: tenantID)
            var compiled: [(segment: SegmentView, program: RuleProgram)] = []
            for segment in segments {
                do throws(RuleError) {
                    compiled.append((segment, try RuleProgram(segment.rule ?? "false", schema: ProfileSchema.segment(attributes: attributes.fields))))
                } catch {
                    // An attribute the rule reads changed its type or went: the segment keeps its members until its rule is mended.
                    services.logger.warning("segment rule no longer compiles", metadata: ["segment": .string(segment.id), "error": .string(error.message)])
                }
            }
            return (compiled, attributes)
        }
        // Only the parts of the profiles the rules read.
        let parts = LiveProfiles.Parts.read(by: compiled.map(\.program), attributes: attributes)
        let profiles = try await LiveProfiles(tenantID: tenantID, currency: tenant.defaultCurrency, timeZone: tenant.timezone)
            .all(in: services.database, parts: parts)
        let members = await SegmentEvaluation(programs: compiled.map { $0.program }, attributes: attributes)
            .members(of: profiles, on: day, tasks: ProcessInfo.processInfo.activeProcessorCount)
        var outcome = Outcome(customers: profiles.count)
        for ((segment, _), wanted) in zip(compiled, members) {
            let now = services.nowMilliseconds
            let changed = try await services.database.transaction { sql -> (Int, Int) in
                // The lease first: a server taken over writes nothing.
                guard try await sql.raw("""
                    UPDATE segment_refreshes SET lease_until = \(bind: now + Self.lease) WHERE tenant_id = \(bind: tenantID) AND lease_token = \(bind: token)
                    RETURNING tenant_id
                    """).first() != nil else { throw SegmentRefreshTakenOver() }
                // A rule changed since it was read is computed again at the next pass.
                struct Current: Decodable {
                    let version: Int
                    let status: String
                    let size: Int64
                    let membersFingerprint: Int64?
                }
                guard let current = try await sql.raw("""
                    SELECT version, status, size, members_fingerprint FROM segments WHERE tenant_id = \(bind: tenantID) AND id = \(bind: segment.id)
                    """).row(Current.self), current.version == segment.version, current.status == "active" else { return (0, 0) }
                // The members as this refresh found them last time, untouched since: nothing to compare.
                let fingerprint = SegmentFingerprint.of(wanted)
                var entered: [String] = [], exited: [String] = []
                if current.membersFingerprint != fingerprint || current.size != Int64(wanted.count) {
                    let present = try await sql.raw("""
                        SELECT customer_id FROM segment_members WHERE tenant_id = \(bind: tenantID) AND segment_id = \(bind: segment.id)
                        """).all(decodingColumn: "customer_id", as: String.self).sorted()
                    (entered, exited) = SegmentEvaluation.change(from: present, to: wanted)
                    try await SegmentMembership(tenantID: tenantID, segmentID: segment.id, code: segment.code)
                        .change(on: sql, entered: entered, exited: exited, size: Int64(wanted.count), at: now, events: services.events,
                                requestID: nil, announce: segment.refreshedAt != nil)
                }
                try await sql.raw("""
                    UPDATE segments SET size = \(bind: Int64(wanted.count)), refreshed_at = \(bind: now), members_fingerprint = \(bind: fingerprint)
                    WHERE tenant_id = \(bind: tenantID) AND id = \(bind: segment.id)
                    """).run()
                return (entered.count, exited.count)
            }
            outcome.segments += 1
            outcome.entered += changed.0
            outcome.exited += changed.1
        }
        services.logger.info("segments refreshed", metadata: [
            "tenant": .string(tenantID), "segments": .stringConvertible(outcome.segments), "customers": .stringConvertible(outcome.customers),
            "entered": .stringConvertible(outcome.entered), "exited": .stringConvertible(outcome.exited),
            "milliseconds": .stringConvertible(services.nowMilliseconds - started),
        ])
        return outcome
    }

    /// Takes the tenant's lease if no other server holds a live one.
    private func claim(tenantID: String, token: String) async throws -> Bool {
        let now = services.nowMilliseconds
        return try await services.database.transaction { sql in
            try await sql.raw("""
                INSERT INTO segment_refreshes (tenant_id, lease_token, lease_until, refreshed_at) VALUES (\(bind: tenantID), NULL, NULL, NULL)
                ON CONFLICT (tenant_id) DO NOTHING
                """).run()
            return try await sql.raw("""
                UPDATE segment_refreshes SET lease_token = \(bind: token), lease_until = \(bind: now + Self.lease)
                WHERE tenant_id = \(bind: tenantID) AND (lease_until IS NULL OR lease_until < \(bind: now))
                RETURNING tenant_id
                """).first() != nil
        }
    }

    private func release(tenantID: String, token: String) async throws {
        let now = services.nowMilliseconds
        try await services.database.transaction { sql in
            try await sql.raw("""
                UPDATE segment_refreshes SET lease_token = NULL, lease_until = NULL, refreshed_at = \(bind: now)
                WHERE tenant_id = \(bind: tenantID) AND lease_token = \(bind: token)
                """).run()
        }
    }
}

/// Refreshes due dynamic segments in the background of `omnia serve`.
struct SegmentWorker: Service {
    let services: AppServices
    static let interval = Duration.seconds(2)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await SegmentRefresher(services: services).refreshDue()
                } catch {
                    services.logger.error("segment refresh failed", metadata: ["error": .string(String(describing: error))])
                }
                try? await Task.sleep(for: Self.interval)
            }
        }
    }
}

/// The tenant's refresh lease was taken over by another server after this one stalled: it stops writing.
struct SegmentRefreshTakenOver: Error {}
