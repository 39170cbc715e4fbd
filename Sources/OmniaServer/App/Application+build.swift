import Foundation
import Hummingbird
import NIOCore
import NIOPosix
import Synchronization
import Logging
import ServiceLifecycle

/// The composition root, used by `omnia serve`, `omnia bench` and the tests alike.
public enum OmniaApplication {
    /// The API router with every middleware and controller.
    public static func buildRouter(_ services: AppServices) throws -> Router<OmniaRequestContext> {
        let router = Router(context: OmniaRequestContext.self)
        router.add(middleware: RequestIDMiddleware(ids: services.ids))
        router.add(middleware: AccessLogMiddleware())
        router.add(middleware: RequestMetricsMiddleware())
        router.add(middleware: ProblemMiddleware(routes: services.routeTable))
        router.add(middleware: BodyLimitMiddleware(config: services.config))

        OperationsController(services: services, openAPI: try openAPIDocument()).addRoutes(to: router, table: services.routeTable)
        ReceiptController(services: services).addRoutes(to: router, table: services.routeTable)
        WalletController(services: services).addPublicRoutes(to: router, table: services.routeTable)

        let authenticator = APIKeyAuthenticator(database: services.database, cacheTTL: services.config.authCacheTTL)
        let rateLimiter = services.config.rateLimitPerSecond > 0
            ? RateLimiter(ratePerSecond: Double(services.config.rateLimitPerSecond), burst: Double(services.config.rateLimitBurst)) : nil
        let v1 = router.group("v1")
            .add(middleware: AuthMiddleware(authenticator: authenticator, rateLimiter: rateLimiter))
            .add(middleware: IdempotencyMiddleware(store: services.idempotency, config: services.config, now: services.now,
                                                   handlerClaimedPaths: [TransactionController.singleSalePath, CheckoutHoldController.redemptionsPath]))
        let routes = Routes(group: v1, table: services.routeTable, basePath: "/v1")
        TenantController(services: services, authenticator: authenticator).addRoutes(to: routes)
        LocationController(services: services).addRoutes(to: routes)
        ChannelController(services: services).addRoutes(to: routes)
        APIKeyController(services: services, authenticator: authenticator).addRoutes(to: routes)
        EventController(services: services).addRoutes(to: routes)
        WebhookEndpointController(services: services).addRoutes(to: routes)
        AuditLogController(services: services).addRoutes(to: routes)
        CustomerController(services: services).addRoutes(to: routes)
        IdentityController(services: services, authenticator: authenticator).addRoutes(to: routes)
        TransactionController(services: services).addRoutes(to: routes)
        CustomerOverviewController(services: services).addRoutes(to: routes)
        JourneyController(services: services).addRoutes(to: routes)
        MatchController(services: services).addRoutes(to: routes)
        GiftCardController(services: services).addRoutes(to: routes)
        CheckoutHoldController(services: services).addRoutes(to: routes)
        WalletController(services: services).addRoutes(to: routes)
        CouponController(services: services).addRoutes(to: routes)
        LoyaltyController(services: services).addRoutes(to: routes)
        PromotionController(services: services).addRoutes(to: routes)
        CampaignController(services: services).addRoutes(to: routes)
        SegmentController(services: services).addRoutes(to: routes)
        ProfileController(services: services).addRoutes(to: routes)
        AnalyticsController(services: services).addRoutes(to: routes)
        JourneyAnalyticsController(services: services).addRoutes(to: routes)
        RecommendationController(services: services).addRoutes(to: routes)
        ConsentService(services: services).addRoutes(to: routes)
        return router
    }

    /// The HTTP server plus the background workers, shut down gracefully on SIGINT/SIGTERM.
    public static func buildApplication(
        _ services: AppServices, background: [any Service] = [],
        onServerRunning: @escaping @Sendable (any NIOCore.Channel) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        var workers: [any Service] = background
        if services.config.runWorkers {
            workers.append(WebhookWorker(services: services))
            workers.append(HousekeepingService(services: services))
            workers.append(CartAbandonmentWorker(services: services))
            workers.append(MatchJobWorker(services: services))
            workers.append(HoldExpiryWorker(services: services))
            workers.append(LoyaltySweepWorker(services: services))
            workers.append(CampaignWorker(services: services))
            workers.append(SegmentWorker(services: services))
            workers.append(AnalyticsWorker(services: services))
        }
        return Application(
            router: try buildRouter(services),
            configuration: .init(address: .hostname(services.config.host, port: services.config.port), serverName: "Omnia"),
            services: workers,
            onServerRunning: onServerRunning,
            eventLoopGroupProvider: .shared(ioThreadGroup(threads: services.config.ioThreads)),
            logger: services.logger
        )
    }

    /// One event-loop group per thread count for the life of the process (tests start many servers).
    static func ioThreadGroup(threads: Int) -> MultiThreadedEventLoopGroup {
        ioThreadGroups.withLock { groups in
            if let group = groups[threads] { return group }
            let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
            groups[threads] = group
            return group
        }
    }

    private static let ioThreadGroups = Mutex<[Int: MultiThreadedEventLoopGroup]>([:])

    /// The API contract served at `/openapi.yaml`, loaded once at start so a missing file fails at start.
    static func openAPIDocument() throws -> ByteBuffer {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml") else {
            throw ConfigurationError(setting: "openapi.yaml", reason: "the API contract is missing from the build")
        }
        return ByteBuffer(bytes: try Data(contentsOf: url))
    }
}
