import SQLKit
import Synchronization

/// Group commit for the single SQLite writer. Callers queue their transactions; one task runs
/// everything queued back to back inside one `BEGIN IMMEDIATE … COMMIT`, each transaction in its
/// own SAVEPOINT so a failing one rolls back alone. Callers are answered after the COMMIT, so each
/// sees its transaction durable exactly as before — but the writer no longer idles while the next
/// waiter is scheduled, and many transactions share one commit.
final class SQLiteWriteQueue: Sendable {
    private struct State {
        var queued: [any QueuedWrite] = []
        var draining = false
    }

    private let state = Mutex(State())
    private let connection: @Sendable () -> any SQLDatabase
    /// Runs on the writer's connection after each commit, outside any transaction (WAL upkeep).
    private let afterCommit: @Sendable (any SQLDatabase) async -> Void
    /// Bounds the work one COMMIT waits for, and so the latency a transaction can add to others.
    static let maximumBatch = 64

    init(connection: @escaping @Sendable () -> any SQLDatabase, afterCommit: @escaping @Sendable (any SQLDatabase) async -> Void = { _ in }) {
        self.connection = connection
        self.afterCommit = afterCommit
    }

    func submit<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let startDrain = state.withLock { state -> Bool in
                state.queued.append(QueuedTransaction(body: body, continuation: continuation))
                guard !state.draining else { return false }
                state.draining = true
                return true
            }
            if startDrain { Task { await self.drain() } }
        }
    }

    private func drain() async {
        while true {
            let batch = state.withLock { state -> [any QueuedWrite] in
                let batch = Array(state.queued.prefix(Self.maximumBatch))
                state.queued.removeFirst(batch.count)
                if batch.isEmpty { state.draining = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            await run(batch)
        }
    }

    private func run(_ batch: [any QueuedWrite]) async {
        let sql = connection()
        do {
            try await sql.raw("BEGIN IMMEDIATE").run()
        } catch {
            for write in batch { write.finish(failure: error) }
            return
        }
        // A transaction alone in its batch needs no savepoint: if it fails, the whole batch rolls
        // back. That spares SQLite a statement journal of every page the transaction changes —
        // most of a bulk import chunk's pages.
        let alone = batch.count == 1
        for write in batch {
            await write.run(on: sql, inSavepoint: !alone)
        }
        if alone, batch[0].failed {
            try? await sql.raw("ROLLBACK").run()
            batch[0].finish(failure: nil)
            return
        }
        do {
            try await sql.raw("COMMIT").run()
            for write in batch { write.finish(failure: nil) }
            await afterCommit(sql)
        } catch {
            try? await sql.raw("ROLLBACK").run()
            for write in batch { write.finish(failure: error) }
        }
    }
}

/// One queued transaction, type-erased so transactions of different result types share a batch.
private protocol QueuedWrite: Sendable {
    func run(on sql: any SQLDatabase, inSavepoint: Bool) async
    /// Whether `run` ended in an error (its writes were rolled back if it ran in a savepoint).
    var failed: Bool { get }
    /// Answers the caller: with its own result, or with `failure` when the batch did not commit.
    func finish(failure: (any Error)?)
}

private final class QueuedTransaction<T: Sendable>: QueuedWrite, @unchecked Sendable {
    private let body: @Sendable (any SQLDatabase) async throws -> T
    private let continuation: CheckedContinuation<T, any Error>
    // Written by `run` and read by `finish`, both on the draining task, one after the other.
    private var result: Result<T, any Error>?

    init(body: @escaping @Sendable (any SQLDatabase) async throws -> T, continuation: CheckedContinuation<T, any Error>) {
        self.body = body
        self.continuation = continuation
    }

    var failed: Bool {
        if case .failure = result { return true }
        return false
    }

    func run(on sql: any SQLDatabase, inSavepoint: Bool) async {
        guard inSavepoint else {
            do {
                result = .success(try await body(sql))
            } catch {
                result = .failure(error)
            }
            return
        }
        do {
            try await sql.raw("SAVEPOINT omnia_write").run()
            do {
                let value = try await body(sql)
                try await sql.raw("RELEASE omnia_write").run()
                result = .success(value)
            } catch {
                try await sql.raw("ROLLBACK TO omnia_write").run()
                try await sql.raw("RELEASE omnia_write").run()
                result = .failure(error)
            }
        } catch {
            result = .failure(error)
        }
    }

    func finish(failure: (any Error)?) {
        if let failure, case .success = result ?? .failure(failure) {
            continuation.resume(throwing: failure)
        } else {
            continuation.resume(with: result ?? .failure(failure ?? CancellationError()))
        }
    }
}
