import Foundation
import Logging
import SQLKit

/// One forward-only schema change. `sql` returns the statements for a dialect; most are identical.
struct Migration: Sendable {
    let version: Int
    let name: String
    let sql: @Sendable (SQLDialectKind) -> [String]
}

/// Brings a database to the newest schema, recording each applied migration in `schema_migrations`.
public struct Migrator: Sendable {
    /// Every migration, in order. Append only: a released migration never changes.
    static let all: [Migration] = [
        Migration001Platform.migration,
        Migration002Identity.migration,
        Migration003Transactions.migration,
        Migration004Journeys.migration,
        Migration005Matching.migration,
        Migration006EventOutbox.migration,
        Migration007CustomerCategories.migration,
        Migration008LinesWithoutRowID.migration,
        Migration009Benefits.migration,
        Migration010CheckoutHolds.migration,
        Migration011Loyalty.migration,
        Migration012PointsTransferIndexes.migration,
        Migration013Promotions.migration,
        Migration014PromotionRedemptions.migration,
        Migration015Campaigns.migration,
        Migration016CampaignTriggers.migration,
        Migration017Segments.migration,
        Migration018CustomerScores.migration,
        Migration019Recommendations.migration,
        Migration020JourneyAnalyticsIndexes.migration,
        Migration021JourneyCoveringIndexes.migration,
        Migration022TransactionHours.migration,
        Migration023CustomerHistoryIndex.migration,
        Migration024SegmentFingerprints.migration,
    ]

    let database: any Database
    let logger: Logger

    public init(database: any Database, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    /// The newest version this build knows.
    public static var latestVersion: Int { all.last?.version ?? 0 }

    /// Applies every pending migration, each in its own transaction, and returns the versions applied.
    @discardableResult
    public func migrate() async throws -> [Int] {
        try await database.transaction { sql in
            try await sql.raw("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)
                """).run()
        }
        var applied: [Int] = []
        for migration in Self.all {
            let didApply = try await database.transaction { [dialect = database.dialect] sql -> Bool in
                if dialect == .postgres {
                    // Several servers may start at once: the first to take the lock migrates, the rest wait and skip.
                    try await sql.raw("SELECT pg_advisory_xact_lock(7318000001)").run()
                }
                let existing = try await sql.raw("SELECT version FROM schema_migrations WHERE version = \(bind: migration.version)").all()
                guard existing.isEmpty else { return false }
                for statement in migration.sql(dialect) {
                    try await sql.raw(SQLQueryString(statement)).run()
                }
                let now = Timestamp.milliseconds(Date())
                try await sql.raw("""
                    INSERT INTO schema_migrations (version, name, applied_at)
                    VALUES (\(bind: migration.version), \(bind: migration.name), \(bind: now))
                    """).run()
                return true
            }
            if didApply {
                logger.info("applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
                applied.append(migration.version)
            }
        }
        return applied
    }
}
