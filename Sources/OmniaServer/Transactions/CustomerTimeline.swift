import OmniaCore
import SQLKit

/// One entry of a customer's timeline: a sale or return in any channel, a journey event (a view, a
/// cart, a store visit…), a merge or unmerge of their record, a checkout's hold or redemption on
/// their gift cards or store credit, or a movement of their loyalty points. Fields that do not
/// apply to the type are omitted.
struct TimelineItem: Encodable, Sendable {
    let type: String
    let id: String
    let occurredAt: StoredTime
    let channelId: String?
    var locationId: String?
    var externalId: String?
    var currency: String?
    var total: Int64?
    var lineCount: Int?
    var originalTransactionId: String?
    /// The customer of the cluster the entry was recorded for (a merged-in customer's id for their history).
    var customerId: String?
    var survivorId: String?
    var mergedId: String?
    var reason: String?
    /// Of an `event` entry: the journey event's type, anonymous id and properties.
    var eventType: String?
    var anonymousId: String?
    var properties: StoredJSON?
    /// Of a `hold` or `redemption`: its status now (`open`, `captured`, `voided`, `expired`); its `total` is the value its parts reserved or took (coupon uses not counted).
    var status: String?
    /// Of a `points` entry (a ledger transfer on the member's points or debt account): what moved
    /// them — `earned`, `spent`, `refunded`, `reversed`, `expired`, `adjusted` or `moved` (a merge
    /// or unmerge) — and how many, positive in and negative out.
    var movement: String?
    var points: Int64?
    var accountId: String?

    /// The position of this entry, for `starting_after`: `<epoch ms>_<id>`.
    var cursor: String { "\(occurredAt.milliseconds)_\(id)" }

    static let types = ["sale", "return", "event", "merge", "unmerge", "hold", "redemption", "points"]
}

/// What `GET /v1/customers/{id}/timeline` may filter on.
struct TimelineQuery: Sendable {
    var types: Set<String> = Set(TimelineItem.types)
    var channelID: String?
    /// Entries strictly older than this position (newest first).
    var before: (milliseconds: Int64, id: String)?
    var limit = PageRequest.defaultLimit
    /// What "now" is for an open hold's expiry (epoch milliseconds).
    var now: Int64 = 0
}

/// Reads a customer's timeline across their merged cluster, newest first: each source is read
/// already sorted and cut at `limit + 1`, then the sources are merged.
struct CustomerTimelineStore: Sendable {
    let tenantID: String

    func page(on sql: any SQLDatabase, customerID: String, _ query: TimelineQuery) async throws -> [TimelineItem] {
        let cluster: SQLQueryString = "SELECT id FROM customers WHERE tenant_id = \(bind: tenantID) AND canonical_id = \(bind: customerID)"
        var items: [TimelineItem] = []
        let kinds = ["sale", "return"].filter(query.types.contains)
        if !kinds.isEmpty {
            var statement: SQLQueryString = """
                SELECT t.id, t.kind, t.channel_id, t.location_id, t.external_id, t.customer_id, t.original_id, t.currency, t.total, t.occurred_at,
                    (SELECT COUNT(*) FROM transaction_lines l WHERE l.tenant_id = t.tenant_id AND l.transaction_id = t.id) AS line_count
                FROM transactions t WHERE t.tenant_id = \(bind: tenantID) AND t.customer_id IN (\(cluster)) AND t.kind IN (\(binds: kinds))
                """
            if let channelID = query.channelID { statement += " AND t.channel_id = \(bind: channelID)" }
            if let before = query.before {
                statement += """
                     AND (t.occurred_at < \(bind: before.milliseconds) OR (t.occurred_at = \(bind: before.milliseconds) AND t.id < \(bind: before.id)))
                    """
            }
            statement += " ORDER BY t.occurred_at DESC, t.id DESC LIMIT \(literal: query.limit + 1)"
            for row in try await sql.raw(statement).all() {
                var item = TimelineItem(type: try row.decode(column: "kind", as: String.self), id: try row.decode(column: "id", as: String.self),
                                        occurredAt: StoredTime(milliseconds: try row.decode(column: "occurred_at", as: Int64.self)),
                                        channelId: try row.decode(column: "channel_id", as: String.self))
                item.locationId = try row.decode(column: "location_id", as: String?.self)
                item.externalId = try row.decode(column: "external_id", as: String.self)
                item.currency = try row.decode(column: "currency", as: String.self)
                item.total = try row.decode(column: "total", as: Int64.self)
                item.lineCount = try row.decode(column: "line_count", as: Int.self)
                item.originalTransactionId = try row.decode(column: "original_id", as: String?.self)
                item.customerId = try row.decode(column: "customer_id", as: String?.self)
                items.append(item)
            }
        }
        if query.types.contains("event") {
            var statement: SQLQueryString = """
                SELECT * FROM journey_events WHERE tenant_id = \(bind: tenantID) AND customer_id IN (\(cluster))
                """
            if let channelID = query.channelID { statement += " AND channel_id = \(bind: channelID)" }
            if let before = query.before {
                statement += """
                     AND (occurred_at < \(bind: before.milliseconds) OR (occurred_at = \(bind: before.milliseconds) AND id < \(bind: before.id)))
                    """
            }
            statement += " ORDER BY occurred_at DESC, id DESC LIMIT \(literal: query.limit + 1)"
            for event in try await sql.raw(statement).rows(JourneyEvent.self) {
                var item = TimelineItem(type: "event", id: event.id, occurredAt: event.occurredAt, channelId: event.channelId)
                item.customerId = event.customerId
                item.eventType = event.type
                item.anonymousId = event.anonymousId
                item.properties = event.properties
                items.append(item)
            }
        }
        let checkouts = ["hold", "redemption"].filter(query.types.contains)
        if !checkouts.isEmpty {
            var statement: SQLQueryString = """
                SELECT h.id, h.kind, h.status, h.channel_id, h.currency, h.customer_id, h.expires_at, COALESCE(h.occurred_at, h.created_at) AS at,
                    (SELECT CAST(COALESCE(SUM(p.amount * COALESCE(p.point_value, 1)), 0) AS BIGINT) FROM checkout_hold_parts p
                     WHERE p.tenant_id = h.tenant_id AND p.hold_id = h.id AND p.transfer_id IS NOT NULL) AS total
                FROM checkout_holds h WHERE h.tenant_id = \(bind: tenantID) AND h.customer_id IN (\(cluster)) AND h.kind IN (\(binds: checkouts))
                """
            if let channelID = query.channelID { statement += " AND h.channel_id = \(bind: channelID)" }
            if let before = query.before {
                statement += """
                     AND (COALESCE(h.occurred_at, h.created_at) < \(bind: before.milliseconds)
                          OR (COALESCE(h.occurred_at, h.created_at) = \(bind: before.milliseconds) AND h.id < \(bind: before.id)))
                    """
            }
            // An offline till's redemption stands where it happened, not where it was synced.
            statement += " ORDER BY at DESC, h.id DESC LIMIT \(literal: query.limit + 1)"
            for row in try await sql.raw(statement).all() {
                var item = TimelineItem(type: try row.decode(column: "kind", as: String.self), id: try row.decode(column: "id", as: String.self),
                                        occurredAt: StoredTime(milliseconds: try row.decode(column: "at", as: Int64.self)),
                                        channelId: try row.decode(column: "channel_id", as: String.self))
                item.currency = try row.decode(column: "currency", as: String.self)
                item.total = try row.decode(column: "total", as: Int64.self)
                item.customerId = try row.decode(column: "customer_id", as: String?.self)
                let status = try row.decode(column: "status", as: String.self)
                let expiresAt = try row.decode(column: "expires_at", as: Int64?.self)
                item.status = status == "open" && (expiresAt.map { query.now >= $0 } ?? false) ? "expired" : status
                items.append(item)
            }
        }
        // Points move in no channel: a channel filter leaves them out.
        if query.types.contains("points") && query.channelID == nil {
            items += try await pointsMovements(on: sql, cluster: cluster, query)
        }
        if query.types.contains("merge") || query.types.contains("unmerge") {
            // A customer's merges are few; read them all and filter here.
            let merges = try await sql.raw("""
                SELECT * FROM customer_merges WHERE tenant_id = \(bind: tenantID)
                AND (survivor_id IN (\(cluster)) OR merged_id IN (\(cluster)))
                """).rows(CustomerMerge.self)
            for merge in merges where query.channelID == nil || merge.channelId == query.channelID {
                var entries = [("merge", merge.createdAt)]
                if let unmergedAt = merge.unmergedAt { entries.append(("unmerge", unmergedAt)) }
                for (type, time) in entries where query.types.contains(type) {
                    var item = TimelineItem(type: type, id: merge.id, occurredAt: time, channelId: merge.channelId)
                    item.survivorId = merge.survivorId
                    item.mergedId = merge.mergedId
                    item.reason = type == "merge" ? merge.reason : nil
                    items.append(item)
                }
            }
        }
        items.sort { ($0.occurredAt.milliseconds, $0.id, $0.type) > ($1.occurredAt.milliseconds, $1.id, $1.type) }
        if let before = query.before {
            items.removeAll { ($0.occurredAt.milliseconds, $0.id) >= (before.milliseconds, before.id) }
        }
        return Array(items.prefix(query.limit + 1))
    }

    /// The cluster's points movements: each posted transfer on a member's points or debt account,
    /// named by the control account on its other side. `unit = 'points'`, written out, is what lets
    /// the database use the points-only indexes of transfers by account.
    private func pointsMovements(on sql: any SQLDatabase, cluster: SQLQueryString, _ query: TimelineQuery) async throws -> [TimelineItem] {
        let members = try await sql.raw("""
            SELECT account_id FROM loyalty_members WHERE tenant_id = \(bind: tenantID) AND customer_id IN (\(cluster))
            """).all().map { try $0.decode(column: "account_id", as: String.self) }
        guard !members.isEmpty else { return [] }
        let accounts = members + members.map(LoyaltyService.debtAccountID)
        // One indexed lookup per side (a transfer between two of the cluster's accounts, a merge's,
        // is in both and kept once): an OR of the two sides made SQLite read every points transfer
        // of the tenant through one index.
        func side(_ column: String) -> SQLQueryString {
            var side: SQLQueryString = """
                SELECT id, debit_account_id, credit_account_id, amount, reason, created_at FROM ledger_transfers
                WHERE tenant_id = \(bind: tenantID) AND unit = 'points' AND \(ident: column) IN (\(binds: accounts))
                  AND kind IN ('posted', 'post_pending')
                """
            if let before = query.before {
                side += " AND (created_at < \(bind: before.milliseconds) OR (created_at = \(bind: before.milliseconds) AND id < \(bind: before.id)))"
            }
            return side
        }
        var statement = side("debit_account_id") + " UNION " + side("credit_account_id")
        statement += " ORDER BY created_at DESC, id DESC LIMIT \(literal: query.limit + 1)"
        let owned = Set(accounts)
        return try await sql.raw(statement).all().map { row in
            let (debit, credit) = (try row.decode(column: "debit_account_id", as: String.self), try row.decode(column: "credit_account_id", as: String.self))
            let amount = try row.decode(column: "amount", as: Int64.self)
            let incoming = owned.contains(credit)
            var item = TimelineItem(type: "points", id: try row.decode(column: "id", as: String.self),
                                    occurredAt: StoredTime(milliseconds: try row.decode(column: "created_at", as: Int64.self)), channelId: nil)
            item.movement = Self.movement(counterpart: incoming ? debit : credit, incoming: incoming, within: owned.contains(debit) && incoming)
            // Into the cluster's account (from a control account or, in a merge, another of its own) or out of it.
            item.points = incoming ? amount : -amount
            item.accountId = incoming ? credit : debit
            item.reason = try row.decode(column: "reason", as: String?.self)
            return item
        }
    }

    /// What a points transfer was, from the account on its other side.
    private static func movement(counterpart: String, incoming: Bool, within: Bool) -> String {
        if within || !LedgerStore.isControl(counterpart) { return "moved" }
        let purpose = counterpart.dropFirst(LedgerStore.controlPrefix.count)
        if purpose.hasPrefix(LoyaltyService.issuedPurpose) { return "earned" }
        if purpose.hasPrefix(InstrumentType.points.redeemedPurpose) { return incoming ? "refunded" : "spent" }
        if purpose.hasPrefix(LoyaltyService.reversedPurpose) { return "reversed" }
        if purpose.hasPrefix(LoyaltyService.expiredPurpose) { return "expired" }
        return "adjusted"
    }
}
