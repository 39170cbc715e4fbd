import Foundation
import OmniaCore
import SQLKit

/// Who performs an action, for the audit log: an API key id, or `cli` for the command-line tool.
struct Actor: Sendable {
    let id: String
    let requestID: String?

    static let cli = Actor(id: "cli", requestID: nil)
}

/// Tenants, locations, channels and API keys: validation, storage, events and audit in one place,
/// shared by the API and the CLI. Methods taking `sql` run inside the caller's transaction.
struct PlatformService: Sendable {
    let services: AppServices

    // MARK: Tenants

    /// Creates a tenant and its first admin key (printed once by the CLI).
    func createTenant(name: String?, currency: String?, timezone: String?, country: String?) async throws -> (Tenant, CreatedAPIKey) {
        var validator = Validator()
        let name = validator.text(name, field: "name", maxLength: 120)
        let currency = validator.currency(currency, field: "currency")
        let timezone = validator.timeZone(timezone, field: "timezone")
        let country = validator.country(country, field: "country", required: false)
        guard validator.isValid, let name, let currency, let timezone else { throw Problem.validation(validator.errors) }
        let id = services.ids.make(.tenant)
        let now = services.nowMilliseconds
        return try await services.database.transaction { sql in
            try await sql.raw("""
                INSERT INTO tenants (id, name, default_currency, timezone, country, created_at)
                VALUES (\(bind: id), \(bind: name), \(bind: currency.code), \(bind: timezone), \(bind: country), \(bind: now))
                """).run()
            let tenant = Tenant(id: id, name: name, defaultCurrency: currency.code, timezone: timezone, country: country,
                                additionalCurrencies: nil, returnPolicy: nil, cartAbandonmentMinutes: nil,
                                createdAt: StoredTime(milliseconds: now))
            try await services.events.append(on: sql, tenantID: id, type: "tenant.created", data: tenant, requestID: nil)
            let key = try await insertAPIKey(on: sql, tenantID: id, name: "Admin key", scopes: [.admin], channelID: nil, locationID: nil, actor: .cli)
            return (tenant, key.created)
        }
    }

    func fetchTenant(_ id: String) async throws -> Tenant? {
        try await services.database.read { sql in
            try await sql.raw("SELECT * FROM tenants WHERE id = \(bind: id)").row(Tenant.self)
        }
    }

    func findTenant(named name: String) async throws -> Tenant? {
        try await services.database.read { sql in
            try await sql.raw("SELECT * FROM tenants WHERE name = \(bind: name) ORDER BY id LIMIT 1").row(Tenant.self)
        }
    }

    /// Changes what a tenant's admin may change of it: the currencies it accepts besides its
    /// default, and the return policy printed on receipts (null clears it).
    func updateTenant(on sql: any SQLDatabase, tenantID: String, _ request: UpdateTenantRequest, actor: Actor) async throws -> Tenant {
        guard let tenant = try await sql.raw("SELECT * FROM tenants WHERE id = \(bind: tenantID)").row(Tenant.self) else {
            throw PlatformError.tenantNotFound(tenantID)
        }
        var validator = Validator()
        var additional = tenant.additionalCurrencies?.words ?? []
        if let requested = request.additionalCurrencies {
            additional = []
            for (index, code) in requested.enumerated() {
                guard let currency = validator.currency(code, field: "additional_currencies[\(index)]") else { continue }
                if currency.code != tenant.defaultCurrency && !additional.contains(currency.code) { additional.append(currency.code) }
            }
            if requested.count > 20 { validator.fail("additional_currencies", "too_many", "at most 20 additional currencies") }
        }
        var policy = tenant.returnPolicy
        switch request.returnPolicy {
        case .unchanged: break
        case .clear: policy = nil
        case .set(let text): policy = validator.text(text, field: "return_policy", maxLength: 1_000)
        }
        let cartMinutes = request.cartAbandonmentMinutes ?? tenant.cartAbandonmentMinutes
        if let minutes = request.cartAbandonmentMinutes, !(5...10_080).contains(minutes) {
            validator.fail("cart_abandonment_minutes", "out_of_range", "cart_abandonment_minutes is from 5 to 10080 (a week)")
        }
        guard validator.isValid else { throw Problem.validation(validator.errors) }
        let words = StoredWords(additional.sorted())
        try await sql.raw("""
            UPDATE tenants SET additional_currencies = \(bind: words.stored), return_policy = \(bind: policy),
                cart_abandonment_minutes = \(bind: cartMinutes) WHERE id = \(bind: tenantID)
            """).run()
        let updated = Tenant(id: tenant.id, name: tenant.name, defaultCurrency: tenant.defaultCurrency, timezone: tenant.timezone,
                             country: tenant.country, additionalCurrencies: words, returnPolicy: policy, cartAbandonmentMinutes: cartMinutes,
                             createdAt: tenant.createdAt)
        try await services.events.append(on: sql, tenantID: tenantID, type: "tenant.updated", data: updated, requestID: actor.requestID)
        try await services.audit.record(on: sql, tenantID: tenantID, actor: actor.id, action: "tenant.update", targetType: "tenant",
                                        targetID: tenantID, details: ["additional_currencies": .array(words.words.map(JSONValue.string))],
                                        requestID: actor.requestID)
        return updated
    }

    // MARK: Locations

    func createLocation(on sql: any SQLDatabase, tenantID: String, tenantTimeZone: String, _ request: CreateLocationRequest, actor: Actor) async throws -> Location {
        var validator = Validator()
        let code = validator.code(request.code, field: "code")
        let name = validator.text(request.name, field: "name", maxLength: 120)
        let kind = validator.oneOf(request.kind, LocationKind.self, field: "kind")
        let line1 = validator.text(request.addressLine1, field: "address_line1", required: false)
        let line2 = validator.text(request.addressLine2, field: "address_line2", required: false)
        let city = validator.text(request.city, field: "city", required: false, maxLength: 100)
        let postcode = validator.text(request.postcode, field: "postcode", required: false, maxLength: 20)
        let region = validator.text(request.region, field: "region", required: false, maxLength: 100)
        let country = validator.country(request.country, field: "country")
        let timezone = request.timezone == nil ? tenantTimeZone : validator.timeZone(request.timezone, field: "timezone")
        guard validator.isValid, let code, let name, let kind, let country, let timezone else { throw Problem.validation(validator.errors) }

        let now = services.nowMilliseconds
        let location = Location(
            id: services.ids.make(.location), code: code, name: name, kind: kind.rawValue, addressLine1: line1, addressLine2: line2,
            city: city, postcode: postcode, region: region, country: country, timezone: timezone, createdAt: StoredTime(milliseconds: now)
        )
        try await sql.runDeferrable("""
            INSERT INTO locations (tenant_id, id, code, name, kind, address_line1, address_line2, city, postcode, region, country, timezone, created_at)
            VALUES (\(bind: tenantID), \(bind: location.id), \(bind: code), \(bind: name), \(bind: kind.rawValue), \(bind: line1), \(bind: line2),
                    \(bind: city), \(bind: postcode), \(bind: region), \(bind: country), \(bind: timezone), \(bind: now))
            """, ifDuplicate: DuplicateRule(table: "locations", error: PlatformError.codeTaken(kind: "location", code: code)))
        try await services.events.append(on: sql, tenantID: tenantID, type: "location.created", data: location, requestID: actor.requestID)
        try await services.audit.record(on: sql, tenantID: tenantID, actor: actor.id, action: "location.create", targetType: "location",
                                        targetID: location.id, details: ["code": .string(code)], requestID: actor.requestID)
        return location
    }

    // MARK: Channels

    func createChannel(on sql: any SQLDatabase, tenantID: String, _ request: CreateChannelRequest, actor: Actor) async throws -> Channel {
        var validator = Validator()
        let code = validator.code(request.code, field: "code")
        let name = validator.text(request.name, field: "name", maxLength: 120)
        let kind = validator.oneOf(request.kind, ChannelKind.self, field: "kind")
        if let locationID = request.locationId, try await !exists(on: sql, table: "locations", prefix: .location, tenantID: tenantID, id: locationID) {
            validator.fail("location_id", "unknown_location", "location_id does not name a location of this tenant")
        }
        guard validator.isValid, let code, let name, let kind else { throw Problem.validation(validator.errors) }

        let now = services.nowMilliseconds
        let channel = Channel(id: services.ids.make(.channel), code: code, name: name, kind: kind.rawValue,
                              locationId: request.locationId, createdAt: StoredTime(milliseconds: now))
        try await sql.runDeferrable("""
            INSERT INTO channels (tenant_id, id, code, name, kind, location_id, created_at)
            VALUES (\(bind: tenantID), \(bind: channel.id), \(bind: code), \(bind: name), \(bind: kind.rawValue),
                    \(bind: request.locationId), \(bind: now))
            """, ifDuplicate: DuplicateRule(table: "channels", error: PlatformError.codeTaken(kind: "channel", code: code)))
        try await services.events.append(on: sql, tenantID: tenantID, type: "channel.created", data: channel, requestID: actor.requestID)
        try await services.audit.record(on: sql, tenantID: tenantID, actor: actor.id, action: "channel.create", targetType: "channel",
                                        targetID: channel.id, details: ["code": .string(code)], requestID: actor.requestID)
        return channel
    }

    /// `resolveChannel` through the process's `KnownChannels`: for paths that never create a channel
    /// (sales, returns, journeys), which would otherwise read the same till's channel at every call.
    func knownChannel(on sql: any SQLDatabase, tenantID: String, _ reference: String) async throws -> Channel? {
        try await services.knownChannels.channel(reference, tenantID: tenantID) {
            try await resolveChannel(on: sql, tenantID: tenantID, reference)
        }
    }

    /// Finds a channel by its id or its code (the CLI, sales and journey events accept either): one
    /// index probe on the column the reference's shape suggests (it is on the path of every sale),
    /// and the code when something shaped like an id is not one.
    /// Channels are never changed or deleted, so the lookup is an independent read (`independentRows`).
    func resolveChannel(on sql: any SQLDatabase, tenantID: String, _ reference: String) async throws -> Channel? {
        if IDGenerator.isWellFormed(reference, prefix: .channel),
            let row = try await sql.independentRows("SELECT * FROM channels WHERE tenant_id = \(bind: tenantID) AND id = \(bind: reference)").first {
            return try RowDecoder.decode(Channel.self, from: row)
        }
        return try await sql.independentRows("SELECT * FROM channels WHERE tenant_id = \(bind: tenantID) AND code = \(bind: reference)").first
            .map { try RowDecoder.decode(Channel.self, from: $0) }
    }

    // MARK: API keys

    func createAPIKey(on sql: any SQLDatabase, tenantID: String, _ request: CreateAPIKeyRequest, actor: Actor) async throws -> Revealed<APIKey> {
        var validator = Validator()
        let name = validator.text(request.name, field: "name", maxLength: 120)
        var scopes: [Scope] = []
        if let requested = request.scopes, !requested.isEmpty {
            for (index, text) in requested.enumerated() {
                if let scope = validator.oneOf(text, Scope.self, field: "scopes[\(index)]") { scopes.append(scope) }
            }
        } else {
            validator.fail("scopes", "required", "scopes must list at least one scope")
        }
        if let channelID = request.channelId, try await !exists(on: sql, table: "channels", prefix: .channel, tenantID: tenantID, id: channelID) {
            validator.fail("channel_id", "unknown_channel", "channel_id does not name a channel of this tenant")
        }
        if let locationID = request.locationId, try await !exists(on: sql, table: "locations", prefix: .location, tenantID: tenantID, id: locationID) {
            validator.fail("location_id", "unknown_location", "location_id does not name a location of this tenant")
        }
        guard validator.isValid, let name else { throw Problem.validation(validator.errors) }
        return try await insertAPIKey(on: sql, tenantID: tenantID, name: name, scopes: Set(scopes), channelID: request.channelId,
                                      locationID: request.locationId, actor: actor)
    }

    private func insertAPIKey(on sql: any SQLDatabase, tenantID: String, name: String, scopes: Set<Scope>, channelID: String?,
                              locationID: String?, actor: Actor) async throws -> Revealed<APIKey> {
        let token = APIKeyToken.generate(tenantID: tenantID)
        let id = services.ids.make(.apiKey)
        let now = services.nowMilliseconds
        let key = APIKey(id: id, name: name, hint: token.hint, scopes: StoredWords(scopes.sorted().map(\.rawValue)), channelId: channelID,
                         locationId: locationID, createdAt: StoredTime(milliseconds: now), revokedAt: nil)
        try await sql.raw("""
            INSERT INTO api_keys (tenant_id, id, name, key_hash, hint, scopes, channel_id, location_id, created_at)
            VALUES (\(bind: tenantID), \(bind: id), \(bind: name), \(bind: token.hash), \(bind: token.hint),
                    \(bind: key.scopes.stored), \(bind: channelID), \(bind: locationID), \(bind: now))
            """).run()
        try await services.events.append(on: sql, tenantID: tenantID, type: "api_key.created", data: key, requestID: actor.requestID)
        try await services.audit.record(on: sql, tenantID: tenantID, actor: actor.id, action: "api_key.create", targetType: "api_key",
                                        targetID: id, details: ["scopes": .array(key.scopes.words.map(JSONValue.string))], requestID: actor.requestID)
        return Revealed(model: key, name: "key", secret: token.text)
    }

    /// Revokes a key for good; returns it as listed after revocation.
    func revokeAPIKey(on sql: any SQLDatabase, tenantID: String, keyID: String, actor: Actor) async throws -> APIKey {
        guard let key = try await sql.raw("SELECT * FROM api_keys WHERE tenant_id = \(bind: tenantID) AND id = \(bind: keyID)").row(APIKey.self) else {
            throw Problem.notFound("API key")
        }
        guard key.revokedAt == nil else { throw PlatformError.keyAlreadyRevoked }
        let now = services.nowMilliseconds
        try await sql.raw("UPDATE api_keys SET revoked_at = \(bind: now) WHERE tenant_id = \(bind: tenantID) AND id = \(bind: keyID)").run()
        let revoked = APIKey(id: key.id, name: key.name, hint: key.hint, scopes: key.scopes, channelId: key.channelId, locationId: key.locationId,
                             createdAt: key.createdAt, revokedAt: StoredTime(milliseconds: now))
        try await services.events.append(on: sql, tenantID: tenantID, type: "api_key.revoked", data: revoked, requestID: actor.requestID)
        try await services.audit.record(on: sql, tenantID: tenantID, actor: actor.id, action: "api_key.revoke", targetType: "api_key",
                                        targetID: keyID, requestID: actor.requestID)
        return revoked
    }

    /// Whether `id` names a row of this tenant; a malformed id cannot, and is not sent to SQL.
    func exists(on sql: any SQLDatabase, table: String, prefix: IDPrefix, tenantID: String, id: String) async throws -> Bool {
        guard IDGenerator.isWellFormed(id, prefix: prefix) else { return false }
        return try await sql.raw("SELECT 1 AS found FROM \(unsafeRaw: table) WHERE tenant_id = \(bind: tenantID) AND id = \(bind: id)").first() != nil
    }
}
