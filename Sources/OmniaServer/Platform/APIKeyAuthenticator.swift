import Foundation
import OmniaCore
import SQLKit
import Synchronization

/// Resolves a bearer token to its caller. Lookups are cached for a few seconds because every request
/// authenticates; revoking through this process drops the entry at once, and other processes sharing
/// PostgreSQL stop honouring a revoked key within `cacheTTL`.
final class APIKeyAuthenticator: Sendable {
    private struct Entry {
        let caller: Caller
        let expires: ContinuousClock.Instant
    }

    private let database: any Database
    private let cacheTTL: Duration
    private let cache = Mutex<[String: Entry]>([:])
    private static let cacheLimit = 10_000

    init(database: any Database, cacheTTL: Duration) {
        self.database = database
        self.cacheTTL = cacheTTL
    }

    /// The caller for a presented token, or nil when the token is malformed, unknown or revoked.
    /// The cache is keyed by the token text itself, so a hit costs no parsing and no hashing; it
    /// lives only in memory.
    func authenticate(presented text: String) async throws -> Caller? {
        let now = ContinuousClock.now
        if cacheTTL > .zero, let entry = cache.withLock({ $0[text] }), entry.expires > now {
            return entry.caller
        }
        guard let token = APIKeyToken(parsing: text) else { return nil }
        let hash = token.hash
        let row = try await database.read { sql in
            try await sql.raw("""
                SELECT k.id, k.scopes, k.channel_id, k.location_id, t.default_currency, t.timezone, t.country, t.identity_policy, t.additional_currencies
                FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
                WHERE k.tenant_id = \(bind: token.tenantID) AND k.key_hash = \(bind: hash) AND k.revoked_at IS NULL
                """).first(decoding: KeyRow.self)
        }
        guard let row else { return nil }
        let caller = Caller(
            tenantID: token.tenantID, keyID: row.id,
            scopes: Set(row.scopes.split(separator: " ").compactMap { Scope(rawValue: String($0)) }),
            channelID: row.channelId, locationID: row.locationId,
            tenantCurrency: row.defaultCurrency, tenantTimeZone: row.timezone,
            acceptedCurrencies: Set([row.defaultCurrency] + (row.additionalCurrencies?.split(separator: " ").map(String.init) ?? [])),
            identityPolicy: IdentityPolicy.stored(row.identityPolicy, tenantCountry: row.country)
        )
        if cacheTTL > .zero {
            cache.withLock { cache in
                if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
                cache[token.text] = Entry(caller: caller, expires: now + cacheTTL)
            }
        }
        return caller
    }

    /// Forgets every cached key of a tenant at once (after its identity policy changed).
    func invalidate(tenantID: String) {
        cache.withLock { cache in
            cache = cache.filter { $0.value.caller.tenantID != tenantID }
        }
    }

    /// Forgets a key at once (after revocation).
    func invalidate(keyID: String) {
        cache.withLock { cache in
            cache = cache.filter { $0.value.caller.keyID != keyID }
        }
    }

    private struct KeyRow: Decodable {
        let id: String
        let scopes: String
        let channelId: String?
        let locationId: String?
        let defaultCurrency: String
        let timezone: String
        let country: String?
        let identityPolicy: String?
        let additionalCurrencies: String?

        enum CodingKeys: String, CodingKey {
            case id, scopes, timezone, country
            case identityPolicy = "identity_policy"
            case additionalCurrencies = "additional_currencies"
            case channelId = "channel_id"
            case locationId = "location_id"
            case defaultCurrency = "default_currency"
        }
    }
}
