import OmniaCore
import SQLKit

/// What a match job reads before it scores: every unmerged customer of the tenant as a linkage
/// record (the profile of the survivor, the oldest email and phone of its whole cluster), and the
/// pairs earlier jobs already stored — reviewed, waiting for review or merged — which it does not
/// propose again, named by the customers their sides resolve to now. Two queries for the records
/// and one for the pairs, whatever the tenant's size.
struct MatchSnapshot: Sendable {
    let records: [RecordLinkage.Record]
    let decidedPairs: Set<String>

    static func pairKey(_ left: String, _ right: String) -> String { left + "|" + right }

    static func load(on sql: any SQLDatabase, tenantID: String) async throws -> MatchSnapshot {
        let customers = try await sql.raw("""
            SELECT id, first_name, last_name, birth_date, address_line1, postcode FROM customers
            WHERE tenant_id = \(bind: tenantID) AND canonical_id = id ORDER BY id
            """).rows(ProfileRow.self)
        var emails: [String: String] = [:], phones: [String: String] = [:]
        let identifiers = try await sql.raw("""
            SELECT c.canonical_id, i.kind, i.value FROM customer_identifiers i
            JOIN customers c ON c.tenant_id = i.tenant_id AND c.id = i.customer_id
            WHERE i.tenant_id = \(bind: tenantID) AND i.kind IN ('email', 'phone')
            ORDER BY i.created_at DESC, i.value DESC
            """).all()
        // Newest first, so the last one written for a customer is its oldest.
        for row in identifiers {
            let root = try row.decode(column: "canonical_id", as: String.self)
            let value = try row.decode(column: "value", as: String.self)
            if try row.decode(column: "kind", as: String.self) == "email" { emails[root] = value } else { phones[root] = value }
        }
        let records = customers.map {
            RecordLinkage.Record(id: $0.id, firstName: $0.firstName, lastName: $0.lastName, birthDate: $0.birthDate, address: $0.addressLine1,
                                 postcode: $0.postcode, phone: phones[$0.id], email: emails[$0.id])
        }
        // Each side as the customer it belongs to now: a pair rejected before one of its customers
        // merged into a third stays rejected for the survivor.
        let pairs = try await sql.raw("""
            SELECT l.canonical_id AS left_root, r.canonical_id AS right_root FROM match_candidates m
            JOIN customers l ON l.tenant_id = m.tenant_id AND l.id = m.left_customer_id
            JOIN customers r ON r.tenant_id = m.tenant_id AND r.id = m.right_customer_id
            WHERE m.tenant_id = \(bind: tenantID) AND m.status IN ('merged', 'pending', 'accepted', 'rejected')
            """).all()
        var decided = Set<String>()
        for row in pairs {
            let (left, right) = (try row.decode(column: "left_root", as: String.self), try row.decode(column: "right_root", as: String.self))
            if left != right { decided.insert(left < right ? pairKey(left, right) : pairKey(right, left)) }
        }
        return MatchSnapshot(records: records, decidedPairs: decided)
    }

    private struct ProfileRow: Decodable {
        let id: String
        let firstName: String?
        let lastName: String?
        let birthDate: String?
        let addressLine1: String?
        let postcode: String?
    }
}
