import Foundation
import Logging

/// Every setting of the server in one place: flag > environment variable > default.
/// A bad value fails at start with the setting's name.
public struct AppConfig: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var database = DatabaseURL.defaultURL
    /// Create the demo tenant at start and print its key.
    public var demo = false
    public var logLevel = Logger.Level.info
    /// Requests per second per API key (0 turns the limit off), and the burst above it.
    public var rateLimitPerSecond = 1_000
    public var rateLimitBurst = 2_000
    /// Gift card lookups by code per minute per API key (0 turns the limit off), and the burst
    /// above it: far below the general limit, so codes cannot be harvested through one key.
    public var codeLookupsPerMinute = 300
    public var codeLookupBurst = 50
    /// The same per client address, whatever the key (0 turns it off): many keys in one attacker's
    /// hands still share one allowance. Above the per-key one, as a store's tills share an address.
    public var codeLookupsPerClientPerMinute = 1_200
    public var codeLookupClientBurst = 200
    /// Largest request body accepted.
    public var maxBodyBytes = 1 << 20
    /// Largest body of a bulk endpoint (`…/bulk`: up to 10,000 NDJSON records).
    public var maxBulkBodyBytes = 32 << 20

    /// The body limit of a request path: bulk endpoints take far larger bodies than the rest.
    func bodyLimit(path: String) -> Int { path.hasSuffix("/bulk") ? max(maxBodyBytes, maxBulkBodyBytes) : maxBodyBytes }
    /// How long a resolved API key is trusted without a database lookup.
    public var authCacheTTL = Duration.seconds(5)
    /// How long `Idempotency-Key`s are kept.
    public var idempotencyRetention = Duration.seconds(24 * 3600)
    public var postgresPoolSize = 20
    /// Run the webhook delivery and housekeeping workers in this process.
    public var runWorkers = true
    public var webhookPollInterval = Duration.milliseconds(500)
    /// How often each tenant's dynamic segments are computed again in full, so that they follow
    /// profiles as sales land and days pass (a new or changed segment is computed within seconds).
    public var segmentRefreshInterval = Duration.seconds(60)
    /// Threads that read and write sockets. Handlers run on Swift's task pool (one thread per core),
    /// so half the cores leaves CPU to the handlers: on 2 cores, 1 I/O thread served `GET /v1/channels`
    /// about 4 % faster with a lower p99 than 2.
    public var ioThreads = max(1, ProcessInfo.processInfo.activeProcessorCount / 2)
    /// The secret gift card PINs are hashed with (HMAC-SHA256), kept outside the database: a copy of
    /// the database alone then cannot be searched for PINs (a PIN has at most 10^8 values). Every
    /// server of a deployment needs the same one. Without it PINs are hashed as before, salted by
    /// the card's id only, and the server warns at start.
    public var pinPepper: String?

    public init() {}

    /// Applies `OMNIA_*` environment variables over the defaults; flags are applied by the caller after.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> AppConfig {
        var config = AppConfig()
        if let value = environment["OMNIA_HOST"] { config.host = value }
        if let value = environment["OMNIA_PORT"] { config.port = try integer(value, "OMNIA_PORT", 0...65535) }
        if let value = environment["OMNIA_DATABASE_URL"] { config.database = try DatabaseURL(parsing: value) }
        if let value = environment["OMNIA_LOG_LEVEL"] { config.logLevel = try logLevel(value, "OMNIA_LOG_LEVEL") }
        if let value = environment["OMNIA_RATE_LIMIT"] { config.rateLimitPerSecond = try integer(value, "OMNIA_RATE_LIMIT", 0...1_000_000) }
        if let value = environment["OMNIA_RATE_LIMIT_BURST"] { config.rateLimitBurst = try integer(value, "OMNIA_RATE_LIMIT_BURST", 1...10_000_000) }
        if let value = environment["OMNIA_CODE_LOOKUPS_PER_MINUTE"] {
            config.codeLookupsPerMinute = try integer(value, "OMNIA_CODE_LOOKUPS_PER_MINUTE", 0...1_000_000)
        }
        if let value = environment["OMNIA_CODE_LOOKUPS_PER_CLIENT_PER_MINUTE"] {
            config.codeLookupsPerClientPerMinute = try integer(value, "OMNIA_CODE_LOOKUPS_PER_CLIENT_PER_MINUTE", 0...1_000_000)
        }
        if let value = environment["OMNIA_MAX_BODY_BYTES"] { config.maxBodyBytes = try integer(value, "OMNIA_MAX_BODY_BYTES", 1024...(256 << 20)) }
        if let value = environment["OMNIA_AUTH_CACHE_SECONDS"] {
            config.authCacheTTL = .seconds(try integer(value, "OMNIA_AUTH_CACHE_SECONDS", 0...300))
        }
        if let value = environment["OMNIA_POSTGRES_POOL_SIZE"] { config.postgresPoolSize = try integer(value, "OMNIA_POSTGRES_POOL_SIZE", 1...500) }
        if let value = environment["OMNIA_WORKERS"] { config.runWorkers = try boolean(value, "OMNIA_WORKERS") }
        if let value = environment["OMNIA_SEGMENT_REFRESH_SECONDS"] {
            config.segmentRefreshInterval = .seconds(try integer(value, "OMNIA_SEGMENT_REFRESH_SECONDS", 5...86_400))
        }
        if let value = environment["OMNIA_IO_THREADS"] { config.ioThreads = try integer(value, "OMNIA_IO_THREADS", 1...256) }
        if let value = environment["OMNIA_PIN_PEPPER"] {
            guard value.utf8.count >= 32 else {
                throw ConfigurationError(setting: "OMNIA_PIN_PEPPER", reason: "must be a secret of at least 32 characters (e.g. `openssl rand -hex 32`)")
            }
            config.pinPepper = value
        }
        return config
    }

    static func integer(_ text: String, _ setting: String, _ range: ClosedRange<Int>) throws -> Int {
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError(setting: setting, reason: "'\(text)' is not an integer in \(range.lowerBound)…\(range.upperBound)")
        }
        return value
    }

    static func boolean(_ text: String, _ setting: String) throws -> Bool {
        switch text.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ConfigurationError(setting: setting, reason: "'\(text)' is not true or false")
        }
    }

    public static func logLevel(_ text: String, _ setting: String) throws -> Logger.Level {
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            throw ConfigurationError(setting: setting, reason: "'\(text)' is not one of trace, debug, info, notice, warning, error, critical")
        }
        return level
    }
}
