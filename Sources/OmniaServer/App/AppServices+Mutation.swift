import Foundation
import Hummingbird
import SQLKit

/// An error meaning "a concurrent writer changed what this transaction read; run it again on fresh
/// data" — e.g. two merges of the same customer at the same instant on PostgreSQL.
protocol RetryableConflict: Error {}

extension AppServices {
    /// Runs a POST/DELETE's effect in one transaction and, when the request carries an
    /// `Idempotency-Key`, stores the response in that same transaction: the effect and its
    /// remembered response commit together or not at all.
    func mutation<Value: Encodable & Sendable>(
        _ context: OmniaRequestContext, status: HTTPResponse.Status = .created,
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> Value
    ) async throws -> Response {
        try await mutation(context, status: { _ in status }, body)
    }

    /// As above, with the status chosen from the result (201 when `identify` created a customer, 200 when it found one).
    /// A `RetryableConflict` rolls the transaction back and runs it again, a few times.
    func mutation<Value: Encodable & Sendable>(
        _ context: OmniaRequestContext, status: @escaping @Sendable (Value) -> HTTPResponse.Status,
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> Value
    ) async throws -> Response {
        let claim = context.idempotencyClaim
        var attempt = 0
        while true {
            attempt += 1
            do {
                let (data, chosen) = try await database.transaction { sql in
                    let value = try await body(sql)
                    let chosen = status(value)
                    let data = try JSONCoding.encode(value)
                    if let claim { try await claim.complete(on: sql, status: Int(chosen.code), body: data) }
                    return (data, chosen)
                }
                claim?.committed()
                return JSONResponse.make(data: data, status: chosen)
            } catch is any RetryableConflict where attempt < 5 {
                continue
            }
        }
    }
}
