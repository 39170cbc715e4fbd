import Foundation
import OmniaCore
import SQLKit

/// The outbox: every domain change appends an event in the same transaction as the change, so an
/// event exists exactly when its change committed. Webhooks are delivered from it: each new event
/// also gets a row in `event_outbox`, which the webhook worker deletes once it has dispatched it.
struct EventLog: Sendable {
    let ids: IDGenerator
    let now: @Sendable () -> Date

    /// Appends `type` with `data` (encoded with the API encoder, so an event carries the API shape).
    @discardableResult
    func append(on sql: any SQLDatabase, tenantID: String, type: String, data: some Encodable, requestID: String?) async throws -> String {
        try await append(on: sql, tenantID: tenantID, [(type, data, requestID)])[0]
    }

    /// Appends several events in one statement (a sale's `transaction.recorded` and `receipt.issued`).
    func append(on sql: any SQLDatabase, tenantID: String, _ events: [(type: String, data: any Encodable)], requestID: String?) async throws {
        try await append(on: sql, tenantID: tenantID, events.map { ($0.type, $0.data, requestID) })
    }

    /// Appends several events in one statement (and their outbox rows in another), each naming its
    /// own request (sales of several POSTs committed together); returns their ids.
    @discardableResult
    func append(on sql: any SQLDatabase, tenantID: String, _ events: [(type: String, data: any Encodable, requestID: String?)]) async throws -> [String] {
        guard !events.isEmpty else { return [] }
        let createdAt = Timestamp.milliseconds(now())
        let ids = events.map { _ in self.ids.make(.event) }
        var query: SQLQueryString = "INSERT INTO events (tenant_id, id, type, data, request_id, created_at) VALUES "
        var outbox: SQLQueryString = "INSERT INTO event_outbox (tenant_id, event_id, type, created_at) VALUES "
        for (index, (event, id)) in zip(events, ids).enumerated() {
            let separator = index == 0 ? "" : ", "
            query += """
                \(unsafeRaw: separator)(\(bind: tenantID), \(bind: id), \(bind: event.type), \
                \(bind: try (event.data as? EncodedJSON)?.text ?? JSONCoding.text(event.data)), \(bind: event.requestID), \(bind: createdAt))
                """
            outbox += "\(unsafeRaw: separator)(\(bind: tenantID), \(bind: id), \(bind: event.type), \(bind: createdAt))"
        }
        try await sql.runDeferrable(query)
        try await sql.runDeferrable(outbox)
        return ids
    }
}

/// A payload already encoded (a sale's response is its `transaction.recorded` payload): stored as it is.
struct EncodedJSON: Encodable, Sendable {
    let text: String

    init(_ data: Data) { text = String(decoding: data, as: UTF8.self) }

    func encode(to encoder: any Encoder) throws {
        try JSONCoding.decoder.decode(JSONValue.self, from: Data(text.utf8)).encode(to: encoder)
    }
}

/// An event as stored and as the API returns it.
struct Event: Codable, Sendable {
    let id: String
    let type: String
    let data: StoredJSON
    let requestId: String?
    let createdAt: StoredTime
}

/// Epoch milliseconds ↔ RFC 3339 text with milliseconds in UTC (`2026-03-01T10:15:00.000Z`), the API's time format.
enum Timestamp {
    /// Formats without Foundation's date formatters: every response carries timestamps, and
    /// civil-from-days arithmetic is much cheaper than a format style.
    static func text(_ milliseconds: Int64) -> String {
        let millisecondsPerDay: Int64 = 86_400_000
        var days = milliseconds / millisecondsPerDay
        var rest = milliseconds % millisecondsPerDay
        if rest < 0 {
            rest += millisecondsPerDay
            days -= 1
        }
        let (year, month, day) = RFC3339.civilFromDays(days)

        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        func append(_ value: Int64, digits: Int) {
            var divisor: Int64 = 1
            for _ in 1..<digits { divisor *= 10 }
            var remaining = value
            while divisor > 0 {
                bytes.append(UInt8(ascii: "0") + UInt8(remaining / divisor % 10))
                remaining %= divisor
                divisor /= 10
            }
        }
        append(year, digits: 4)
        bytes.append(UInt8(ascii: "-"))
        append(month, digits: 2)
        bytes.append(UInt8(ascii: "-"))
        append(day, digits: 2)
        bytes.append(UInt8(ascii: "T"))
        append(rest / 3_600_000, digits: 2)
        bytes.append(UInt8(ascii: ":"))
        append(rest / 60_000 % 60, digits: 2)
        bytes.append(UInt8(ascii: ":"))
        append(rest / 1000 % 60, digits: 2)
        bytes.append(UInt8(ascii: "."))
        append(rest % 1000, digits: 3)
        bytes.append(UInt8(ascii: "Z"))
        return String(decoding: bytes, as: UTF8.self)
    }

    static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
}
