import Foundation
import Logging
import SQLiteNIO
import Synchronization

/// Copies the WAL back into the database file on a thread of its own, so the single writer never
/// stalls on a checkpoint's `fsync` (SQLite's automatic checkpoint runs inside the commit that
/// crosses the threshold, and made the slowest writes several milliseconds slower). A PASSIVE
/// checkpoint takes no lock writers wait for; once every frame is copied and no reader needs the
/// old ones, the writer starts the WAL from its beginning again, so the file stays small.
final class SQLiteCheckpointer: Sendable {
    static let interval: TimeInterval = 0.1
    /// Frames above which a checkpoint that could not copy everything is logged (≈ 400 MB of WAL).
    static let warnFrames = 100_000

    private let connection: SQLiteConnectionHandle
    private let logger: Logger
    private let state = Mutex<(stopped: Bool, thread: Thread?)>((false, nil))
    private let finished = DispatchSemaphore(value: 0)

    init(path: String, logger: Logger) throws {
        connection = try SQLiteConnectionHandle(path: path)
        try connection.execute("PRAGMA busy_timeout = 5000", []) { _, _ in }
        self.logger = logger
    }

    func start() {
        let thread = Thread { [self] in
            while !state.withLock({ $0.stopped }) {
                Thread.sleep(forTimeInterval: Self.interval)
                checkpoint()
            }
            checkpoint()
            connection.close()
            finished.signal()
        }
        thread.name = "sqlite-checkpoint"
        state.withLock { $0.thread = thread }
        thread.start()
    }

    /// Stops the thread after one last checkpoint and waits for it.
    func stop() {
        let running = state.withLock { state -> Bool in
            defer { state.stopped = true }
            return state.thread != nil && !state.stopped
        }
        if running { finished.wait() }
    }

    private func checkpoint() {
        do {
            try connection.execute("PRAGMA wal_checkpoint(PASSIVE)", []) { _, values in
                // (busy, frames in the WAL, frames copied)
                guard values.count == 3, let frames = values[1].integer, let copied = values[2].integer else { return }
                if frames > Self.warnFrames && copied < frames {
                    logger.warning("the SQLite WAL is growing faster than it is checkpointed", metadata: ["frames": "\(frames)", "copied": "\(copied)"])
                }
            }
        } catch {
            logger.error("SQLite checkpoint failed", metadata: ["error": "\(error)"])
        }
    }
}
