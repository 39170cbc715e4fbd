import Foundation
import Logging
import OmniaCore
import Prometheus

/// Everything a handler, worker or CLI command needs, built once and passed by value.
/// Clock and ID source are injected so tests can freeze time; the webhook transport so tests capture deliveries.
public struct AppServices: Sendable {
    public let config: AppConfig
    public let database: any Database
    public let logger: Logger
    public let ids: IDGenerator
    public let now: @Sendable () -> Date
    public let metrics: PrometheusCollectorRegistry
    let webhookTransport: any WebhookTransport
    let routeTable = RouteTable()
    /// Idempotency claims of this process's running requests (used on SQLite).
    let idempotencyKeys = InFlightIdempotencyKeys()
    let saleGroups = SaleGroupCommit()
    let redemptionGroups = RedemptionGroupCommit()
    let knownChannels = KnownChannels()
    let promotionCatalog = PromotionCatalog()
    /// Lookups of benefit codes (gift card balances, coupon validations, codes in checkouts) per API
    /// key and per client address; nil when unlimited.
    let codeLookups: RateLimiter?
    let codeLookupsByClient: RateLimiter?

    public init(
        config: AppConfig, database: any Database, logger: Logger,
        now: @escaping @Sendable () -> Date = Date.init,
        metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        webhookTransport: (any WebhookTransport)? = nil
    ) {
        self.config = config
        self.database = database
        self.logger = logger
        self.now = now
        self.ids = IDGenerator(now: now)
        self.metrics = metrics
        self.webhookTransport = webhookTransport ?? URLSessionWebhookTransport()
        self.codeLookups = config.codeLookupsPerMinute > 0
            ? RateLimiter(ratePerSecond: Double(config.codeLookupsPerMinute) / 60, burst: Double(config.codeLookupBurst)) : nil
        self.codeLookupsByClient = config.codeLookupsPerClientPerMinute > 0
            ? RateLimiter(ratePerSecond: Double(config.codeLookupsPerClientPerMinute) / 60, burst: Double(config.codeLookupClientBurst)) : nil
    }

    /// Takes one code lookup of `keyID`'s allowance and of the client address's (when known), or
    /// refuses with 429 `rate_limited`.
    func admitCodeLookup(_ keyID: String, client: String?) throws {
        try codeLookups?.admit(keyID, exceeded: "looked up more than \(config.codeLookupsPerMinute) codes a minute")
        if let client {
            try codeLookupsByClient?.admit(client, exceeded: "looked up more than \(config.codeLookupsPerClientPerMinute) codes a minute from this address")
        }
    }

    var events: EventLog { EventLog(ids: ids, now: now) }
    var audit: AuditLog { AuditLog(ids: ids, now: now) }
    var idempotency: IdempotencyStore {
        IdempotencyStore(database: database, inFlight: database.dialect == .sqlite ? idempotencyKeys : nil)
    }
    var platform: PlatformService { PlatformService(services: self) }
    var identity: IdentityService { IdentityService(services: self) }
    var transactions: TransactionService { TransactionService(services: self) }
    var nowMilliseconds: Int64 { Timestamp.milliseconds(now()) }
}
