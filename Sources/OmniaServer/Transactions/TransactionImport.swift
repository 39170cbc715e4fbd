import Foundation
import HTTPTypes
import OmniaCore
import SQLKit

/// Bulk ingestion of sales and returns: `POST /v1/transactions/bulk` and `omnia import transactions`.
/// A chunk goes through `TransactionBatch`, which gives each record what `TransactionService.record`
/// gives a single POST, so a bulk sale is checked, deduplicated (by channel and external id:
/// re-importing a file creates nothing new) and aggregated exactly alike. Historical imports emit
/// one `transactions.imported` event per chunk instead of a `receipt.issued` per sale, so a mailer
/// never re-sends years of receipts.
struct TransactionImport: Sendable {
    let services: AppServices
    let caller: Caller
    let actor: Actor

    /// The HTTP bulk endpoint's limit per call.
    static let maximumRecords = 10_000

    var batch: TransactionBatch { TransactionBatch(services: services, caller: caller, actor: actor) }

    var finish: BulkImport.Finish {
        let services = services, tenantID = caller.tenantID, requestID = actor.requestID
        return { sql, ids in
            guard !ids.isEmpty else { return }
            try await services.events.append(on: sql, tenantID: tenantID, type: "transactions.imported",
                                              data: ["count": JSONValue.integer(Int64(ids.count)), "transaction_ids": .array(ids.map(JSONValue.string))],
                                              requestID: requestID)
        }
    }

    /// A CSV row as the JSON a single POST takes. Columns: `external_id`, `kind`, `channel`,
    /// `location`, `occurred_at`, `currency`, `total`, `customer_id`, a column per identifier kind
    /// (`email`, `loyalty_card`…), and optionally one line's `sku`, `name`, `category`, `quantity`,
    /// `unit_price`, `discount`. Without `sku` the sale is one line of its whole `total`.
    static func csvMapper(policy: IdentityPolicy) -> ImportRecordReader.RowMapper {
        { row in
            var object: [String: JSONValue] = [:]
            var customer: [String: JSONValue] = [:]
            var line: [String: JSONValue] = [:]
            for (column, value) in row {
                switch column {
                case "external_id", "kind", "channel", "location", "occurred_at", "currency": object[column] = .string(value)
                case "total": object[column] = number(value)
                case "customer_id": customer["id"] = .string(value)
                case "sku", "name", "category": line[column] = .string(value)
                case "quantity", "unit_price", "discount": line[column] = number(value)
                default:
                    if policy.kind(named: column) != nil { customer[column] = .string(value) } else { object[column] = .string(value) }
                }
            }
            if !customer.isEmpty { object["customer"] = .object(customer) }
            if line["sku"] == nil, let total = object["total"] {
                line = ["sku": .string("TOTAL"), "name": .string("Total"), "quantity": .integer(1), "unit_price": total]
            }
            object["lines"] = .array([.object(line)])
            return object
        }
    }

    /// An integer cell as a JSON number; anything else stays text, so decoding names the field.
    static func number(_ text: String) -> JSONValue {
        Int64(text.trimmingCharacters(in: .whitespaces)).map(JSONValue.integer) ?? .string(text)
    }
}

extension Caller {
    /// The caller an operator's command acts as: the tenant's own settings, with every scope.
    static func operatorCaller(tenantID: String, on sql: any SQLDatabase) async throws -> Caller {
        guard let row = try await sql.raw("""
            SELECT default_currency, timezone, country, identity_policy, additional_currencies FROM tenants WHERE id = \(bind: tenantID)
            """).first()
        else { throw Problem(.notFound, code: "not_found", detail: "no tenant \(tenantID)") }
        let currency = try row.decode(column: "default_currency", as: String.self)
        let additional = try row.decode(column: "additional_currencies", as: String?.self)?.split(separator: " ").map(String.init) ?? []
        return Caller(tenantID: tenantID, keyID: "cli", scopes: Set(Scope.allCases), channelID: nil, locationID: nil, tenantCurrency: currency,
                      tenantTimeZone: try row.decode(column: "timezone", as: String.self), acceptedCurrencies: Set([currency] + additional),
                      identityPolicy: IdentityPolicy.stored(try row.decode(column: "identity_policy", as: String?.self),
                                                            tenantCountry: try row.decode(column: "country", as: String?.self)))
    }
}
