import Hummingbird
import Logging
import OmniaCore

/// Per-request state shared between middleware and handlers.
public struct OmniaRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The `X-Request-Id` of this request: the client's, or one we generated.
    public var requestID: String = ""
    /// Who is calling; set by the authentication middleware on every `/v1` route.
    public var caller: Caller?
    /// The `Idempotency-Key` claim of a POST, completed in the same transaction as its effect.
    var idempotencyClaim: IdempotencyClaim?
    /// The `Idempotency-Key` of a POST whose handler claims it itself (see `IdempotencyMiddleware`).
    var unclaimedIdempotencyKey: IdempotentRequest?

    /// The address of the connection's peer (no port), for limits per client; nil where there is none (in-process tests).
    public var clientAddress: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.clientAddress = source.channel.remoteAddress?.ipAddress
    }

    /// The authenticated caller; every `/v1` handler runs behind the auth middleware, so this never fails there.
    public func requireCaller() throws -> Caller {
        guard let caller else { throw Problem(.unauthorized, code: "unauthenticated", detail: "an API key is required") }
        return caller
    }
}

/// The tenant and key behind a request. A class, because the request context is copied through
/// every middleware: one reference to retain instead of seven fields.
public final class Caller: Sendable {
    public let tenantID: String
    public let keyID: String
    public let scopes: Set<Scope>
    /// A key bound to a channel or location stamps them on everything it writes.
    public let channelID: String?
    public let locationID: String?
    public let tenantCurrency: String
    public let tenantTimeZone: String
    /// The currencies the tenant takes payment in: its default currency and any others it accepts.
    public let acceptedCurrencies: Set<String>
    /// The tenant's identifier rules, read with the key (and cached with it).
    public let identityPolicy: IdentityPolicy

    init(tenantID: String, keyID: String, scopes: Set<Scope>, channelID: String?, locationID: String?,
         tenantCurrency: String, tenantTimeZone: String, acceptedCurrencies: Set<String>, identityPolicy: IdentityPolicy) {
        self.tenantID = tenantID
        self.keyID = keyID
        self.scopes = scopes
        self.channelID = channelID
        self.locationID = locationID
        self.tenantCurrency = tenantCurrency
        self.tenantTimeZone = tenantTimeZone
        self.acceptedCurrencies = acceptedCurrencies
        self.identityPolicy = identityPolicy
    }
}
