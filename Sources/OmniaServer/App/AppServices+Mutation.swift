import Foundation
import Hummingbird
import SQLKit

extension AppServices {
    /// Runs a POST/DELETE's effect in one transaction and, when the request carries an
    /// `Idempotency-Key`, stores the response in that same transaction: the effect and its
    /// remembered response commit together or not at all.
    func mutation<Value: Encodable & Sendable>(
        _ context: OmniaRequestContext, status: HTTPResponse.Status = .created,
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> Value
    ) async throws -> Response {
        let claim = context.idempotencyClaim
        let data = try await database.transaction { sql in
            let value = try await body(sql)
            let data = try JSONCoding.encode(value)
            if let claim { try await claim.complete(on: sql, status: Int(status.code), body: data) }
            return data
        }
        claim?.committed()
        return JSONResponse.make(data: data, status: status)
    }
}
