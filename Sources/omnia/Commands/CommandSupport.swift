import ArgumentParser
import Foundation
import Logging
import OmniaCore
import OmniaServer

/// Options every command that touches the database shares.
struct DatabaseOptions: ParsableArguments {
    @Option(help: "Database URL: sqlite:PATH (default sqlite:./omnia.sqlite) or postgres://user:pass@host:5432/db. Env: OMNIA_DATABASE_URL.")
    var database: String?

    func url() throws -> DatabaseURL {
        if let database { return try DatabaseURL(parsing: database) }
        return try AppConfig.fromEnvironment().database
    }
}

/// Runs a command body and turns any failure into one line on standard error and exit status 1:
/// operators see "omnia: cannot open database …", never a stack trace.
func runReportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ExitCode {
        throw error
    } catch let error as CleanExit {
        throw error
    } catch {
        FileHandle.standardError.write(Data("omnia: \(describeFailure(error))\n".utf8))
        throw ExitCode.failure
    }
}

func describeFailure(_ error: any Error) -> String {
    if let problem = error as? Problem {
        let fields = problem.errors.map { "\($0.field): \($0.detail)" }.joined(separator: "; ")
        return fields.isEmpty ? problem.detail : fields
    }
    if let database = databaseFailureDescription(error) { return database }
    let text = String(describing: error)
    if text.contains("Address already in use") { return "the port is already in use; choose another with --port" }
    if text.contains("Cannot assign requested address") || text.contains("Name or service not known") {
        return "cannot listen on that host; use an address of this machine such as 127.0.0.1"
    }
    return text.split(separator: "\n").first.map(String.init) ?? text
}

/// A quiet logger for tools that print their own output.
func commandLogger(_ level: Logger.Level = .warning) -> Logger {
    var logger = Logger(label: "omnia")
    logger.logLevel = level
    return logger
}

/// Opens the database, builds services and runs `body`, closing the database afterwards.
func withServices<T: Sendable>(_ options: DatabaseOptions, _ body: (AppServices) async throws -> T) async throws -> T {
    var config = try AppConfig.fromEnvironment()
    config.database = try options.url()
    config.runWorkers = false
    let logger = commandLogger()
    let finalConfig = config
    return try await DatabaseFactory.with(config.database, logger: logger) { database in
        try await body(AppServices(config: finalConfig, database: database, logger: logger))
    }
}
