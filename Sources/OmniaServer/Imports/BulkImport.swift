import Foundation
import HTTPTypes
import OmniaCore
import SQLKit

/// A record an import refused: its line, and why, in the API's problem terms.
public struct ImportRejection: Codable, Sendable {
    public let line: Int
    public let code: String
    public let detail: String
    public let errors: [FieldError]
}

/// What an import did: every rejected record is listed with its line and reason.
public struct ImportReport: Encodable, Sendable {
    public var received = 0
    /// Records written for the first time.
    public var created = 0
    /// Records that matched one already there (a re-import): a sale with the same content is left as
    /// it was; a customer is updated with what the record adds.
    public var matched = 0
    public var rejected: Int { rejections.count }
    public var rejections: [ImportRejection] = []
    /// False when `atomic` refused to commit anything because some record was rejected.
    public var committed = true

    enum CodingKeys: String, CodingKey {
        case received, created, matched, rejected, rejections, committed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(received, forKey: .received)
        try container.encode(created, forKey: .created)
        try container.encode(matched, forKey: .matched)
        try container.encode(rejected, forKey: .rejected)
        try container.encode(rejections, forKey: .rejections)
        try container.encode(committed, forKey: .committed)
    }

    /// This report as an atomic import that refused to commit tells it: nothing created or matched.
    func refused() -> ImportReport {
        var report = self
        report.committed = false
        report.created = 0
        report.matched = 0
        return report
    }

    /// Reports a refused record, or rethrows what is not a refusal.
    mutating func reject(_ error: any Error, line: Int) throws {
        guard let problem = Self.refusal(error) else { throw error }
        rejections.append(ImportRejection(line: line, code: problem.code, detail: problem.detail, errors: problem.errors))
    }

    /// The problem a refused record is answered with; nil for what is not a refusal of that one
    /// record: a server error, or a `RetryableConflict` that runs the whole chunk again.
    static func refusal(_ error: any Error) -> Problem? {
        guard let convertible = error as? any ProblemConvertible, !(error is any RetryableConflict) else { return nil }
        let problem = convertible.problem
        return problem.status.code < 500 ? problem : nil
    }

    mutating func add(_ other: ImportReport) {
        received += other.received
        created += other.created
        matched += other.matched
        rejections += other.rejections
    }
}

/// How one record of an import went.
enum ImportOutcome: Sendable {
    case created(String)
    case matched(String)
}

/// Runs an import chunk by chunk inside database transactions. A record the capability refuses
/// (its service decides every refusal before writing) is reported and skipped; the others commit —
/// per chunk of `chunkSize`, or all together with `atomic`, when nothing commits if any is refused.
/// A capability applies a whole chunk (sales, in a few statements) or one record at a time (`perRecord`).
struct BulkImport: Sendable {
    let services: AppServices
    /// A chunk holds SQLite's single writer for its whole write (about 60 ms for 1,000 sales on the
    /// project's machines), so other writes wait at most that long during an import. 1,000 imported
    /// ~8 % faster than 250 (fewer commits); 2,000 and 5,000 were no faster, as a commit writes
    /// about as many pages per sale either way, and took more memory.
    var chunkSize = 1000

    typealias Apply = @Sendable (_ sql: any SQLDatabase, _ record: ImportRecord) async throws -> ImportOutcome
    /// Applies a chunk in the caller's transaction: what it did, and the ids it created.
    typealias ApplyChunk = @Sendable (_ sql: any SQLDatabase, _ records: [ImportRecord]) async throws -> (ImportReport, [String])
    /// Called once per committed chunk with the ids it created (for a summary event).
    typealias Finish = @Sendable (_ sql: any SQLDatabase, _ createdIDs: [String]) async throws -> Void

    /// Raised inside an atomic import's transaction to roll it back once every record was checked.
    struct Refused: Error {
        let report: ImportReport
    }

    func run(_ reader: ImportRecordReader, atomic: Bool, progress: @escaping @Sendable (ImportReport) -> Void = { _ in },
             apply: @escaping ApplyChunk, finish: @escaping Finish) async throws -> ImportReport {
        try await run(reader, atomic: atomic, progress: progress, prepare: { $0 }, apply: apply, finish: finish)
    }

    /// Runs an import whose chunks are first `prepare`d without the database (read, checked): the
    /// next chunk is prepared on another thread while the current one is applied and committed.
    func run<Prepared: Sendable>(_ reader: ImportRecordReader, atomic: Bool, progress: @escaping @Sendable (ImportReport) -> Void = { _ in },
                                 prepare: @escaping @Sendable ([ImportRecord]) async throws -> Prepared,
                                 apply: @escaping @Sendable (any SQLDatabase, Prepared) async throws -> (ImportReport, [String]),
                                 finish: @escaping Finish) async throws -> ImportReport {
        if atomic {
            do {
                return try await services.database.transaction { sql in
                    var report = ImportReport()
                    while case let chunk = try Self.chunk(reader, size: chunkSize), !chunk.isEmpty {
                        let (part, ids) = try await apply(sql, try await prepare(chunk))
                        report.add(part)
                        try await finish(sql, ids)
                        progress(report)
                    }
                    if !report.rejections.isEmpty { throw Refused(report: report) }
                    return report
                }
            } catch let refused as Refused {
                return refused.report.refused()
            }
        }
        // Each task reads its chunk too, so the writer does not wait for the file. The reader is
        // used by one task at a time: the next starts only once the one before has finished.
        func prepareNext() -> Task<Prepared?, any Error> {
            Task.detached { [chunkSize] in
                let chunk = try Self.chunk(reader, size: chunkSize)
                return chunk.isEmpty ? nil : try await prepare(chunk)
            }
        }
        var report = ImportReport()
        var preparing = prepareNext()
        while true {
            guard let prepared = try await preparing.value else { break }
            preparing = prepareNext()
            var attempt = 0
            while true {
                attempt += 1
                do {
                    let part = try await services.database.transaction { sql in
                        let (part, ids) = try await apply(sql, prepared)
                        try await finish(sql, ids)
                        return part
                    }
                    report.add(part)
                    break
                } catch is any RetryableConflict where attempt < 5 {
                    continue
                }
            }
            progress(report)
        }
        return report
    }

    /// A chunk applied record by record with `apply`.
    static func perRecord(_ apply: @escaping Apply) -> ApplyChunk {
        { sql, records in try await process(records, on: sql, apply: apply) }
    }

    /// Applies one chunk (up to the HTTP bulk limit) in the caller's transaction.
    static func process(_ records: [ImportRecord], on sql: any SQLDatabase, apply: Apply) async throws -> (ImportReport, [String]) {
        var report = ImportReport()
        var created: [String] = []
        for record in records {
            report.received += 1
            if let problem = record.problem {
                report.rejections.append(ImportRejection(line: record.line, code: problem.code, detail: problem.detail, errors: problem.errors))
                continue
            }
            do {
                switch try await apply(sql, record) {
                case .created(let id):
                    report.created += 1
                    created.append(id)
                case .matched:
                    report.matched += 1
                }
            } catch {
                try report.reject(error, line: record.line)
            }
        }
        return (report, created)
    }

    static func chunk(_ reader: ImportRecordReader, size: Int) throws -> [ImportRecord] {
        var records: [ImportRecord] = []
        while records.count < size, let record = try reader.next() { records.append(record) }
        return records
    }
}
