import Foundation
import OmniaCore
import SQLKit

/// `omnia import customers`: each record is identified like `POST /v1/identify` — found by any of its
/// identifiers (and merged per the tenant's policy), created when new, its profile fields applied —
/// so re-importing a file, or importing the same people from a store CRM and a web shop, makes no
/// duplicates. NDJSON records are identify bodies (`identifiers`, `traits`, `channel_id`).
struct CustomerImport: Sendable {
    let services: AppServices
    let caller: Caller

    var apply: BulkImport.Apply {
        let services = services, caller = caller
        return { sql, record in
            let request = try decodeJSONObject(IdentifyRequest.self, from: record.json)
            let result = try await services.identity.identify(on: sql, tenantID: caller.tenantID, policy: caller.identityPolicy, request, actor: .cli)
            return result.created ? .created(result.customer.id) : .matched(result.customer.id)
        }
    }

    var finish: BulkImport.Finish { { _, _ in } }

    static let profileColumns: Set<String> = [
        "first_name", "last_name", "birth_date", "language", "address_line1", "address_line2", "city", "postcode", "region", "country",
    ]

    /// A CSV row as an identify body: a column per identifier kind (`email`, `phone`, `loyalty_card`…),
    /// the profile columns (`address` is taken as `address_line1`), and any other column as an attribute.
    static func csvMapper(policy: IdentityPolicy) -> ImportRecordReader.RowMapper {
        { row in
            var identifiers: [JSONValue] = []
            var traits: [String: JSONValue] = [:]
            var attributes: [String: JSONValue] = [:]
            var object: [String: JSONValue] = [:]
            for (column, value) in row.sorted(by: { $0.key < $1.key }) {
                if policy.kind(named: column) != nil {
                    identifiers.append(.object(["kind": .string(column), "value": .string(value)]))
                } else if profileColumns.contains(column) {
                    traits[column] = .string(value)
                } else if column == "address" {
                    traits["address_line1"] = .string(value)
                } else if column == "channel_id" {
                    object[column] = .string(value)
                } else {
                    attributes[column] = .string(value)
                }
            }
            if !attributes.isEmpty { traits["attributes"] = .object(attributes) }
            object["identifiers"] = .array(identifiers)
            if !traits.isEmpty { object["traits"] = .object(traits) }
            return object
        }
    }
}
