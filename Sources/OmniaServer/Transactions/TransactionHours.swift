import Foundation
import SQLKit

/// A tenant's transactions summed by hour, channel, kind and currency (`transaction_hours`,
/// migration 22), kept in the same database transaction as every write: `TransactionStore`
/// adds each transaction it inserts and moves each claimed receipt from anonymous to identified.
///
/// Reports that count a period's sales without asking who bought read it through `cells`, which
/// is exact for any period: the hours wholly inside it come from the sums, the parts of hours at
/// its edges (and the hours a local midnight cuts, for a time zone off the hour) from the
/// transactions themselves.
struct TransactionHours: Sendable {
    static let millisecondsPerHour: Int64 = 3_600_000

    let tenantID: String

    struct Key: Hashable, Comparable, Sendable {
        let hour: Int64
        let channelID: String
        let kind: String
        let currency: String

        static func < (left: Key, right: Key) -> Bool {
            (left.hour, left.channelID, left.kind, left.currency) < (right.hour, right.channelID, right.kind, right.currency)
        }
    }

    struct Sums: Sendable {
        var transactions: Int64 = 0
        var identified: Int64 = 0
        var total: Int64 = 0
        var identifiedTotal: Int64 = 0
    }

    static func key(of row: TransactionRow) -> Key {
        Key(hour: row.occurredAt / millisecondsPerHour, channelID: row.channelId, kind: row.kind, currency: row.currency)
    }

    /// Adds transactions just inserted.
    func add(on sql: any SQLDatabase, _ rows: [TransactionRow]) async throws {
        var sums: [Key: Sums] = [:]
        for row in rows {
            let identified: Int64 = row.customerId == nil ? 0 : 1
            sums[Self.key(of: row), default: Sums()].add(Sums(transactions: 1, identified: identified, total: row.total,
                                                              identifiedTotal: identified * row.total))
        }
        try await upsert(on: sql, sums)
    }

    /// Counts transactions that were anonymous and have just been given to a customer as identified.
    func claimed(on sql: any SQLDatabase, _ rows: [TransactionRow]) async throws {
        var sums: [Key: Sums] = [:]
        for row in rows {
            sums[Self.key(of: row), default: Sums()].add(Sums(identified: 1, identifiedTotal: row.total))
        }
        try await upsert(on: sql, sums)
    }

    /// One multi-row upsert per batch, in key order, so two PostgreSQL transactions never wait on
    /// each other's rows in a cycle.
    private func upsert(on sql: any SQLDatabase, _ sums: [Key: Sums]) async throws {
        let columns = ["tenant_id", "hour", "channel_id", "kind", "currency", "transactions", "identified", "total", "identified_total"]
        for batch in sums.sorted(by: { $0.key < $1.key }).chunks(of: 200) {
            try await sql.insertRows(into: "transaction_hours", columns: columns, batch, suffix: """
                 ON CONFLICT (tenant_id, hour, channel_id, kind, currency) DO UPDATE SET
                    transactions = transaction_hours.transactions + excluded.transactions,
                    identified = transaction_hours.identified + excluded.identified,
                    total = transaction_hours.total + excluded.total,
                    identified_total = transaction_hours.identified_total + excluded.identified_total
                """) { entry, values in
                values.add(tenantID)
                values.add(entry.key.hour)
                values.add(entry.key.channelID)
                values.add(entry.key.kind)
                values.add(entry.key.currency)
                values.add(entry.value.transactions)
                values.add(entry.value.identified)
                values.add(entry.value.total)
                values.add(entry.value.identifiedTotal)
            }
        }
    }
}

extension TransactionHours.Sums {
    mutating func add(_ other: Self) {
        transactions += other.transactions
        identified += other.identified
        total += other.total
        identifiedTotal += other.identifiedTotal
    }
}

// MARK: Reading a period

extension TransactionHours {
    /// Transactions of one channel, kind and currency in part of a period, summed. `at` is a time
    /// within the part: with local days asked for, every transaction of the cell is of the local
    /// day `at` is in; without, it is just where the part starts.
    struct Cell: Decodable, Sendable {
        let at: Int64
        let channelId: String
        let kind: String
        let currency: String
        let transactions: Int64
        let identified: Int64
        let total: Int64
        let identifiedTotal: Int64
    }

    /// The period's parts: the whole hours read from the sums, and the stretches of transactions
    /// read one by one — the period's edges within an hour and each hour a local midnight cuts.
    struct Parts: Equatable, Sendable {
        /// The first and last whole hour, when the period holds one.
        var hours: ClosedRange<Int64>?
        /// Hours within `hours` read one by one instead.
        var cutHours: Set<Int64> = []
        /// Stretches of time (milliseconds, both ends included) read one by one.
        var stretches: [ClosedRange<Int64>] = []

        /// `from` to `to`, both included; `dayOffset`, when local days are asked for, the zone's
        /// offset from UTC in milliseconds (local midnight is `k × 86,400,000 − dayOffset`).
        init(from: Int64, to: Int64, dayOffset: Int64?) {
            let hour = TransactionHours.millisecondsPerHour
            let first = (from + hour - 1) / hour, last = (to + 1) / hour - 1
            guard first <= last else {
                stretches = [from...to]
                return
            }
            hours = first...last
            if from < first * hour { stretches.append(from...(first * hour - 1)) }
            if let dayOffset, dayOffset % hour != 0 {
                let day = JourneyAnalyticsQuery.millisecondsPerDay
                // Local midnights inside the whole hours, each in an hour read one by one.
                var midnight = ((first * hour + dayOffset) / day + 1) * day - dayOffset
                while midnight < (last + 1) * hour {
                    let cut = midnight / hour
                    cutHours.insert(cut)
                    stretches.append((cut * hour)...((cut + 1) * hour - 1))
                    midnight += day
                }
            }
            if (last + 1) * hour <= to { stretches.append(((last + 1) * hour)...to) }
        }
    }

    /// The transactions between `from` and `to` (both included), of one kind and currency when
    /// given, summed by channel, kind and currency — and by local day when `dayOffset` is given.
    /// A few rows an hour at most, however many transactions the period holds.
    static func cells(on sql: any SQLDatabase, tenantID: String, from: Int64, to: Int64, kind: String? = nil, currency: String? = nil,
                      dayOffset: Int64? = nil) async throws -> [Cell] {
        let parts = Parts(from: from, to: to, dayOffset: dayOffset)
        var filter: SQLQueryString = ""
        if let kind { filter += " AND kind = \(bind: kind)" }
        if let currency { filter += " AND currency = \(bind: currency)" }
        var cells: [Cell] = []
        if let hours = parts.hours {
            let sums: SQLQueryString = dayOffset == nil
                ? """
                  SELECT MIN(hour) * \(literal: millisecondsPerHour) AS at, channel_id, kind, currency, CAST(SUM(transactions) AS BIGINT) AS transactions,
                    CAST(SUM(identified) AS BIGINT) AS identified, CAST(SUM(total) AS BIGINT) AS total, CAST(SUM(identified_total) AS BIGINT) AS identified_total
                  FROM transaction_hours
                  WHERE tenant_id = \(bind: tenantID) AND hour >= \(bind: hours.lowerBound) AND hour <= \(bind: hours.upperBound)\(filter)
                  GROUP BY channel_id, kind, currency
                  """
                : """
                  SELECT hour * \(literal: millisecondsPerHour) AS at, channel_id, kind, currency, transactions, identified, total, identified_total
                  FROM transaction_hours
                  WHERE tenant_id = \(bind: tenantID) AND hour >= \(bind: hours.lowerBound) AND hour <= \(bind: hours.upperBound)\(filter)
                  """
            cells = try await sql.raw(sums).rows(Cell.self)
            if !parts.cutHours.isEmpty { cells.removeAll { parts.cutHours.contains($0.at / millisecondsPerHour) } }
        }
        let day = JourneyAnalyticsQuery.millisecondsPerDay
        var at: SQLQueryString = "MIN(occurred_at)", byDay: SQLQueryString = ""
        if let dayOffset {
            // The offset as a literal: PostgreSQL takes `at` as grouped only when it is built of the grouped expression, text for text.
            let localDay: SQLQueryString = "(occurred_at + (\(literal: dayOffset))) / \(literal: day)"
            at = "\(localDay) * \(literal: day) - (\(literal: dayOffset))"
            byDay = ", \(localDay)"
        }
        for stretch in parts.stretches {
            cells += try await sql.raw("""
                SELECT \(at) AS at, channel_id, kind, currency, COUNT(*) AS transactions, COUNT(customer_id) AS identified,
                  CAST(SUM(total) AS BIGINT) AS total, CAST(SUM(CASE WHEN customer_id IS NULL THEN 0 ELSE total END) AS BIGINT) AS identified_total
                FROM transactions
                WHERE tenant_id = \(bind: tenantID) AND occurred_at >= \(bind: stretch.lowerBound) AND occurred_at <= \(bind: stretch.upperBound)\(filter)
                GROUP BY channel_id, kind, currency\(byDay)
                """).rows(Cell.self)
        }
        return cells
    }
}
