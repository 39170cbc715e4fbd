import ArgumentParser
import Foundation
import OmniaCore
import OmniaServer
import Synchronization

/// `omnia import transactions|customers FILE`: loads NDJSON or CSV, reports every rejected record by
/// line, and commits the rest — or nothing with `--atomic`. Re-importing a file creates no duplicates.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import transactions or customers from an NDJSON or CSV file.",
        discussion: """
            Exit status: 0 when every record was imported, 3 when some were rejected (and listed), 1 on failure \
            (or when --atomic refused to commit).
            """
    )

    @Argument(help: "What the file holds: transactions or customers.") var kind: String
    @Argument(help: "The file: .csv is read as CSV, anything else as NDJSON (one JSON object per line).") var file: String
    @Option(help: "Tenant id (ten_…) or exact name.") var tenant: String
    @Option(help: "ndjson or csv (default: from the file name).") var format: String?
    @Flag(help: "Commit nothing unless every record is valid.") var atomic = false
    @OptionGroup var databaseOptions: DatabaseOptions

    func run() async throws {
        var refused = false
        var rejected = false
        try await runReportingErrors {
            guard let importKind = OperatorTools.ImportKind(rawValue: kind) else {
                throw ValidationError("import transactions or customers, not '\(kind)'")
            }
            let fileFormat: ImportFormat
            if let format {
                guard let parsed = ImportFormat(rawValue: format) else { throw ValidationError("--format is ndjson or csv") }
                fileFormat = parsed
            } else {
                fileFormat = ImportFormat.of(path: file)
            }
            let bar = ProgressBar(enabled: isatty(STDERR_FILENO) == 1)
            let report = try await withServices(databaseOptions) { services in
                try await OperatorTools(services: services).importFile(importKind, path: file, format: fileFormat, tenant: tenant, atomic: atomic,
                                                                       progress: { bar.show($0) })
            }
            bar.finish()
            for rejection in report.rejections {
                let fields = rejection.errors.map { "\($0.field): \($0.detail)" }.joined(separator: "; ")
                print("line \(rejection.line): \(rejection.code) — \(fields.isEmpty ? rejection.detail : fields)")
            }
            print("\(report.received) records: \(report.created) created, \(report.matched) already there, \(report.rejected) rejected"
                  + (report.committed ? "" : "; nothing committed (--atomic)"))
            refused = !report.committed
            rejected = report.rejected > 0
        }
        if refused { throw ExitCode.failure }
        if rejected { throw ExitCode(3) }
    }
}

/// A one-line progress display on standard error, redrawn in place (only on a terminal).
final class ProgressBar: Sendable {
    private let enabled: Bool
    private let started = Date()
    private let drawn = Atomic<Bool>(false)

    init(enabled: Bool) {
        self.enabled = enabled
    }

    func show(_ report: ImportReport) {
        guard enabled else { return }
        let seconds = max(Date().timeIntervalSince(started), 0.001)
        let rate = Int(Double(report.received) / seconds)
        let spinner = ["|", "/", "-", "\\"][report.received / 1_000 % 4]
        let line = "\r\(spinner) \(report.received) records · \(rate)/s · \(report.created) created · \(report.matched) already there · \(report.rejected) rejected"
        FileHandle.standardError.write(Data(line.utf8))
        drawn.store(true, ordering: .relaxed)
    }

    func finish() {
        if drawn.load(ordering: .relaxed) { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
