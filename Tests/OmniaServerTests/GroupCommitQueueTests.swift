@testable import OmniaServer
import Synchronization
import Testing

@Suite("Group commit queue")
struct GroupCommitQueueTests {
    @Test("items arriving while the writers are busy are written in groups of at most the maximum, each getting its own outcome")
    func groupsFormWhileWritersAreBusy() async throws {
        let sizes = Mutex<[Int]>([])
        let queue = GroupCommitQueue<Int, Int>(writersPerKey: 1, maximumGroup: 3) { items in
            sizes.withLock { $0.append(items.count) }
            return items.map { $0 * 10 }
        }
        let gate = Gate()
        let lead = Task {
            try await queue.submit(1, key: "a", alone: { await gate.wait(); return -1 }, grouped: { $0 })
        }
        while gate.waiters < 1 { try await Task.sleep(for: .milliseconds(1)) }

        // Another key has its own writer places: it is not held up by key "a".
        let other = try await queue.submit(100, key: "b", alone: { 0 }, grouped: { $0 })
        #expect(other == 0, "alone, at once")

        let waiting = Task {
            try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                for item in 2...8 {
                    group.addTask { (item, try await queue.submit(item, key: "a", alone: { -1 }, grouped: { $0 })) }
                }
                return try await group.reduce(into: [Int: Int]()) { $0[$1.0] = $1.1 }
            }
        }
        while queue.waitingCount < 7 { try await Task.sleep(for: .milliseconds(1)) }
        #expect(sizes.withLock { $0 }.isEmpty, "nothing is written while the writer is busy")
        gate.open()

        #expect(try await lead.value == -1)
        let outcomes = try await waiting.value
        #expect(outcomes == Dictionary(uniqueKeysWithValues: (2...8).map { ($0, $0 * 10) }))
        #expect(sizes.withLock { $0 } == [3, 3, 1])
        #expect(queue.waitingCount == 0)

        // Once idle, the next item is the lead again.
        #expect(try await queue.submit(9, key: "a", alone: { 0 }, grouped: { $0 }) == 0)
    }
}
