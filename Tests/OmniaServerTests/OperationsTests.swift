import Foundation
import HTTPTypes
import HummingbirdTesting
import Metrics
@testable import OmniaServer
import Prometheus
import Testing
import SQLKit

@Suite("Operations")
struct OperationsTests {
    @Test("health, readiness, the contract and the index answer without a key", arguments: TestBackend.available)
    func probes(backend: TestBackend) async throws {
        try await TestApp.run(backend) { _, client in
            #expect(try await client.call(.get, "/healthz", key: nil).object["status"] as? String == "ok")
            let ready = try await client.call(.get, "/readyz", key: nil)
            #expect(ready.status == .ok)
            #expect(ready.object["database"] as? String == backend.rawValue)
            let contract = try await client.call(.get, "/openapi.yaml", key: nil)
            #expect(contract.status == .ok)
            #expect(contract.text.hasPrefix("openapi: 3.1"))
            #expect(try await client.call(.get, "/", key: nil).object["api"] as? String == "/v1")
        }
    }

    @Test("metrics count requests by route and status and report the pool", arguments: [TestBackend.sqlite])
    func metrics(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await client.call(.get, "/v1/channels", key: app.adminKey)
            let text = try await client.call(.get, "/metrics", key: nil).text
            #expect(text.contains("omnia_db_connections_max"))
            #expect(text.contains("hb_requests{"), "\(text.prefix(400))")
            #expect(text.contains("http_server_request_duration"), "latency histogram")
            #expect(text.contains("/v1/channels"), "requests are labelled by route")
        }
    }

    @Test("admin actions are in the audit log with actor and request id", arguments: TestBackend.available)
    func auditLog(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await client.call(.post, "/v1/channels", key: app.adminKey, json: ["code": "web", "name": "Web", "kind": "web"],
                                      headers: [.xRequestID: "audit-1"])
            let log = try await client.call(.get, "/v1/audit_log", key: app.adminKey)
            let entry = try #require(log.list.first { $0["action"] as? String == "channel.create" })
            #expect(entry["request_id"] as? String == "audit-1")
            #expect((entry["actor"] as? String)?.hasPrefix("key_") == true)
            #expect(log.list.contains { $0["action"] as? String == "api_key.create" && $0["actor"] as? String == "cli" })
        }
    }

    @Test("migrating twice applies nothing the second time", arguments: TestBackend.available)
    func migrations(backend: TestBackend) async throws {
        try await backend.withDatabase { database in
            let again = try await Migrator(database: database, logger: TestBackend.logger).migrate()
            #expect(again.isEmpty)
            let versions = try await database.read { sql in
                try await sql.raw("SELECT version FROM schema_migrations ORDER BY version").all(decodingColumn: "version", as: Int.self)
            }
            #expect(versions == Migrator.all.map(\.version))
        }
    }

    @Test("SQLite's transaction lines move to a table without rowid, every line kept", arguments: [TestBackend.sqlite])
    func linesWithoutRowIDMigration(backend: TestBackend) async throws {
        try await backend.withDatabase { database in
            // The table as migration 7 left it, with two lines.
            #expect(try await Self.migrateAgain(database, version: 8, from: [
                "DROP TABLE transaction_lines",
                """
                    CREATE TABLE transaction_lines (tenant_id TEXT NOT NULL, transaction_id TEXT NOT NULL, line_number INTEGER NOT NULL,
                        sku TEXT NOT NULL, name TEXT, category TEXT, quantity BIGINT NOT NULL, unit_price BIGINT NOT NULL, discount BIGINT NOT NULL,
                        total BIGINT NOT NULL, net_total BIGINT NOT NULL, returned_quantity BIGINT NOT NULL DEFAULT 0, original_line INTEGER,
                        reason TEXT, PRIMARY KEY (tenant_id, transaction_id, line_number))
                    """,
                """
                    INSERT INTO transaction_lines (tenant_id, transaction_id, line_number, sku, name, category, quantity, unit_price, discount,
                        total, net_total, returned_quantity, original_line, reason)
                    VALUES ('t', 'txn_a', 1, 'SKU-1', 'Jumper', 'women/knitwear', 2, 1000, 100, 1900, 1900, 1, NULL, NULL),
                           ('t', 'txn_b', 1, 'SKU-1', NULL, NULL, -1, 1000, 0, -1000, -1000, 0, 1, 'damaged')
                    """,
            ]) == [8])
            let (lines, definition) = try await database.read { sql in
                let lines = try await sql.raw("""
                    SELECT transaction_id || ' ' || line_number || ' ' || sku || ' ' || COALESCE(category, '-') || ' ' || quantity || ' ' ||
                        returned_quantity || ' ' || COALESCE(original_line, 0) || ' ' || COALESCE(reason, '-') AS line
                    FROM transaction_lines ORDER BY transaction_id
                    """).all(decodingColumn: "line", as: String.self)
                let definition = try await sql.raw("SELECT sql FROM sqlite_master WHERE name = 'transaction_lines'").first(decodingColumn: "sql", as: String.self)
                return (lines, definition)
            }
            #expect(lines == ["txn_a 1 SKU-1 women/knitwear 2 1 0 -", "txn_b 1 SKU-1 - -1 0 1 damaged"])
            #expect(definition?.hasSuffix("WITHOUT ROWID") == true, "\(definition ?? "")")
        }
    }

    @Test("the customer categories migration folds each customer's category rows into one value", arguments: TestBackend.available)
    func customerCategoriesMigration(backend: TestBackend) async throws {
        try await backend.withDatabase { database in
            // The table as migration 6 left it.
            #expect(try await Self.migrateAgain(database, version: 7, from: [
                "DROP TABLE customer_categories",
                """
                    CREATE TABLE customer_category_stats (tenant_id TEXT NOT NULL, customer_id TEXT NOT NULL, category TEXT NOT NULL,
                        quantity BIGINT NOT NULL, lines BIGINT NOT NULL, PRIMARY KEY (tenant_id, customer_id, category))
                    """,
                """
                    INSERT INTO customer_category_stats (tenant_id, customer_id, category, quantity, lines)
                    VALUES ('t', 'cus_a', 'home', 3, 2), ('t', 'cus_a', 'kids/toys', -1, 0), ('t', 'cus_b', 'home', 1, 1), ('u', 'cus_a', 'men', 7, 7)
                    """,
            ]) == [7])
            let rows = try await database.read { sql in
                try await sql.raw("SELECT tenant_id, customer_id, figures FROM customer_categories ORDER BY tenant_id, customer_id").all()
            }
            var found: [String: CustomerCategoryFigures] = [:]
            for row in rows {
                let key = try row.decode(column: "tenant_id", as: String.self) + "/" + row.decode(column: "customer_id", as: String.self)
                found[key] = CustomerCategoryFigures(text: try row.decode(column: "figures", as: String.self))
            }
            func entries(_ key: String) -> [String]? { found[key]?.entries.map { "\($0.category) \($0.quantity) \($0.lines)" } }
            #expect(Set(entries("t/cus_a") ?? []) == ["home 3 2", "kids/toys -1 0"])
            #expect(entries("t/cus_b") == ["home 1 1"])
            #expect(entries("u/cus_a") == ["men 7 7"])
            #expect(found.count == 3)
            // Both databases add to the folded values.
            var delta = CustomerCategoryFigures()
            delta.add("home", quantity: 3, lines: 2)
            delta.add("kids/toys", quantity: -1, lines: 0)
            let deltaText = delta.text
            let sum = try await database.read { sql in
                let adding = CustomerCategoryFigures.adding("delta.text", to: "figures", dialect: database.dialect)
                return try await sql.raw("""
                    SELECT \(unsafeRaw: adding) AS sum FROM customer_categories, (SELECT \(bind: deltaText) AS text) AS delta WHERE customer_id = 'cus_b'
                    """).first(decodingColumn: "sum", as: String.self)
            }
            #expect(sum.flatMap(CustomerCategoryFigures.init(text:))?.entries.map { "\($0.category) \($0.quantity)" } == ["home 4", "kids/toys -1"])
        }
    }

    @Test("the event outbox migration keeps the events not yet dispatched, and only those", arguments: TestBackend.available)
    func eventOutboxMigration(backend: TestBackend) async throws {
        try await backend.withDatabase { database in
            // The schema as migration 5 left it, with one event dispatched and one not.
            #expect(try await Self.migrateAgain(database, version: 6, from: [
                "DROP TABLE event_outbox",
                "ALTER TABLE events ADD COLUMN dispatched INTEGER NOT NULL DEFAULT 0",
                "CREATE INDEX events_undispatched ON events (created_at) WHERE dispatched = 0",
                """
                    INSERT INTO events (tenant_id, id, type, data, created_at, dispatched)
                    VALUES ('t', 'evt_sent', 'x.sent', '{}', 1, 1), ('t', 'evt_waiting', 'x.waiting', '{}', 2, 0)
                    """,
            ]) == [6])
            let outbox = try await database.read { sql in
                try await sql.raw("SELECT event_id || ' ' || type || ' ' || created_at AS row FROM event_outbox").all(decodingColumn: "row", as: String.self)
            }
            #expect(outbox == ["evt_waiting x.waiting 2"])
        }
    }

    @Test("migration 21 widens the sales indexes and gives a database migrated before migration 20 was edited the campaign members' index by customer",
          arguments: TestBackend.available)
    func journeyIndexesMigration(backend: TestBackend) async throws {
        try await backend.withDatabase { database in
            // The indexes as migration 20 first left them.
            #expect(try await Self.migrateAgain(database, version: 21, from: [
                "DROP INDEX transactions_by_time",
                "CREATE INDEX transactions_by_time ON transactions (tenant_id, occurred_at)",
                "DROP INDEX transactions_by_customer",
                "CREATE INDEX transactions_by_customer ON transactions (tenant_id, customer_id, occurred_at)",
                "DROP INDEX campaign_members_reached",
                "CREATE INDEX campaign_members_reached_by_time ON campaign_members (tenant_id, created_at) WHERE control = 0",
            ]) == [21])
            let indexes = try await database.read { [dialect = database.dialect] sql in
                let names: SQLQueryString = dialect == .postgres
                    // This test's schema only: another test's schema dropped meanwhile would fail `pg_indexes`' definition lookups.
                    ? "SELECT indexname AS name, indexdef AS definition FROM pg_indexes WHERE schemaname = current_schema() AND tablename IN ('campaign_members', 'transactions')"
                    : "SELECT name, sql AS definition FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('campaign_members', 'transactions') AND sql IS NOT NULL"
                return Dictionary(try await sql.raw(names).all().map {
                    (try $0.decode(column: "name", as: String.self), try $0.decode(column: "definition", as: String.self))
                }) { first, _ in first }
            }
            #expect(indexes["campaign_members_reached_by_time"] == nil)
            #expect(indexes["campaign_members_reached"]?.contains("customer_id") == true, "\(indexes)")
            #expect(indexes["transactions_by_time"]?.contains("total") == true && indexes["transactions_by_customer"]?.contains("total") == true,
                    "\(indexes)")
            // Migrated again from where migration 20 now leaves a database, nothing is left to settle.
            #expect(try await Self.migrateAgain(database, version: 21, from: []) == [21])
        }
    }

    /// Puts `database` back as it was before migration `version` (`before`: its schema and rows
    /// then), forgets that `version` was applied, and migrates again: the versions applied.
    static func migrateAgain(_ database: any Database, version: Int, from before: [String]) async throws -> [Int] {
        try await database.autocommit { sql in
            for statement in before { try await sql.raw(SQLQueryString(statement)).run() }
            try await sql.raw("DELETE FROM schema_migrations WHERE version = \(bind: version)").run()
        }
        return try await Migrator(database: database, logger: TestBackend.logger).migrate()
    }
}

/// Hummingbird's metrics middleware reports through the process-wide MetricsSystem; the tests
/// bootstrap it once, as `omnia serve` does.
enum MetricsTestBootstrap {
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()
}

@Suite("Timestamps")
struct TimestampTests {
    @Test("API times are RFC 3339 UTC with milliseconds, matching Foundation's formatter")
    func format() {
        #expect(Timestamp.text(0) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.text(951_782_400_000) == "2000-02-29T00:00:00.000Z")
        #expect(Timestamp.text(-1) == "1969-12-31T23:59:59.999Z")
        // Foundation's fractional seconds go through a Double and can lose the last digit, so
        // compare whole seconds with it and the milliseconds exactly.
        let style = Date.ISO8601FormatStyle()
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let milliseconds = Int64.random(in: 0...4_102_444_800_000, using: &generator)
            let text = Timestamp.text(milliseconds)
            let seconds = style.format(Date(timeIntervalSince1970: Double(milliseconds / 1000)))
            #expect(text == seconds.dropLast() + "." + String(format: "%03d", milliseconds % 1000) + "Z")
        }
    }
}

@Suite("Configuration")
struct ConfigurationTests {
    @Test("environment settings are applied, and a bad value names its setting")
    func environment() throws {
        let config = try AppConfig.fromEnvironment(["OMNIA_IO_THREADS": "3", "OMNIA_POSTGRES_POOL_SIZE": "7"])
        #expect(config.ioThreads == 3)
        #expect(config.postgresPoolSize == 7)
        #expect(AppConfig().ioThreads >= 1)
        #expect(throws: ConfigurationError.self) { try AppConfig.fromEnvironment(["OMNIA_IO_THREADS": "0"]) }
        do {
            _ = try AppConfig.fromEnvironment(["OMNIA_IO_THREADS": "many"])
        } catch let error as ConfigurationError {
            #expect(error.setting == "OMNIA_IO_THREADS")
        }
    }
}
