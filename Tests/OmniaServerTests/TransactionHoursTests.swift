import Foundation
import HTTPTypes
import HummingbirdTesting
import OmniaCore
@testable import OmniaServer
import SQLKit
import Testing

/// The hourly sums of transactions (`transaction_hours`): kept on every write and claim, filled by
/// migration 22 from what was recorded before it, and read for any period exactly as the
/// transactions themselves would count it.
@Suite("Transaction hours")
struct TransactionHoursTests {
    static let hour = TransactionHours.millisecondsPerHour
    /// 2025-03-02T00:00:00Z.
    static let day = Int64(1_740_873_600_000)

    @Test("a period is cut into whole hours read from the sums and edges read from the transactions")
    func parts() {
        let (hour, day) = (Self.hour, Self.day)
        let midHours = TransactionHours.Parts(from: day + 10 * hour + 900_000, to: day + 13 * hour + 2_699_999, dayOffset: nil)
        #expect(midHours.hours == (day / hour + 11)...(day / hour + 12))
        #expect(midHours.stretches == [(day + 10 * hour + 900_000)...(day + 11 * hour - 1), (day + 13 * hour)...(day + 13 * hour + 2_699_999)])
        let onTheHour = TransactionHours.Parts(from: day + 10 * hour, to: day + 13 * hour - 1, dayOffset: 3_600_000)
        #expect(onTheHour.hours == (day / hour + 10)...(day / hour + 12) && onTheHour.stretches.isEmpty && onTheHour.cutHours.isEmpty)
        let withinAnHour = TransactionHours.Parts(from: day + 600_000, to: day + 1_200_000, dayOffset: nil)
        #expect(withinAnHour.hours == nil && withinAnHour.stretches == [(day + 600_000)...(day + 1_200_000)])
        // India (+05:30): local midnight is 18:30 UTC, inside the hour from 18:00, on each of the three days.
        let india = TransactionHours.Parts(from: day, to: day + 3 * 86_400_000 - 1, dayOffset: 19_800_000)
        let cuts = (0..<3).map { day / hour + Int64($0) * 24 + 18 }
        #expect(india.hours == (day / hour)...(day / hour + 71) && india.cutHours == Set(cuts))
        #expect(india.stretches == cuts.map { ($0 * hour)...(($0 + 1) * hour - 1) })
        // Newfoundland (−03:30): local midnight at 03:30 UTC.
        let newfoundland = TransactionHours.Parts(from: day, to: day + 86_400_000 - 1, dayOffset: -12_600_000)
        #expect(newfoundland.cutHours == [day / hour + 3])
    }

    @Test("the sums follow sales, returns and claims, match migration 22's fill, and read any period as the transactions count it",
          arguments: TestBackend.available)
    func sumsMatchTheTransactions(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let ana = try await LoyaltyAPITests.customer(client, app, "ana@example.com")
            // Two days of sales at odd minutes in the store and on the web, some anonymous, one returned.
            var saleIDs: [String] = []
            var codes: [String] = []
            for index in 0..<24 {
                let at = Self.day + Int64(index) * 7_430_000 + Int64(index % 5) * 61_000
                let channel = index % 3 == 0 ? "web" : "store-madrid-01"
                let body = SalesFixtures.sale("S-\(index)", channel: channel, customer: index % 4 == 0 ? nil : ["id": ana],
                                              lines: [("SKU-\(index % 6)", "general", 1, 1_000 + index * 10)], at: Timestamp.text(at))
                let recorded = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: body)
                #expect(recorded.status == .created, "\(recorded.text)")
                saleIDs.append(try #require(recorded.object["id"] as? String))
                if let code = recorded.object["claim_code"] as? String { codes.append(code) }
            }
            let returned = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: [
                "kind": "return", "external_id": "R-1", "channel": "web", "occurred_at": Timestamp.text(Self.day + 30 * Self.hour + 123_000),
                "original": ["id": saleIDs[4]], "lines": [["original_line": 1, "quantity": 1] as [String: any Sendable]],
            ])
            #expect(returned.status == .created, "\(returned.text)")
            let claimed = try await client.call(.post, "/v1/receipts/claim", key: app.adminKey, json: ["claim_code": codes[1], "customer_id": ana])
            #expect(claimed.status == .ok, "\(claimed.text)")

            let tenantID = app.tenantID
            let fromTransactions: SQLQueryString = """
                SELECT occurred_at / 3600000 AS hour, channel_id, kind, currency, COUNT(*) AS transactions, COUNT(customer_id) AS identified,
                  CAST(SUM(total) AS BIGINT) AS total, CAST(SUM(CASE WHEN customer_id IS NULL THEN 0 ELSE total END) AS BIGINT) AS identified_total
                FROM transactions WHERE tenant_id = \(bind: tenantID) GROUP BY occurred_at / 3600000, channel_id, kind, currency
                """
            let kept: SQLQueryString = """
                SELECT hour, channel_id, kind, currency, transactions, identified, total, identified_total
                FROM transaction_hours WHERE tenant_id = \(bind: tenantID)
                """
            let expected = try await Self.sums(app, fromTransactions)
            #expect(expected.count > 10, "\(expected)")
            #expect(try await Self.sums(app, kept) == expected)
            // Migration 22 fills the table from the transactions recorded before it.
            let fill = Migration022TransactionHours.migration.sql(app.services.database.dialect)[1]
            try await app.services.database.transaction { sql in
                try await sql.raw("DELETE FROM transaction_hours WHERE tenant_id = \(bind: tenantID)").run()
                try await sql.raw(SQLQueryString(fill)).run()
            }
            #expect(try await Self.sums(app, kept) == expected)

            // Periods with edges inside hours, read whole and by local days in zones on and off the hour.
            let rows = try await app.services.database.read { sql in
                try await sql.raw("""
                    SELECT occurred_at, channel_id, kind, currency, customer_id, total FROM transactions WHERE tenant_id = \(bind: tenantID)
                    """).all().map {
                    (at: try $0.decode(column: "occurred_at", as: Int64.self), channel: try $0.decode(column: "channel_id", as: String.self),
                     kind: try $0.decode(column: "kind", as: String.self), identified: try $0.decodeNil(column: "customer_id") ? Int64(0) : 1,
                     total: try $0.decode(column: "total", as: Int64.self))
                }
            }
            let periods: [(Int64, Int64)] = [(Self.day + 1_000_000, Self.day + 40 * Self.hour + 77_000), (Self.day, Self.day + 48 * Self.hour - 1),
                                             (Self.day + 6 * Self.hour + 10, Self.day + 6 * Self.hour + 3_000_000)]
            for (from, to) in periods {
                for offset in [nil, Int64(3_600_000), Int64(19_800_000), Int64(-12_600_000)] as [Int64?] {
                    for kind in [nil, "sale"] as [String?] {
                        let cells = try await app.services.database.read { sql in
                            try await TransactionHours.cells(on: sql, tenantID: tenantID, from: from, to: to, kind: kind, currency: "EUR", dayOffset: offset)
                        }
                        func localDay(_ at: Int64) -> Int64 { offset.map { (at + $0) / 86_400_000 } ?? 0 }
                        var read: [String: [Int64]] = [:]
                        for cell in cells {
                            let key = "\(localDay(cell.at))|\(cell.channelId)|\(cell.kind)"
                            let sum = read[key] ?? [0, 0, 0, 0]
                            read[key] = [sum[0] + cell.transactions, sum[1] + cell.identified, sum[2] + cell.total, sum[3] + cell.identifiedTotal]
                        }
                        var counted: [String: [Int64]] = [:]
                        for row in rows where row.at >= from && row.at <= to && (kind == nil || row.kind == kind) {
                            let key = "\(localDay(row.at))|\(row.channel)|\(row.kind)"
                            let sum = counted[key] ?? [0, 0, 0, 0]
                            counted[key] = [sum[0] + 1, sum[1] + row.identified, sum[2] + row.total, sum[3] + row.identified * row.total]
                        }
                        #expect(read == counted, "from \(from) to \(to), offset \(offset.map(String.init) ?? "none"), kind \(kind ?? "any")")
                        #expect(!counted.isEmpty)
                    }
                }
            }
        }
    }

    /// Each row of `query` as text, sorted.
    static func sums(_ app: TestApp, _ query: SQLQueryString) async throws -> [String] {
        try await app.services.database.read { sql in
            try await sql.raw(query).all().map { row in
                try ["hour", "channel_id", "kind", "currency", "transactions", "identified", "total", "identified_total"].map { column in
                    if let number = try? row.decode(column: column, as: Int64.self) { return String(number) }
                    return try row.decode(column: column, as: String.self)
                }.joined(separator: "|")
            }.sorted()
        }
    }
}
