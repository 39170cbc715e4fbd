import Foundation
import Logging
import SQLiteNIO
import Synchronization

/// Copies the WAL back into the database file on a thread of its own, so the single writer never
/// stalls on a checkpoint's `fsync` (SQLite's automatic checkpoint runs inside the commit that
/// crosses the threshold, and made the slowest writes several milliseconds slower). A PASSIVE
/// checkpoint takes no lock writers wait for; once every frame is copied and no reader needs the
/// old ones, the writer starts the WAL from its beginning again, so the file stays small.
///
/// Under steady reads that restart may never come: some reader always holds a snapshot in the WAL,
/// and the writer keeps appending. So once the WAL holds `restartFrames` frames, a RESTART
/// checkpoint holds writers off while it waits (at most ~200 ms) for the readers to finish,
/// copies the rest and makes the next write start the WAL over; `journal_size_limit` then cuts
/// the file back.
///
/// What the RESTART holds writers off for is mostly its `fsync` of the database file, and SQLite
/// syncs that file only at the end of a checkpoint that reached the WAL's end — which under steady
/// writes no PASSIVE one does. So the RESTART used to flush every page copied since the last
/// restart (10–20 ms, the redemption bench's slowest requests). Before it, this thread now flushes
/// the file itself and copies what arrived meanwhile, until little is left (`flushRounds`).
///
/// A writer that is never idle (a bulk import commits chunk after chunk) leaves it no gap to take
/// the write lock in; then, once the WAL is `writerRestartFactor` times that long, `restartWanted`
/// asks the writer to run the RESTART itself between two commits.
public final class SQLiteCheckpointer: Sendable {
    static let interval: TimeInterval = 0.1
    /// WAL frames (pages of 4 KiB) above which the log is restarted once copied (≈ 40 MB).
    public static let defaultRestartFrames = 10_000
    /// How many times `restartFrames` the WAL must hold before the writer is asked to restart it.
    /// The writer's RESTART copies the frames of its last commits and waits for the `fsync` of the
    /// database file — about 100 ms while a large import runs, whatever the WAL's length — so a
    /// longer log pays it less often: at 5× a 1,000,000-sale import spends ~1 s in it, not ~5.6 s
    /// (≈ 200 MB of WAL at most, cut back to `journalSizeLimit` after).
    static let writerRestartFactor = 5
    /// What a restarted WAL file is truncated to, in bytes.
    static let journalSizeLimit = 64 * 1024 * 1024
    /// At most this many flush-and-copy rounds before a RESTART; a round that found fewer than
    /// `settledFrames` new frames to copy ends them (its pages flush in about a millisecond).
    static let flushRounds = 6
    static let settledFrames = 200
    /// Frames above which the WAL is reported as growing, at most once a minute (≈ 400 MB of WAL).
    static let warnFrames = 100_000

    private let connection: SQLiteConnectionHandle
    private let logger: Logger
    private let restartFrames: Int
    private let state = Mutex<(stopped: Bool, thread: Thread?)>((false, nil))
    /// Set when the WAL is long and this thread's RESTART found the writer busy.
    let restartWanted = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    init(path: String, restartFrames: Int = SQLiteCheckpointer.defaultRestartFrames, logger: Logger) throws {
        connection = try SQLiteConnectionHandle(path: path)
        // Bounds how long a RESTART holds writers off while it waits for readers (~200 ms); a
        // checkpoint that times out is tried again at the next turn.
        connection.pollWhenBusy(everyMicroseconds: 100, attempts: 2_000)
        try connection.execute("PRAGMA journal_size_limit = \(Self.journalSizeLimit)", []) { _, _ in }
        self.restartFrames = restartFrames
        self.logger = logger
    }

    func start() {
        let thread = Thread { [self] in
            var lastWarning = Date.distantPast
            while !state.withLock({ $0.stopped }) {
                Thread.sleep(forTimeInterval: Self.interval)
                if let frames = checkpoint(), frames > Self.warnFrames, Date().timeIntervalSince(lastWarning) > 60 {
                    lastWarning = Date()
                    logger.warning("the SQLite WAL is growing faster than it is checkpointed", metadata: ["frames": "\(frames)"])
                }
            }
            _ = checkpoint()
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

    /// One turn: a PASSIVE checkpoint, then a RESTART if the WAL has grown long, after flushing
    /// what the PASSIVE ones copied. Returns the frames the WAL held, nil if the checkpoint failed.
    func checkpoint() -> Int? {
        do {
            guard var frames = try run("PASSIVE") else { return nil }
            if frames >= restartFrames {
                try flushCopiedPages(after: &frames)
                // Busy (the writer or readers did not let go in time) is no error: the writer is
                // asked to restart the log between two commits.
                let restarted = (try? run("RESTART")) != nil
                restartWanted.store(!restarted && frames >= restartFrames * Self.writerRestartFactor, ordering: .releasing)
            }
            return frames
        } catch {
            logger.error("SQLite checkpoint failed", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Flushes the database file and copies the frames committed meanwhile, until a round finds
    /// few new ones, then flushes once more: the RESTART after it has only its own last frames to
    /// flush while it holds writers off. Writers go on during all of this.
    /// `frames`: the WAL's frames after the last PASSIVE checkpoint, kept current.
    private func flushCopiedPages(after frames: inout Int) throws {
        for _ in 0..<Self.flushRounds {
            try connection.syncDatabaseFile()
            guard let next = try run("PASSIVE") else { break }
            let added = next - frames
            frames = next
            if added < Self.settledFrames { break }
        }
        try connection.syncDatabaseFile()
    }

    /// Runs `PRAGMA wal_checkpoint(mode)`: the frames in the WAL, or nil if it was busy.
    private func run(_ mode: String) throws -> Int? {
        var frames: Int?
        try connection.execute("PRAGMA wal_checkpoint(\(mode))", []) { _, values in
            // (busy, frames in the WAL, frames copied)
            guard values.count == 3, values[0].integer == 0 else { return }
            frames = values[1].integer
        }
        return frames
    }
}
