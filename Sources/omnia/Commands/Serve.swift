import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import OmniaCore
import OmniaServer
import Prometheus
import ServiceLifecycle

/// `omnia serve`: migrate, optionally seed the demo, and serve the API until SIGINT/SIGTERM,
/// finishing in-flight requests before exiting.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the API server (migrates the database first).")

    @Option(help: "Address to listen on. Env: OMNIA_HOST.") var host: String?
    @Option(help: "Port to listen on (0 picks a free one). Env: OMNIA_PORT.") var port: Int?
    @OptionGroup var databaseOptions: DatabaseOptions
    @Flag(help: "Create the demo tenant 'Moda Iberia' (idempotent) and print a fresh demo admin key.") var demo = false
    @Option(help: "Sales the demo's history holds (seeded in the background on first start; 0 for none).")
    var demoTransactions = DemoHistory.defaultTransactions
    @Option(help: "trace, debug, info, notice, warning, error. Env: OMNIA_LOG_LEVEL.") var logLevel: String?
    @Option(help: "Requests per second per API key, 0 for no limit. Env: OMNIA_RATE_LIMIT.") var rateLimit: Int?
    @Flag(help: "Do not run the webhook and housekeeping workers in this process. Env: OMNIA_WORKERS=false.") var noWorkers = false

    func run() async throws {
        try await runReportingErrors {
            var config = try AppConfig.fromEnvironment()
            if let host { config.host = host }
            if let port {
                guard (0...65535).contains(port) else { throw ConfigurationError(setting: "port", reason: "\(port) is not in 0…65535") }
                config.port = port
            }
            if databaseOptions.database != nil { config.database = try databaseOptions.url() }
            if let logLevel { config.logLevel = try AppConfig.logLevel(logLevel, "log-level") }
            if let rateLimit {
                guard rateLimit >= 0 else { throw ConfigurationError(setting: "rate-limit", reason: "must be 0 or more") }
                config.rateLimitPerSecond = rateLimit
            }
            if noWorkers { config.runWorkers = false }
            config.demo = demo
            guard demoTransactions >= 0 else { throw ConfigurationError(setting: "demo-transactions", reason: "must be 0 or more") }
            try await serve(config)
        }
    }

    private func serve(_ config: AppConfig) async throws {
        let level = config.logLevel
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        var logger = Logger(label: "omnia")
        logger.logLevel = level

        let database = try await DatabaseFactory.open(config.database, postgresPoolSize: config.postgresPoolSize, logger: logger)
        let services = AppServices(config: config, database: database, logger: logger, metrics: registry)
        if config.pinPepper == nil {
            logger.warning("OMNIA_PIN_PEPPER is not set: gift card PINs are hashed without a secret kept outside the database")
        }
        do {
            let demoResult = config.demo ? try await DemoSeed.run(services) : nil
            // The demo's history fills in the background, so the server answers at once.
            let background: [any Service] = demoResult.map { demo in
                demoTransactions > 0 ? [DemoHistoryService(services: services, tenantID: demo.tenantID, transactions: demoTransactions)] : []
            } ?? []
            let app = try OmniaApplication.buildApplication(services, background: background) { channel in
                let port = channel.localAddress?.port ?? config.port
                var banner = "Omnia \(OmniaVersion.current) is listening on http://\(config.host):\(port) (database \(config.database))\n"
                banner += "  API contract: http://\(config.host):\(port)/openapi.yaml   health: http://\(config.host):\(port)/healthz\n"
                if let demoResult {
                    banner += "  Demo tenant '\(DemoSeed.tenantName)' (\(demoResult.tenantID)); demo admin key (shown once):\n"
                    banner += "    \(demoResult.adminKey)\n"
                    banner += "  Try: curl -H 'Authorization: Bearer \(demoResult.adminKey)' http://\(config.host):\(port)/v1/channels\n"
                    if demoTransactions > 0 {
                        banner += "  The demo's history (\(demoTransactions) sales over 18 months) fills in the background on first start.\n"
                    }
                }
                FileHandle.standardOutput.write(Data(banner.utf8))
            }
            try await app.runService()
            await database.shutdown()
        } catch {
            await database.shutdown()
            throw error
        }
    }
}

/// `omnia migrate`: bring the schema up to date and say what was applied.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending database migrations.")
    @OptionGroup var databaseOptions: DatabaseOptions

    func run() async throws {
        try await runReportingErrors {
            let url = try databaseOptions.url()
            let logger = commandLogger()
            try await DatabaseFactory.with(url, logger: logger) { _ in }
            print("database \(url) is at schema version \(Migrator.latestVersion)")
        }
    }
}
