import Synchronization
import Testing

/// What the group commit tests share: runs `burst` while every writer place of a group commit
/// queue is held (`occupy` holds place `index` until `gate` opens), opens them once `waiting()`
/// reaches `count`, and returns what `burst` returned. The caller checks the queue's statistics.
enum GroupBurst {
    static func run<Result: Sendable>(count: Int, writers: Int, what: String, waiting: @escaping @Sendable () -> Int,
                                      occupy: @escaping @Sendable (_ index: Int, _ gate: Gate) async throws -> Void,
                                      _ burst: @escaping @Sendable () async throws -> Result) async throws -> Result {
        let gate = Gate()
        let blockers = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<writers { group.addTask { try await occupy(index, gate) } }
                try await group.waitForAll()
            }
        }
        while gate.waiters < writers { try await Task.sleep(for: .milliseconds(5)) }
        let running = Task { try await burst() }
        var waited = 0
        while waiting() < count {
            try await Task.sleep(for: .milliseconds(5))
            waited += 1
            #expect(waited < 2_000, "only \(waiting()) of \(count) \(what) queued")
            if waited >= 2_000 { break }
        }
        gate.open()
        try await blockers.value
        return try await running.value
    }
}

/// Holds whoever waits on it until it is opened.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    var waiters: Int { state.withLock { $0.waiting.count } }

    func wait() async {
        await withCheckedContinuation { continuation in
            let isOpen = state.withLock { state in
                if !state.open { state.waiting.append(continuation) }
                return state.open
            }
            if isOpen { continuation.resume() }
        }
    }

    func open() {
        let waiting = state.withLock { state in
            state.open = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }
}
