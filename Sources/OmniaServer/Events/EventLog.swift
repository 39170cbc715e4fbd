import Foundation
import OmniaCore
import SQLKit

/// The outbox: every domain change appends an event in the same transaction as the change, so an
/// event exists exactly when its change committed. Webhooks are delivered from it.
struct EventLog: Sendable {
    let ids: IDGenerator
    let now: @Sendable () -> Date

    /// Appends `type` with `data` (encoded with the API encoder, so an event carries the API shape).
    @discardableResult
    func append(on sql: any SQLDatabase, tenantID: String, type: String, data: some Encodable, requestID: String?) async throws -> String {
        let id = ids.make(.event)
        let payload = String(decoding: try JSONCoding.encoder.encode(data), as: UTF8.self)
        let createdAt = Timestamp.milliseconds(now())
        try await sql.raw("""
            INSERT INTO events (tenant_id, id, type, data, request_id, created_at, dispatched)
            VALUES (\(bind: tenantID), \(bind: id), \(bind: type), \(bind: payload), \(bind: requestID), \(bind: createdAt), 0)
            """).run()
        return id
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

/// Epoch milliseconds ↔ RFC 3339 text with milliseconds, the API's time format.
enum Timestamp {
    static func text(_ milliseconds: Int64) -> String {
        Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }

    static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
}
