import Foundation
import Hummingbird
import Logging
import SQLKit

/// What became of a POST handed to a group write (`SaleGroupCommit`, `RedemptionGroupCommit`):
/// committed with its group — its response, whose `Idempotency-Key` completion committed with it —,
/// refused before anything of it was written, or to be handled on its own, the ordinary way.
enum GroupedWrite: Sendable {
    case written(Data)
    case refused(any Error)
    case alone

    /// The response the POST gets: the group's, answered `status`; its refusal; or the ordinary way's.
    func response(status: HTTPResponse.Status, ordinary: () async throws -> Response) async throws -> Response {
        switch self {
        case .written(let data): return JSONResponse.make(data: data, status: status)
        case .refused(let error): throw error
        case .alone: return try await ordinary()
        }
    }

    /// Writes a group of two or more in one transaction with `record`, marking each written
    /// request's claim committed after the commit. On any failure of the whole — a concurrent
    /// writer elsewhere, a key found stored, a conflict to retry — every request goes alone, and
    /// `failed` is told. A group of one goes alone at once.
    static func inOneTransaction<Item: Sendable>(
        _ items: [Item], services: AppServices, what: String, claim: (Item) -> IdempotencyClaim?, failed: () -> Void,
        record: @escaping @Sendable (any SQLDatabase) async throws -> [GroupedWrite]
    ) async -> [GroupedWrite] {
        guard items.count > 1 else { return [.alone] }
        return await inOneTransaction(items, services: services, what: what, claim: claim, failed: failed, prepare: {}) { _, sql in try await record(sql) }
    }

    /// The same, with reads that need no lock done first by `prepare`, outside the transaction
    /// (on PostgreSQL, each statement less in it is a round trip less holding its locks), for a
    /// group of any size: a failure of `prepare` sends every request alone too.
    static func inOneTransaction<Item: Sendable, Prepared: Sendable>(
        _ items: [Item], services: AppServices, what: String, claim: (Item) -> IdempotencyClaim?, failed: () -> Void,
        prepare: () async throws -> Prepared, record: @escaping @Sendable (Prepared, any SQLDatabase) async throws -> [GroupedWrite]
    ) async -> [GroupedWrite] {
        do {
            let prepared = try await prepare()
            let outcomes = try await services.database.transaction { sql in try await record(prepared, sql) }
            for (item, outcome) in zip(items, outcomes) {
                if case .written = outcome { claim(item)?.committed() }
            }
            return outcomes
        } catch {
            failed()
            services.logger.debug("a group of \(what) goes one by one", metadata: ["error": "\(String(reflecting: error))", "count": "\(items.count)"])
            return Array(repeating: .alone, count: items.count)
        }
    }
}
