import Foundation
import OmniaCore
import SQLKit

/// Bulk data for `omnia bench`: written straight to the tables in large batches, because going
/// through the API would take longer than the measurement itself.
public enum BenchSeed {
    /// `count` customers, each holding two identifiers: `bench-N@example.com` and loyalty card `70000000 + N`.
    public static func customers(_ services: AppServices, tenantID: String, count: Int) async throws {
        let batch = 500
        let perTransaction = 50_000
        let now = services.nowMilliseconds
        var start = 0
        while start < count {
            let end = min(count, start + perTransaction)
            let range = start..<end
            try await services.database.transaction { sql in
                var index = range.lowerBound
                while index < range.upperBound {
                    let upper = min(range.upperBound, index + batch)
                    var customers: SQLQueryString = "INSERT INTO customers (tenant_id, id, canonical_id, attributes, created_at, updated_at) VALUES "
                    var identifiers: SQLQueryString = "INSERT INTO customer_identifiers (tenant_id, kind, value, customer_id, created_at) VALUES "
                    for number in index..<upper {
                        let id = services.ids.make(.customer)
                        let separator = number == index ? "" : ", "
                        customers += "\(unsafeRaw: separator)(\(bind: tenantID), \(bind: id), \(bind: id), '{}', \(bind: now), \(bind: now))"
                        identifiers += """
                            \(unsafeRaw: separator)(\(bind: tenantID), 'email', \(bind: email(number)), \(bind: id), \(bind: now)), \
                            (\(bind: tenantID), 'loyalty_card', \(bind: card(number)), \(bind: id), \(bind: now))
                            """
                    }
                    try await sql.raw(customers).run()
                    try await sql.raw(identifiers).run()
                    index = upper
                }
            }
            start = end
        }
    }

    public static func email(_ number: Int) -> String { "bench-\(number)@example.com" }
    public static func card(_ number: Int) -> String { String(70_000_000 + number) }
}
