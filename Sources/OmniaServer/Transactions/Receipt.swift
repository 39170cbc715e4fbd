import OmniaCore
import SQLKit

/// A digital receipt: the transaction with what a printed receipt shows around it — the chain, the
/// store or channel, the return policy and, on an unclaimed anonymous sale, the claim code as a QR.
struct Receipt: Encodable, Sendable {
    struct Place: Codable, Sendable {
        let name: String
        let addressLine1: String?
        let city: String?
        let postcode: String?
        let country: String
    }

    struct ChannelSummary: Codable, Sendable {
        let code: String
        let name: String
        let kind: String
    }

    let receiptToken: String
    let tenantName: String
    let returnPolicy: String?
    let channel: ChannelSummary
    let store: Place?
    let transaction: SalesTransaction
    /// The claim code drawn as a QR code (SVG), while the sale is anonymous and unclaimed.
    let claimQrSvg: String?

    /// The receipt behind a token, or nil — tokens of another tenant or malformed ones find nothing.
    static func load(on sql: any SQLDatabase, token: String) async throws -> Receipt? {
        guard let tenantID = ReceiptToken.tenantID(of: token) else { return nil }
        let store = TransactionStore(tenantID: tenantID)
        guard let row = try await store.row(on: sql, receiptToken: token) else { return nil }
        let transaction = try await store.views(on: sql, [row])[0]
        guard let tenant = try await sql.raw("SELECT name, return_policy FROM tenants WHERE id = \(bind: tenantID)").first(),
            let channel = try await sql.raw("""
                SELECT code, name, kind FROM channels WHERE tenant_id = \(bind: tenantID) AND id = \(bind: row.channelId)
                """).row(ChannelSummary.self)
        else { return nil }
        var place: Place?
        if let locationID = row.locationId {
            place = try await sql.raw("""
                SELECT name, address_line1, city, postcode, country FROM locations WHERE tenant_id = \(bind: tenantID) AND id = \(bind: locationID)
                """).row(Place.self)
        }
        return Receipt(receiptToken: token, tenantName: try tenant.decode(column: "name", as: String.self),
                       returnPolicy: try tenant.decode(column: "return_policy", as: String?.self), channel: channel, store: place,
                       transaction: transaction.forPublicReceipt(), claimQrSvg: transaction.claimCode.flatMap { QRCode($0)?.svg() })
    }
}
