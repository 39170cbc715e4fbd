import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import OmniaCore
import OmniaServer
import Synchronization

/// `omnia bench`: starts `omnia serve` on loopback (or targets `--url`), drives it with N concurrent
/// keep-alive clients for a duration, prints p50/p95/p99/max and throughput, and writes JSON.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the server: latency percentiles and throughput per scenario (use a release build).",
        discussion: "Scenarios: \(BenchScenario.allCases.map(\.rawValue).joined(separator: ", ")), or all."
    )

    @Option(help: "Scenario to run, or 'all'.") var scenario = "all"
    @Option(help: "Concurrent keep-alive connections.") var connections = 32
    @Option(help: "Seconds to measure each scenario (after a 1 s warm-up).") var duration = 10.0
    @Option(help: "Database for the server: sqlite:PATH (default: a new temporary file) or postgres://…") var database: String?
    @Option(help: "Benchmark an already running server at this base URL instead of starting one.") var url: String?
    @Option(help: "Admin API key for --url.") var key: String?
    @Option(help: "Folder for the JSON results.") var output = "bench-results"
    @Option(help: "Transactions in the file of import.transactions.") var records = 100_000
    @Option(help: "omnia serve processes sharing the database (PostgreSQL), connections spread over them.") var servers = 1
    @Option(help: "Requests per second offered in all (an open loop, latencies from when each was due); default: each connection sends as soon as answered.")
    var rate: Double?
    @Option(help: "Write the measured phase as a CSV of 100 ms windows (responses, p50, p99, max) to this file: shows whether a tail is spread out or stalls.")
    var timeline: String?
    @Option(help: "promotions.evaluate, checkout.commit: active promotions of the tenant.") var promotions = 200
    @Option(help: "analytics, recommendations: customers of the synthetic chain (about ten sales each over its 200 days).")
    var customers = AnalyticsMeasurement.customers
    @Flag(help: "transactions.create: leave out the loyalty programme its tenant otherwise runs (sales then earn nothing).")
    var withoutLoyalty = false

    func run() async throws {
        try await runReportingErrors {
            let scenarios: [BenchScenario] = scenario == "all" ? BenchScenario.allCases : try [parseScenario()]
            guard connections > 0, duration > 0, servers > 0, (rate ?? 1) > 0 else {
                throw ConfigurationError(setting: "connections/duration/servers", reason: "must be positive")
            }
            let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("omnia-bench-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: temporary) }
            let databaseURL = try database.map(DatabaseURL.init(parsing:)) ?? .sqlite(path: temporary.appendingPathComponent("bench.sqlite").path)

            print(BenchResult.header)
            var results: [BenchResult] = []
            for scenario in scenarios {
                let result = try await run(scenario, database: databaseURL, temporary: temporary)
                print(result.row)
                if let offered = result.offeredRate { print(String(format: "  offered %.0f requests/s in an open loop; latencies count from when each was due", offered)) }
                if let books = result.books { print("  books: \(books)") }
                results.append(result)
            }
            try write(results)
        }
    }

    private func parseScenario() throws -> BenchScenario {
        guard let parsed = BenchScenario(rawValue: scenario) else {
            throw ConfigurationError(setting: "scenario", reason: "'\(scenario)' is not one of \(BenchScenario.allCases.map(\.rawValue).joined(separator: ", ")), all")
        }
        return parsed
    }

    private func run(_ scenario: BenchScenario, database: DatabaseURL, temporary: URL) async throws -> BenchResult {
        let label = database.description.hasPrefix("postgres") ? "postgres" : "sqlite"
        if scenario == .startup {
            return try await StartupMeasurement.run(databaseLabel: label, folder: temporary)
        }
        if scenario == .identityMatch {
            return try await MatchMeasurement.run(database: database, databaseLabel: label)
        }
        if scenario == .couponsGenerate {
            return try await CouponMeasurement.run(database: database, databaseLabel: label)
        }
        if scenario == .campaignsAudience {
            return try await CampaignMeasurement.run(database: database, databaseLabel: label)
        }
        if scenario == .analytics {
            return try await AnalyticsMeasurement.run(database: database, databaseLabel: label, childDatabase: databaseDescriptionForChild(database),
                                                      folder: temporary, customers: customers)
        }
        if scenario == .importTransactions {
            return try await ImportMeasurement.run(database: database, databaseLabel: label, folder: temporary, records: records)
        }
        if let url {
            guard let key, let components = URLComponents(string: url), let host = components.host, let port = components.port else {
                throw ConfigurationError(setting: "url", reason: "give --url http://HOST:PORT and --key")
            }
            return try await drive(scenario, host: host, ports: [port], key: key, databaseLabel: "external", context: BenchContext())
        }
        // A fresh tenant per run with the demo's locations and channels, created before the server starts.
        let (admin, context) = try await DatabaseFactory.with(database, logger: commandLogger()) { store in
            let services = AppServices(config: AppConfig(), database: store, logger: commandLogger())
            let seeded = try await DemoSeed.run(services, tenantName: "Bench \(UUID().uuidString.prefix(8))")
            let started = Date()
            var context = BenchContext()
            switch scenario {
            case .identify:
                try await BenchSeed.customers(services, tenantID: seeded.tenantID, count: BenchScenario.identifyCustomers)
                print("seeded \(BenchScenario.identifyCustomers) customers with \(2 * BenchScenario.identifyCustomers) identifiers in "
                      + String(format: "%.1f s", Date().timeIntervalSince(started)))
            case .transactionsCreate:
                try await BenchSeed.customers(services, tenantID: seeded.tenantID, count: BenchScenario.salesCustomers)
                // Known customers' sales earn points, as in a retailer with a loyalty programme.
                if !withoutLoyalty { try await BenchSeed.loyaltyProgramme(services, tenantID: seeded.tenantID) }
                // A retailer with a history, as in production: the tables hold the tenant's earlier
                // sales and the planner's statistics know them (`omnia import` analyzes after loading).
                let history = temporary.appendingPathComponent("history.ndjson").path
                try ImportMeasurement.writeFile(history, records: BenchScenario.salesHistory)
                let report = try await OperatorTools(services: services).importFile(.transactions, path: history, format: .ndjson,
                                                                                    tenant: seeded.tenantID, atomic: false) { _ in }
                print("seeded \(report.created) earlier sales in " + String(format: "%.1f s", Date().timeIntervalSince(started)))
            case .customerOverview:
                context.customerID = try await BenchSeed.customerWithSales(services, tenantID: seeded.tenantID, count: BenchScenario.overviewSales)
                print("seeded a customer with \(BenchScenario.overviewSales) sales in " + String(format: "%.1f s", Date().timeIntervalSince(started)))
            case .redemptionsPoints:
                let member = try await BenchSeed.pointsMember(services, tenantID: seeded.tenantID, points: scenario.seededCards.amount)
                (context.customerID, context.cardIDs) = (member.customerID, [member.accountID])
                print("seeded a member with \(scenario.seededCards.amount) points in " + String(format: "%.1f s", Date().timeIntervalSince(started)))
            case .redemptions, .redemptionsHot, .redemptionsContended:
                let (count, amount) = scenario.seededCards
                context.cardIDs = try await BenchSeed.giftCards(services, tenantID: seeded.tenantID, count: count, amount: amount)
                print("seeded \(count) gift cards of \(amount) cents in " + String(format: "%.1f s", Date().timeIntervalSince(started)))
            case .couponsValidate:
                let campaignID = try await BenchSeed.couponCampaign(services, tenantID: seeded.tenantID, codes: BenchScenario.validatedCodes)
                context.codes = try await BenchSeed.couponCodes(services, tenantID: seeded.tenantID, campaignID: campaignID, limit: BenchScenario.validatedCodes)
                print("seeded \(BenchScenario.validatedCodes) coupon codes in " + String(format: "%.1f s", Date().timeIntervalSince(started)))
            case .promotionsEvaluate:
                context.customerID = try await BenchSeed.customerWithSales(services, tenantID: seeded.tenantID, count: BenchScenario.evaluatedCustomerSales)
                try await BenchSeed.promotions(services, tenantID: seeded.tenantID, count: promotions)
                print("seeded a customer with \(BenchScenario.evaluatedCustomerSales) sales and \(promotions) active promotions in "
                      + String(format: "%.1f s", Date().timeIntervalSince(started)))
            case .checkoutCommit:
                try await BenchSeed.customers(services, tenantID: seeded.tenantID, count: BenchScenario.salesCustomers)
                context.customerIDs = try await BenchSeed.customerIDs(services, tenantID: seeded.tenantID, limit: BenchScenario.salesCustomers)
                try await BenchSeed.loyaltyProgramme(services, tenantID: seeded.tenantID)
                try await BenchSeed.promotions(services, tenantID: seeded.tenantID, count: promotions)
                context.promotionID = try await BenchSeed.budgetedPromotion(services, tenantID: seeded.tenantID)
                print("seeded \(BenchScenario.salesCustomers) customers, a loyalty programme and \(promotions + 1) active promotions (one with a budget) in "
                      + String(format: "%.1f s", Date().timeIntervalSince(started)))
            case .recommendations:
                let data = try await AnalyticsBench.seed(services, tenantID: seeded.tenantID, customers: customers,
                                                         days: AnalyticsMeasurement.days, folder: temporary)
                let lines = try await AnalyticsBench.runDailyJobs(services, tenantID: seeded.tenantID)
                context.customerIDs = try await BenchSeed.customerIDs(services, tenantID: seeded.tenantID, limit: 20_000)
                print("seeded \(data.customers) customers and \(data.transactions) sales, ran RFM and lifetime value, and built the model from \(lines) lines in "
                      + String(format: "%.1f s", Date().timeIntervalSince(started)))
            case .wallet:
                context.customerID = try await BenchSeed.walletCustomer(services, tenantID: seeded.tenantID, cards: 39, coupons: 9)
                print("seeded a customer with 39 gift cards, store credit, 9 coupons and points in " + String(format: "%.1f s", Date().timeIntervalSince(started)))
            default:
                break
            }
            context.tenantID = seeded.tenantID
            return (seeded.adminKey, context)
        }
        guard servers == 1 || label == "postgres" else { throw ConfigurationError(setting: "servers", reason: "several servers share a PostgreSQL database") }
        let processes = try (0..<servers).map { _ in
            // Code lookups are limited per key (300 a minute) like every request is per key; the bench sends them all under one.
            try ServerProcess(arguments: ["--database", databaseDescriptionForChild(database), "--rate-limit", "0", "--log-level", "error"],
                              environment: ["OMNIA_CODE_LOOKUPS_PER_MINUTE": "0"])
        }
        defer { for server in processes { server.stop() } }
        var ports: [Int] = []
        for server in processes { ports.append(try await server.port()) }
        var result = try await drive(scenario, host: "127.0.0.1", ports: ports, key: admin, databaseLabel: label, context: context)
        if scenario.checksBooks { result.books = try await checkBooks(scenario, database: database, context: context) }
        if scenario == .checkoutCommit { result.books = try await checkBudget(database: database, context: context) }
        return result
    }

    /// After a run on gift cards (or points): what the first card (or points account) gave out equals what its redemptions took, it
    /// never went below zero, and `ledger verify` finds the tenant's books sound — or the bench fails.
    private func checkBooks(_ scenario: BenchScenario, database: DatabaseURL, context: BenchContext) async throws -> String {
        try await DatabaseFactory.with(database, logger: commandLogger()) { store in
            let services = AppServices(config: AppConfig(), database: store, logger: commandLogger())
            let tenantID = context.tenantID ?? ""
            let card = try await BenchSeed.cardBooks(services, tenantID: tenantID, cardID: context.cardIDs[0])
            let findings = try await OperatorTools(services: services).verifyLedger(tenant: tenantID).flatMap(\.findings)
            let loaded = scenario.seededCards.amount
            let summary = "\(card.redemptions) redemptions took \(card.redeemed) of \(loaded); balance \(card.balance), available \(card.available); "
                + "ledger verify: \(findings.isEmpty ? "sound" : "\(findings.count) findings")"
            guard findings.isEmpty, card.available >= 0, card.balance == loaded - card.redeemed else { throw BenchError("books do not add up: \(summary)") }
            return summary
        }
    }

    /// After a run of commits: the budgeted promotion's counter took exactly what its redemptions
    /// add up to (no use lost or taken twice), or the bench fails.
    private func checkBudget(database: DatabaseURL, context: BenchContext) async throws -> String {
        try await DatabaseFactory.with(database, logger: commandLogger()) { store in
            let services = AppServices(config: AppConfig(), database: store, logger: commandLogger())
            let books = try await BenchSeed.budgetBooks(services, tenantID: context.tenantID ?? "", promotionID: context.promotionID ?? "")
            let findings = try await OperatorTools(services: services).verifyLedger(tenant: context.tenantID).flatMap(\.findings)
            let summary = "budget counter: \(books.uses) uses, \(books.discount) discount; budget account spent \(books.spent); "
                + "redemptions: \(books.redemptions), \(books.redeemed); ledger verify: \(findings.isEmpty ? "sound" : "\(findings.count) findings")"
            guard books.uses == books.redemptions, books.discount == books.redeemed, books.spent == books.redeemed, books.uses > 0, findings.isEmpty else {
                throw BenchError("budget does not add up: \(summary)")
            }
            return summary
        }
    }

    /// One I/O thread for all connections, like `wrk -t1`: on a small machine a second busy client
    /// thread would take CPU from the server under test and add context switches to every request.
    private static let loadGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    private func databaseDescriptionForChild(_ url: DatabaseURL) -> String {
        switch url {
        case .sqlite(let path): "sqlite:\(path)"
        case .postgres(let text): text
        }
    }

    private func drive(_ scenario: BenchScenario, host: String, ports: [Int], key: String, databaseLabel: String,
                       context: BenchContext) async throws -> BenchResult {
        let group = Self.loadGroup
        var connectionsList: [LoadConnection] = []
        for index in 0..<connections {
            connectionsList.append(try await LoadConnection.connect(host: host, port: ports[index % ports.count], group: group))
        }
        let pool = connectionsList
        defer { Task { for connection in pool { await connection.close() } } }
        let runID = UUID().uuidString.prefix(8).lowercased()
        let auth = [("Authorization", "Bearer \(key)"), ("Content-Type", "application/json")]
        // A scenario that sends the same request every time has it encoded once.
        let fixed = scenario.variesPerRequest ? nil : scenario.request(runID: runID, context: context).encoded(adding: auth)

        // Warm up, then measure; each connection keeps exactly one request in flight.
        let counter = Counter()
        for (phase, seconds) in [(0, 1.0), (1, duration)] {
            let start = DispatchTime.now().uptimeNanoseconds
            let deadline = start + UInt64(seconds * 1e9)
            // At a fixed rate each connection sends every `connections / rate` seconds, the connections staggered evenly.
            let interval = rate.map { UInt64(Double(connections) / $0 * 1e9) }
            let outcomes = try await withThrowingTaskGroup(of: LoadOutcome.self) { tasks in
                for (index, connection) in pool.enumerated() {
                    let schedule = interval.map { (first: start + $0 * UInt64(index) / UInt64(pool.count), interval: $0) }
                    tasks.addTask {
                        try await connection.drive(until: deadline, expectedStatuses: scenario.expectedStatuses, schedule: schedule) {
                            fixed ?? scenario.request(runID: "\(runID)-\(phase)-\(counter.next())", context: context).encoded(adding: auth)
                        }
                    }
                }
                return try await tasks.reduce(into: [LoadOutcome]()) { $0.append($1) }
            }
            if phase == 1 {
                if let timeline { try LatencyTimeline(outcomes, from: start).csv.write(toFile: timeline, atomically: true, encoding: .utf8) }
                return BenchResult(scenario: scenario.rawValue, database: databaseLabel, connections: connections, duration: duration,
                                   latenciesNanoseconds: outcomes.flatMap(\.latencies), errors: outcomes.map(\.errors).reduce(0, +),
                                   target: scenario.target(databaseLabel), servers: ports.count, offeredRate: rate)
            }
        }
        throw BenchError("unreachable")
    }

    private func write(_ results: [BenchResult]) throws {
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
        let path = "\(output)/bench-\(stamp).json"
        try encoder.encode(results).write(to: URL(fileURLWithPath: path))
        print("results written to \(path)")
    }
}

/// What a scenario's seed made that its requests name (the customer whose 360 is read, the gift cards redeemed).
struct BenchContext: Sendable {
    var tenantID: String?
    var customerID: String?
    var cardIDs: [String] = []
    var codes: [String] = []
    var customerIDs: [String] = []
    var promotionID: String?
}

/// Numbers requests across connections so every write is unique.
final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    func next() -> Int { value.wrappingAdd(1, ordering: .relaxed).newValue }
}

/// A request as a scenario describes it; the connection sends it encoded (`LoadRequest`).
struct ScenarioRequest: Sendable {
    let method: HTTPMethod
    let path: String
    let headers: [(String, String)]
    let body: [UInt8]?

    func encoded(adding extraHeaders: [(String, String)]) -> LoadRequest {
        LoadRequest(method: method, path: path, headers: extraHeaders + headers, body: body)
    }
}

/// What each scenario sends and what it must reach (from the issues).
enum BenchScenario: String, CaseIterable, Sendable {
    case channelsList = "channels.list"
    case locationsCreate = "locations.create"
    case identify
    case transactionsCreate = "transactions.create"
    case customerOverview = "customers.overview"
    case redemptions
    case redemptionsHot = "redemptions.hot"
    case redemptionsContended = "redemptions.contended"
    case redemptionsPoints = "redemptions.points"
    case couponsValidate = "coupons.validate"
    case wallet
    case promotionsEvaluate = "promotions.evaluate"
    case checkoutCommit = "checkout.commit"
    case couponsGenerate = "coupons.generate"
    case campaignsAudience = "campaigns.audience"
    case analytics
    case recommendations
    case importTransactions = "import.transactions"
    case identityMatch = "identity.match"
    case startup

    /// Customers seeded for `identify` (two identifiers each: the issue's 1,000,000 identifiers).
    static let identifyCustomers = 500_000
    /// Known customers the benchmark's sales name by loyalty card.
    static let salesCustomers = 10_000
    /// Earlier sales of the tenant before `transactions.create` measures (5 per known customer).
    static let salesHistory = 50_000
    /// Sales of the one customer whose 360 is read (the issue's 2,000 transactions).
    static let overviewSales = 2_000
    /// Sales of the customer whose carts `promotions.evaluate` evaluates (the issue's 1,000 transactions).
    static let evaluatedCustomerSales = 1_000

    /// The gift cards a redemption scenario seeds: many cards that never run out (`redemptions`),
    /// one that never runs out (`redemptions.hot`), or one that runs out during the run, so that
/// the rest are refused (`redemptions.contended`: 5,000 redemptions' worth, a few seconds of a run).
    var seededCards: (count: Int, amount: Int64) {
        switch self {
        case .redemptions: (10_000, 1_000_000_000)
        case .redemptionsHot: (1, 100_000_000_000)
        // One member's points: 1,000 redemptions' worth, spent in well under a run even on PostgreSQL.
        case .redemptionsPoints: (1, 1_000 * Self.redeemedAmount)
        default: (1, 5_000 * Self.redeemedAmount)
        }
    }

    static let redeemedAmount: Int64 = 100
    /// Codes of the campaign `coupons.validate` asks about, each a different one in turn.
    static let validatedCodes = 100_000

    /// Whether the run ends with the books check (`Bench.checkBooks`).
    var checksBooks: Bool { [.redemptionsHot, .redemptionsContended, .redemptionsPoints].contains(self) }

    func request(runID: String, context: BenchContext) -> ScenarioRequest {
        switch self {
        case .transactionsCreate:
            // A five-line till sale by a known customer, each with its own receipt number.
            let sequence = Int(runID.split(separator: "-").last ?? "") ?? 0
            let card = BenchSeed.card((sequence &* 7919) % Self.salesCustomers)
            let lines = (0..<5).map { line in
                "{\"sku\":\"SKU-\(line * 7 + sequence % 7)\",\"name\":\"Item \(line)\",\"category\":\"women/knitwear\",\"quantity\":\(1 + line % 2),\"unit_price\":\(995 + 100 * line)}"
            }.joined(separator: ",")
            let total = (0..<5).map { (1 + $0 % 2) * (995 + 100 * $0) }.reduce(0, +)
            let body = "{\"external_id\":\"B-\(runID)\",\"channel\":\"store-madrid-01\",\"occurred_at\":\"2026-03-01T10:15:00Z\",\"currency\":\"EUR\","
                + "\"customer\":{\"loyalty_card\":\"\(card)\"},\"lines\":[\(lines)],\"tenders\":[{\"kind\":\"card\",\"amount\":\(total)}]}"
            return ScenarioRequest(method: .POST, path: "/v1/transactions", headers: [("Idempotency-Key", "bench-\(runID)")], body: Array(body.utf8))
        case .redemptions, .redemptionsHot, .redemptionsContended:
            // A web or till checkout paying 1.00 with a card: a different card each time, or always the first.
            let sequence = Int(runID.split(separator: "-").last ?? "") ?? 0
            let card = context.cardIDs.isEmpty ? "" : context.cardIDs[(sequence &* 7919) % context.cardIDs.count]
            let body = "{\"channel\":\"\(sequence % 2 == 0 ? "web" : "store-madrid-01")\",\"reference\":\"bench-\(runID)\","
                + "\"instruments\":[{\"type\":\"gift_card\",\"id\":\"\(card)\",\"amount\":\(Self.redeemedAmount)}]}"
            return ScenarioRequest(method: .POST, path: "/v1/redemptions", headers: [("Idempotency-Key", "bench-\(runID)")], body: Array(body.utf8))
        case .redemptionsPoints:
            // Every client spends 100 points of one member's balance, which runs out during the run.
            let sequence = Int(runID.split(separator: "-").last ?? "") ?? 0
            let body = "{\"channel\":\"\(sequence % 2 == 0 ? "web" : "store-madrid-01")\",\"reference\":\"bench-\(runID)\","
                + "\"customer_id\":\"\(context.customerID ?? "")\",\"instruments\":[{\"type\":\"points\",\"id\":\"\(context.cardIDs.first ?? "")\","
                + "\"amount\":\(Self.redeemedAmount)}]}"
            return ScenarioRequest(method: .POST, path: "/v1/redemptions", headers: [("Idempotency-Key", "bench-\(runID)")], body: Array(body.utf8))
        case .couponsValidate:
            let sequence = Int(runID.split(separator: "-").last ?? "") ?? 0
            let code = context.codes.isEmpty ? "" : context.codes[(sequence &* 7919) % context.codes.count]
            return ScenarioRequest(method: .GET, path: "/v1/coupons/validate?code=\(code)&channel=web", headers: [], body: nil)
        case .wallet:
            return ScenarioRequest(method: .GET, path: "/v1/customers/\(context.customerID ?? "")/wallet", headers: [], body: nil)
        case .promotionsEvaluate:
            // A 20-line cart of the customer, on the web or at a till, a different mix each time.
            let sequence = Int(runID.split(separator: "-").last ?? "") ?? 0
            let lines = (0..<20).map { line in
                let index = (sequence &+ line &* 5) % 97
                let category = BenchSeed.promotionCategories[(index + line) % BenchSeed.promotionCategories.count]
                return "{\"sku\":\"SKU-\(index)\",\"category\":\"\(category)\",\"quantity\":\(1 + line % 3),\"unit_price\":\(995 + 100 * line)}"
            }.joined(separator: ",")
            let body = "{\"channel\":\"\(sequence % 2 == 0 ? "web" : "store-madrid-01")\",\"currency\":\"EUR\",\"customer_id\":\"\(context.customerID ?? "")\","
                + "\"lines\":[\(lines)]}"
            return ScenarioRequest(method: .POST, path: "/v1/checkout/evaluate", headers: [], body: Array(body.utf8))
        case .checkoutCommit:
            // A five-line sale of a known customer, committed at a till or on the web, each with its own number.
            let sequence = Int(runID.split(separator: "-").last ?? "") ?? 0
            let customer = context.customerIDs.isEmpty ? "" : context.customerIDs[(sequence &* 7919) % context.customerIDs.count]
            let lines = (0..<5).map { line in
                let index = (sequence &+ line &* 5) % 97
                let category = BenchSeed.promotionCategories[(index + line) % BenchSeed.promotionCategories.count]
                return "{\"sku\":\"SKU-\(index)\",\"name\":\"Item \(index)\",\"category\":\"\(category)\",\"quantity\":\(1 + line % 2),\"unit_price\":\(995 + 100 * line)}"
            }.joined(separator: ",")
            let body = "{\"external_id\":\"C-\(runID)\",\"channel\":\"\(sequence % 2 == 0 ? "web" : "store-madrid-01")\",\"currency\":\"EUR\","
                + "\"customer_id\":\"\(customer)\",\"lines\":[\(lines)]}"
            return ScenarioRequest(method: .POST, path: "/v1/checkout/commit", headers: [("Idempotency-Key", "bench-\(runID)")], body: Array(body.utf8))
        case .customerOverview:
            return ScenarioRequest(method: .GET, path: "/v1/customers/\(context.customerID ?? "")/overview", headers: [], body: nil)
        case .recommendations:
            // Ten items for a different customer each time, read from their history in every channel.
            let sequence = Int(runID.split(separator: "-").last ?? "") ?? 0
            let customer = context.customerIDs.isEmpty ? "" : context.customerIDs[(sequence &* 7919) % context.customerIDs.count]
            return ScenarioRequest(method: .GET, path: "/v1/customers/\(customer)/recommendations?limit=10", headers: [], body: nil)
        case .channelsList, .startup, .importTransactions, .identityMatch, .couponsGenerate, .campaignsAudience, .analytics:
            return ScenarioRequest(method: .GET, path: "/v1/channels", headers: [], body: nil)
        case .locationsCreate:
            let body = "{\"code\":\"b-\(runID)\",\"name\":\"Bench store\",\"kind\":\"store\",\"country\":\"ES\",\"city\":\"Madrid\"}"
            return ScenarioRequest(method: .POST, path: "/v1/locations", headers: [("Idempotency-Key", "bench-\(runID)")], body: Array(body.utf8))
        case .identify:
            // Returning customers seen at a till or on the web: every request finds one of the seeded
            // customers by email and card; every other one also brings a new device, which is attached (a write).
            let sequence = Int(runID.split(separator: "-").last ?? "") ?? 0
            let number = (sequence &* 7919) % Self.identifyCustomers
            let device = sequence % 2 == 0 ? ",{\"kind\":\"device_id\",\"value\":\"dev-\(runID)\"}" : ""
            let body = "{\"identifiers\":[{\"kind\":\"email\",\"value\":\"\(BenchSeed.email(number))\"},"
                + "{\"kind\":\"loyalty_card\",\"value\":\"\(BenchSeed.card(number))\"}\(device)]}"
            return ScenarioRequest(method: .POST, path: "/v1/identify", headers: [("Idempotency-Key", "bench-\(runID)")], body: Array(body.utf8))
        }
    }

    /// Whether each request differs (a new location code and key per POST) or one can be reused.
    var variesPerRequest: Bool {
        [.locationsCreate, .identify, .transactionsCreate, .redemptions, .redemptionsHot, .redemptionsContended, .redemptionsPoints, .couponsValidate,
         .promotionsEvaluate, .checkoutCommit, .recommendations]
            .contains(self)
    }

    /// The answers that count as correct; any other is an error. A card that ran out refuses with a clean 409.
    var expectedStatuses: [Int] {
        switch self {
        case .locationsCreate, .transactionsCreate, .redemptions, .redemptionsHot, .checkoutCommit: [201]
        case .redemptionsContended, .redemptionsPoints: [201, 409]
        default: [200]
        }
    }

    func target(_ database: String) -> String {
        switch self {
        case .channelsList: ">= 10000/s, p99 <= 5 ms (sqlite, 32 conns)"
        case .locationsCreate: database == "postgres" ? ">= 1000/s (postgres)" : ">= 2000/s (sqlite)"
        case .identify: ">= 3000/s, p99 <= 5 ms (sqlite, 1,000,000 identifiers)"
        case .transactionsCreate: database == "postgres" ? ">= 1000/s (postgres, 5 lines)" : ">= 2000/s (sqlite, 5 lines)"
        case .customerOverview: "p99 <= 10 ms (2,000 transactions)"
        case .redemptions: database == "postgres" ? ">= 1500/s, p99 <= 15 ms (postgres, 32 conns)" : ">= 2000/s, p99 <= 15 ms (sqlite, 32 conns)"
        case .redemptionsHot: ">= 1000/s on one card (postgres, 64 conns)"
        case .redemptionsContended: "no error but 409, books balance (one card running out)"
        case .redemptionsPoints: "no error but 409, books and lots balance (one points balance running out)"
        case .couponsValidate: "p99 <= 2 ms (100,000 codes)"
        case .wallet: "p99 <= 5 ms (50 instruments)"
        case .promotionsEvaluate: "p50 <= 2 ms, p99 <= 10 ms, >= 1500/s (sqlite, 16 conns, 200 promotions, 20 lines)"
        case .checkoutCommit: ">= 1000/s (sqlite, budget and limits taken, 200 promotions, 5 lines)"
        case .couponsGenerate: "1,000,000 codes <= 30 s"
        case .campaignsAudience: "100,000 customers <= 60 s"
        case .startup: "ready <= 1000 ms, idle RSS <= 100 MB"
        case .importTransactions: ">= 20000/s (sqlite, 5 lines)"
        case .identityMatch: "10,000 x 10,000 customers <= 60 s"
        case .analytics: "journey reports p99 <= 500 ms; RFM <= 10 s, CLV <= 20 s, segments <= 2 s, RSS <= 1 GB"
        case .recommendations: "p99 <= 10 ms (16 conns, 100,000 customers, ~1,000,000 sales)"
        }
    }
}
