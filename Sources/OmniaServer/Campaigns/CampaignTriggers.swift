import Foundation
import OmniaCore
import SQLKit

/// Finds who each active triggered campaign fires for, and schedules a delivery for each (due
/// when the trigger's delay ends). Event triggers read the tenant's outbox events by type after a
/// watermark; daily triggers (`birthday`, `points_expiring`) sweep once per local day. Every
/// stretch is read and its deliveries written in one transaction that moves the cursor with a
/// conditional write, so with several servers each stretch is scheduled once; a delivery is
/// unique per campaign, source and customer besides.
struct CampaignTriggers: Sendable {
    let services: AppServices
    /// Events are read once this old: every transaction that appended one has committed by then.
    static let lag: Int64 = 5_000
    static let batch = 1_000

    /// The outbox event each event trigger reads.
    static let eventTypes = ["cart_abandoned": "cart.abandoned", "return_recorded": "transaction.recorded", "first_store_purchase": "transaction.recorded",
                             "segment_entered": "segment.entered"]

    /// One pass over every tenant with active triggered campaigns; returns the deliveries scheduled.
    @discardableResult
    func scan() async throws -> Int {
        let active = try await services.database.read { sql in
            try await sql.raw("SELECT * FROM campaigns WHERE status = 'active' AND kind = 'triggered'").all().map { row in
                (tenantID: try row.decode(column: "tenant_id", as: String.self), campaign: try CampaignService.stored(row))
            }
        }
        var scheduled = 0
        for (tenantID, campaigns) in Dictionary(grouping: active, by: \.tenantID) {
            let campaigns = campaigns.map(\.campaign)
            for type in Set(campaigns.compactMap { $0.terms.trigger?.event.flatMap { Self.eventTypes[$0] } }) {
                scheduled += try await scanEvents(tenantID: tenantID, type: type, campaigns: campaigns.filter { $0.terms.trigger?.event.flatMap { Self.eventTypes[$0] } == type })
            }
            for campaign in campaigns where ["birthday", "points_expiring"].contains(campaign.terms.trigger?.event ?? "") {
                scheduled += try await sweep(tenantID: tenantID, campaign: campaign)
            }
        }
        return scheduled
    }

    /// A delivery to schedule.
    private struct Planned {
        let campaign: StoredCampaign
        let customerID: String
        let sourceID: String
        let triggeredAt: Int64
    }

    private func scanEvents(tenantID: String, type: String, campaigns: [StoredCampaign]) async throws -> Int {
        let now = services.nowMilliseconds
        let cursorName = "events:\(type)"
        return try await services.database.transaction { sql in
            // A tenant's first trigger starts from now: history does not fire campaigns.
            let position = try await cursor(on: sql, tenantID: tenantID, name: cursorName, start: now - Self.lag)
            let rows = try await sql.raw("""
                SELECT id, data, created_at FROM events WHERE tenant_id = \(bind: tenantID) AND type = \(bind: type)
                  AND created_at > \(bind: position) AND created_at <= \(bind: now - Self.lag)
                ORDER BY created_at, id LIMIT \(literal: Self.batch)
                """).all()
            guard let last = try rows.last?.decode(column: "created_at", as: Int64.self) else { return 0 }
            var planned: [Planned] = []
            for row in rows {
                let eventID = try row.decode(column: "id", as: String.self)
                let at = try row.decode(column: "created_at", as: Int64.self)
                guard case .object(let data) = try JSONCoding.decoder.decode(JSONValue.self, from: Data(try row.decode(column: "data", as: String.self).utf8)),
                    case .string(let customerID) = data["customer_id"] ?? .null else { continue }
                for campaign in campaigns {
                    switch campaign.terms.trigger?.event {
                    case "cart_abandoned":
                        planned.append(Planned(campaign: campaign, customerID: customerID, sourceID: eventID, triggeredAt: at))
                    case "segment_entered" where data["segment_code"] == campaign.terms.trigger?.segment.map(JSONValue.string):
                        planned.append(Planned(campaign: campaign, customerID: customerID, sourceID: eventID, triggeredAt: at))
                    case "return_recorded" where data["kind"] == .string("return"):
                        planned.append(Planned(campaign: campaign, customerID: customerID, sourceID: eventID, triggeredAt: at))
                    case "first_store_purchase" where data["kind"] == .string("sale"):
                        guard case .string(let channelID) = data["channel_id"] ?? .null,
                            try await isFirstStorePurchase(on: sql, tenantID: tenantID, customerID: customerID, channelID: channelID)
                        else { continue }
                        // Once per customer: it is their first store purchase only once.
                        planned.append(Planned(campaign: campaign, customerID: customerID, sourceID: "first_store_purchase", triggeredAt: at))
                    default:
                        continue
                    }
                }
            }
            try await schedule(on: sql, tenantID: tenantID, planned, now: now)
            try await moveCursor(on: sql, tenantID: tenantID, name: cursorName, from: position, to: last)
            return planned.count
        }
    }

    /// A sale in a store by a customer whose only other purchases were in other kinds of channel.
    private func isFirstStorePurchase(on sql: any SQLDatabase, tenantID: String, customerID: String, channelID: String) async throws -> Bool {
        guard try await services.platform.knownChannel(on: sql, tenantID: tenantID, channelID)?.kind == ChannelKind.store.rawValue else { return false }
        let row = try await sql.raw("""
            SELECT CAST(COALESCE(SUM(CASE WHEN c.kind = 'store' THEN s.orders ELSE 0 END), 0) AS BIGINT) AS store,
              CAST(COALESCE(SUM(CASE WHEN c.kind <> 'store' THEN s.orders ELSE 0 END), 0) AS BIGINT) AS elsewhere
            FROM customer_channel_stats s JOIN channels c ON c.tenant_id = s.tenant_id AND c.id = s.channel_id
            WHERE s.tenant_id = \(bind: tenantID) AND s.customer_id = \(bind: customerID)
            """).first()
        return try row?.decode(column: "store", as: Int64.self) == 1 && (try row?.decode(column: "elsewhere", as: Int64.self) ?? 0) > 0
    }

    /// A daily trigger, once per local day of the tenant: the customers whose birthday is
    /// `days_before` days away, or whose points start expiring then.
    private func sweep(tenantID: String, campaign: StoredCampaign) async throws -> Int {
        let now = services.nowMilliseconds
        let timeZone = try await services.platform.fetchTenant(tenantID)?.timezone ?? "UTC"
        let (localDay, localMinute) = LocalClock.day(at: now, timeZone: timeZone)
        let today = Int64(localDay)
        // The tenant's local midnight today, in epoch milliseconds.
        let midnight = now - Int64(localMinute) * 60_000 - now % 60_000
        let daysBefore = Int64(campaign.terms.trigger?.daysBefore ?? 0)
        let cursorName = "sweep:\(campaign.id)"
        return try await services.database.transaction { sql in
            let position = try await cursor(on: sql, tenantID: tenantID, name: cursorName, start: today - 1)
            guard position < today else { return 0 }
            let target = today + daysBefore
            var planned: [Planned] = []
            if campaign.terms.trigger?.event == "birthday" {
                let (year, month, day) = RFC3339.civilFromDays(target)
                let monthDay = String(format: "-%02d-%02d", month, day)
                for row in try await sql.raw("""
                    SELECT id FROM customers WHERE tenant_id = \(bind: tenantID) AND canonical_id = id AND birth_date LIKE \(bind: "%" + monthDay)
                    """).all() {
                    planned.append(Planned(campaign: campaign, customerID: try row.decode(column: "id", as: String.self), sourceID: "birthday:\(year)", triggeredAt: now))
                }
            } else {
                // Lots expiring in the local day `days_before` days ahead.
                let from = midnight + daysBefore * 86_400_000, to = from + 86_400_000
                for row in try await sql.raw("""
                    SELECT DISTINCT m.customer_id FROM loyalty_lots l JOIN loyalty_members m ON m.tenant_id = l.tenant_id AND m.account_id = l.account_id
                    WHERE l.tenant_id = \(bind: tenantID) AND l.remaining > 0 AND l.expires_at IS NOT NULL AND l.expires_at >= \(bind: from)
                      AND l.expires_at < \(bind: to)
                    """).all() {
                    planned.append(Planned(campaign: campaign, customerID: try row.decode(column: "customer_id", as: String.self),
                                           sourceID: "points_expiring:\(target)", triggeredAt: now))
                }
            }
            try await schedule(on: sql, tenantID: tenantID, planned, now: now)
            try await moveCursor(on: sql, tenantID: tenantID, name: cursorName, from: position, to: today)
            return planned.count
        }
    }

    private func schedule(on sql: any SQLDatabase, tenantID: String, _ planned: [Planned], now: Int64) async throws {
        guard !planned.isEmpty else { return }
        for chunk in planned.chunks(of: 500) {
            try await sql.insertRows(into: "campaign_deliveries", columns: [
                "tenant_id", "id", "campaign_id", "customer_id", "source_id", "status", "triggered_at", "due_at", "control", "points", "created_at",
            ], chunk, suffix: " ON CONFLICT DO NOTHING") { delivery, values in
                values.add(tenantID)
                values.add(services.ids.make(.campaignDelivery))
                values.add(delivery.campaign.id)
                values.add(delivery.customerID)
                values.add(delivery.sourceID)
                values.add("scheduled")
                values.add(delivery.triggeredAt)
                values.add(delivery.triggeredAt + Int64(delivery.campaign.terms.trigger?.delayMinutes ?? 0) * 60_000)
                values.add(Int64(0))
                values.add(Int64(0))
                values.add(now)
            }
        }
    }

    /// The cursor's position, made at `start` when it does not exist yet.
    private func cursor(on sql: any SQLDatabase, tenantID: String, name: String, start: Int64) async throws -> Int64 {
        try await sql.raw("""
            INSERT INTO campaign_trigger_cursors (tenant_id, name, position) VALUES (\(bind: tenantID), \(bind: name), \(bind: start))
            ON CONFLICT (tenant_id, name) DO NOTHING
            """).run()
        return try await sql.raw("SELECT position FROM campaign_trigger_cursors WHERE tenant_id = \(bind: tenantID) AND name = \(bind: name)")
            .first(decodingColumn: "position", as: Int64.self) ?? start
    }

    /// Moves the cursor from where this pass read it; another server having moved it first fails the pass, which then writes nothing.
    private func moveCursor(on sql: any SQLDatabase, tenantID: String, name: String, from: Int64, to: Int64) async throws {
        let moved = try await sql.raw("""
            UPDATE campaign_trigger_cursors SET position = \(bind: to) WHERE tenant_id = \(bind: tenantID) AND name = \(bind: name) AND position = \(bind: from)
            RETURNING position
            """).all()
        guard !moved.isEmpty else { throw CampaignRunLost() }
    }
}
