import Synchronization

/// Requests of one kind arriving at the same moment, written as groups: one statement or one
/// transaction for many, where each alone would pay its own parse, plan, round trip and commit.
///
/// Nothing waits for a timer. An item arriving while fewer than `writersPerKey` writes of its key
/// run is handled alone at once (the caller's ordinary path); the items arriving while that many
/// run wait, and the first write to finish takes all of them (up to `maximumGroup`) as one group,
/// and so on until none wait: a group is as large as the load makes it, and a lone request is as
/// fast as without the queue.
final class GroupCommitQueue<Item: Sendable, Outcome: Sendable>: Sendable {
    private enum Turn: Sendable {
        /// A writer's place was free: handle the item alone now, then hand the place over.
        case lead
        case grouped(Outcome)
    }

    private struct Waiting {
        let item: Item
        let continuation: CheckedContinuation<Turn, Never>
    }

    /// One key's writes: how many run, and the items that arrived while all places were taken.
    private struct Queue {
        var writers = 0
        var waiting: [Waiting] = []
    }

    let writersPerKey: Int
    let maximumGroup: Int
    /// Writes a group, giving each item its outcome in order; it must not throw (an item's failure is its outcome).
    private let writeGroup: @Sendable ([Item]) async -> [Outcome]
    /// A key's queue exists while any of its writes runs.
    private let queues = Mutex<[String: Queue]>([:])

    init(writersPerKey: Int, maximumGroup: Int, writeGroup: @escaping @Sendable ([Item]) async -> [Outcome]) {
        precondition(writersPerKey > 0 && maximumGroup > 0)
        self.writersPerKey = writersPerKey
        self.maximumGroup = maximumGroup
        self.writeGroup = writeGroup
    }

    /// Items waiting for a group now, over all keys.
    var waitingCount: Int { queues.withLock { $0.values.reduce(0) { $0 + $1.waiting.count } } }

    /// Handles `item` alone (`alone`), or waits for its group's outcome and hands it to `grouped`.
    func submit<Result: Sendable>(_ item: Item, key: String, alone: () async throws -> Result,
                                  grouped: (Outcome) async throws -> Result) async throws -> Result {
        let turn = await withCheckedContinuation { (continuation: CheckedContinuation<Turn, Never>) in
            let isLead = queues.withLock { queues in
                var queue = queues[key] ?? Queue()
                defer { queues[key] = queue }
                guard queue.writers == writersPerKey else {
                    queue.writers += 1
                    return true
                }
                queue.waiting.append(Waiting(item: item, continuation: continuation))
                return false
            }
            if isLead { continuation.resume(returning: .lead) }
        }
        switch turn {
        case .lead:
            defer { handOver(key) }
            return try await alone()
        case .grouped(let outcome):
            return try await grouped(outcome)
        }
    }

    /// After a write of `key`: the items that arrived meanwhile are written next, or the writer's place is free again.
    private func handOver(_ key: String) {
        guard let group = takeGroup(key) else { return }
        Task { await self.drain(key, first: group) }
    }

    /// Writes groups until none wait, then frees its writer's place.
    private func drain(_ key: String, first: [Waiting]) async {
        var group = first
        while true {
            let outcomes = await writeGroup(group.map(\.item))
            precondition(outcomes.count == group.count, "a group's write gives each item an outcome")
            for (waiting, outcome) in zip(group, outcomes) { waiting.continuation.resume(returning: .grouped(outcome)) }
            guard let next = takeGroup(key) else { return }
            group = next
        }
    }

    /// The next group of `key`, or nil after freeing the caller's writer place when none waits.
    private func takeGroup(_ key: String) -> [Waiting]? {
        queues.withLock { queues in
            guard var queue = queues[key] else { return nil }
            guard !queue.waiting.isEmpty else {
                queue.writers -= 1
                queues[key] = queue.writers == 0 ? nil : queue
                return nil
            }
            let taken = Array(queue.waiting.prefix(maximumGroup))
            queue.waiting.removeFirst(taken.count)
            queues[key] = queue
            return taken
        }
    }
}
