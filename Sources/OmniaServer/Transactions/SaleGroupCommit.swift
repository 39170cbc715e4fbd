import Foundation
import HTTPTypes
import Hummingbird
import Logging
import SQLKit
import Synchronization

/// Single sales POSTed at the same moment by one API key, recorded together: one database
/// transaction and a few multi-row statements for the whole group (`TransactionBatch`, the bulk
/// import's path) instead of a dozen statements and a commit per sale. On PostgreSQL every
/// statement is parsed, planned and sent on its own, so a busy till fleet's sales cost the database
/// a fraction of what they cost one by one.
///
/// Nothing waits for a timer. A sale arriving while fewer than `writersPerKey` of its key's writes
/// run goes the ordinary way at once; the sales arriving while that many run wait for one of them
/// and are then written as one group, and so on: a group is as large as the load makes it.
///
/// Each sale gets exactly what it would get alone: the same checks and refusals (decided before
/// anything is written, so a refused sale leaves nothing and the others go on), its own
/// `transaction.recorded` and `receipt.issued` events with its request id, and its remembered
/// `Idempotency-Key` response in the same commit as its effect. A sale whose external id is
/// already recorded, and every sale of a group whose transaction fails as a whole (a concurrent
/// writer elsewhere, a conflict to retry), goes the ordinary way afterwards.
final class SaleGroupCommit: Sendable {
    /// A sale waiting to be written with others.
    struct Sale: Sendable {
        let caller: Caller
        let draft: TransactionDraft
        let actor: Actor
        let claim: IdempotencyClaim?
    }

    /// What became of a sale handed to a group.
    enum Outcome: Sendable {
        /// Committed with its group: the response, whose `Idempotency-Key` completion committed with it.
        case recorded(Data)
        /// Refused before anything of it was written.
        case refused(any Error)
        /// To record on its own, the ordinary way.
        case alone
    }

    private enum Turn: Sendable {
        /// A writer's place was free: go the ordinary way now, then hand the place over.
        case lead
        case grouped(Outcome)
    }

    private struct Waiting {
        let sale: Sale
        let continuation: CheckedContinuation<Turn, Never>
    }

    /// One API key's writes: how many run, and the sales that arrived while all places were taken.
    private struct Queue {
        var writers = 0
        var waiting: [Waiting] = []
    }

    /// Writes of one key at a time: two keep both of a small machine's cores busy while one group
    /// commits and the next is prepared; more would only make the groups smaller.
    static let writersPerKey = 2

    /// Sales written in one group at most: larger loads make several groups, one after another.
    static let maximumGroup = 500

    /// A key's queue exists while any of its writes runs.
    private let queues = Mutex<[String: Queue]>([:])
    private let counters = Mutex((groups: 0, sales: 0, failed: 0))

    /// Groups of two or more taken so far, the sales in them, the groups whose transaction failed
    /// (their sales went one by one), and the sales waiting for a group now.
    var statistics: (groups: Int, sales: Int, failed: Int, waiting: Int) {
        let (groups, sales, failed) = counters.withLock { $0 }
        return (groups, sales, failed, queues.withLock { $0.values.reduce(0) { $0 + $1.waiting.count } })
    }

    /// Records `sale`, on its own (`ordinary`) or in a group; `ordinary` also takes over a sale its group could not write.
    func record(_ sale: Sale, services: AppServices, ordinary: @Sendable () async throws -> Response) async throws -> Response {
        let key = "\(sale.caller.tenantID)\u{1F}\(sale.caller.keyID)"
        let turn = await withCheckedContinuation { (continuation: CheckedContinuation<Turn, Never>) in
            let isLead = queues.withLock { queues in
                var queue = queues[key] ?? Queue()
                defer { queues[key] = queue }
                guard queue.writers == Self.writersPerKey else {
                    queue.writers += 1
                    return true
                }
                queue.waiting.append(Waiting(sale: sale, continuation: continuation))
                return false
            }
            if isLead { continuation.resume(returning: .lead) }
        }
        switch turn {
        case .lead:
            defer { handOver(key, services: services) }
            return try await ordinary()
        case .grouped(.recorded(let data)):
            return JSONResponse.make(data: data, status: .created)
        case .grouped(.refused(let error)):
            throw error
        case .grouped(.alone):
            return try await ordinary()
        }
    }

    /// After a write of `key`: the sales that arrived meanwhile are written next, or the writer's place is free again.
    private func handOver(_ key: String, services: AppServices) {
        let hasWaiting = queues.withLock { queues in
            guard var queue = queues[key] else { return false }
            guard queue.waiting.isEmpty else { return true }
            queue.writers -= 1
            queues[key] = queue.writers == 0 ? nil : queue
            return false
        }
        guard hasWaiting else { return }
        Task { await self.drain(key, services: services) }
    }

    /// Writes the waiting sales group after group until none is left, then frees its writer's place.
    private func drain(_ key: String, services: AppServices) async {
        while true {
            let group = queues.withLock { queues -> [Waiting] in
                guard var queue = queues[key] else { return [] }
                guard !queue.waiting.isEmpty else {
                    queue.writers -= 1
                    queues[key] = queue.writers == 0 ? nil : queue
                    return []
                }
                let taken = Array(queue.waiting.prefix(Self.maximumGroup))
                queue.waiting.removeFirst(taken.count)
                queues[key] = queue
                return taken
            }
            guard !group.isEmpty else { return }
            let outcomes = await write(group.map(\.sale), services: services)
            for (waiting, outcome) in zip(group, outcomes) { waiting.continuation.resume(returning: .grouped(outcome)) }
        }
    }

    /// One group in one transaction; on any failure of the whole, every sale goes the ordinary way.
    private func write(_ sales: [Sale], services: AppServices) async -> [Outcome] {
        guard sales.count > 1 else { return [.alone] }
        counters.withLock { $0.groups += 1; $0.sales += sales.count }
        do {
            let outcomes = try await services.database.transaction { sql in
                try await Self.record(sales, on: sql, services: services)
            }
            for (sale, outcome) in zip(sales, outcomes) {
                if case .recorded = outcome { sale.claim?.committed() }
            }
            return outcomes
        } catch {
            counters.withLock { $0.failed += 1 }
            services.logger.debug("a group of sales goes one by one", metadata: ["error": "\(String(reflecting: error))", "sales": "\(sales.count)"])
            return Array(repeating: .alone, count: sales.count)
        }
    }

    private static func record(_ sales: [Sale], on sql: any SQLDatabase, services: AppServices) async throws -> [Outcome] {
        let first = sales[0]
        let items = sales.enumerated().map { index, sale in TransactionBatch.Item(line: index, draft: sale.draft, ready: nil, actor: sale.actor) }
        var written = GroupOutcomes(count: sales.count)
        try await TransactionBatch(services: services, caller: first.caller, actor: first.actor).record(on: sql, items, into: &written)

        var events: [(type: String, data: any Encodable, requestID: String?)] = []
        var outcomes: [Outcome] = []
        outcomes.reserveCapacity(sales.count)
        for (sale, result) in zip(sales, written.results) {
            switch result {
            case .created(let transaction):
                // The response is the sale as `transaction.recorded` carries it: encoded once for both.
                let data = try JSONCoding.encode(RecordedTransaction(transaction: transaction, created: true))
                events.append(("transaction.recorded", EncodedJSON(data), sale.actor.requestID))
                events.append(("receipt.issued", ReceiptIssued(transaction), sale.actor.requestID))
                try await sale.claim?.complete(on: sql, status: Int(HTTPResponse.Status.created.code), body: data)
                outcomes.append(.recorded(data))
            case .refused(let error):
                outcomes.append(.refused(error))
            case .matched, nil:
                outcomes.append(.alone)
            }
        }
        try await services.events.append(on: sql, tenantID: first.caller.tenantID, events)
        return outcomes
    }

    /// What `TransactionBatch` did with each sale of a group, by its place in the group.
    private struct GroupOutcomes: TransactionBatchOutcomes {
        enum Result {
            case created(SalesTransaction)
            case matched
            case refused(any Error)
        }

        var results: [Result?]

        init(count: Int) { results = Array(repeating: nil, count: count) }

        mutating func created(_ item: TransactionBatch.Item, id: String, _ transaction: @autoclosure () -> SalesTransaction) {
            results[item.line] = .created(transaction())
        }

        mutating func matched(_ item: TransactionBatch.Item) { results[item.line] = .matched }

        mutating func refused(_ item: TransactionBatch.Item, _ error: any Error) throws {
            guard ImportReport.refusal(error) != nil else { throw error }
            results[item.line] = .refused(error)
        }
    }
}
