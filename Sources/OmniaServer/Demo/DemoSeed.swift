import Foundation
import OmniaCore
import SQLKit

/// The demo tenant "Moda Iberia": a fashion chain with stores in Madrid and Barcelona, a web shop,
/// an app and a call centre. Creating it again changes nothing but the demo key, which is reissued
/// each time (keys are stored only as hashes, so the old one cannot be shown again) and the old one revoked.
public enum DemoSeed {
    public static let tenantName = "Moda Iberia"
    static let keyName = "Demo admin key"

    public struct Result: Sendable {
        public let tenantID: String
        public let adminKey: String
    }

    /// Seeds the demo under `tenantName` (the benchmark seeds copies under other names).
    public static func run(_ services: AppServices, tenantName: String = DemoSeed.tenantName) async throws -> Result {
        let platform = services.platform
        let tenantID: String
        if let existing = try await platform.findTenant(named: tenantName) {
            tenantID = existing.id
        } else {
            tenantID = try await platform.createTenant(name: tenantName, currency: "EUR", timezone: "Europe/Madrid", country: "ES").0.id
        }
        return try await services.database.transaction { sql in
            let locations: [CreateLocationRequest] = [
                .init(code: "madrid-gran-via", name: "Moda Iberia Gran Vía", kind: "store", addressLine1: "Gran Vía 32", city: "Madrid",
                      postcode: "28013", region: "Madrid", country: "ES", timezone: "Europe/Madrid"),
                .init(code: "barcelona-passeig-de-gracia", name: "Moda Iberia Passeig de Gràcia", kind: "store",
                      addressLine1: "Passeig de Gràcia 55", city: "Barcelona", postcode: "08007", region: "Cataluña", country: "ES",
                      timezone: "Europe/Madrid"),
                .init(code: "warehouse-getafe", name: "Central warehouse Getafe", kind: "warehouse", addressLine1: "Calle de la Confianza 2",
                      city: "Getafe", postcode: "28903", region: "Madrid", country: "ES", timezone: "Europe/Madrid"),
            ]
            var locationIDs: [String: String] = [:]
            for location in locations {
                let code = location.code ?? ""
                if let existing = try await sql.raw("SELECT id FROM locations WHERE tenant_id = \(bind: tenantID) AND code = \(bind: code)")
                    .first(decodingColumn: "id", as: String.self) {
                    locationIDs[code] = existing
                } else {
                    locationIDs[code] = try await platform.createLocation(on: sql, tenantID: tenantID, tenantTimeZone: "Europe/Madrid", location, actor: .cli).id
                }
            }
            let channels: [CreateChannelRequest] = [
                .init(code: "store-madrid-01", name: "Madrid Gran Vía store", kind: "store", locationId: locationIDs["madrid-gran-via"]),
                .init(code: "store-barcelona-01", name: "Barcelona Passeig de Gràcia store", kind: "store",
                      locationId: locationIDs["barcelona-passeig-de-gracia"]),
                .init(code: "web", name: "modaiberia.example web shop", kind: "web"),
                .init(code: "app", name: "Moda Iberia app", kind: "app"),
                .init(code: "call-center", name: "Customer service centre", kind: "call_center"),
            ]
            for channel in channels where try await platform.resolveChannel(on: sql, tenantID: tenantID, channel.code ?? "") == nil {
                _ = try await platform.createChannel(on: sql, tenantID: tenantID, channel, actor: .cli)
            }
            let oldKeys = try await sql.raw("""
                SELECT id FROM api_keys WHERE tenant_id = \(bind: tenantID) AND name = \(bind: keyName) AND revoked_at IS NULL
                """).all(decodingColumn: "id", as: String.self)
            for keyID in oldKeys {
                _ = try await platform.revokeAPIKey(on: sql, tenantID: tenantID, keyID: keyID, actor: .cli)
            }
            let key = try await platform.createAPIKey(on: sql, tenantID: tenantID, CreateAPIKeyRequest(name: keyName, scopes: ["admin"]), actor: .cli)
            return Result(tenantID: tenantID, adminKey: key.secret)
        }
    }
}
