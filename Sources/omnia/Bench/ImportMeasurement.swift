import Foundation
import OmniaServer

/// `omnia bench --scenario import.transactions`: writes an NDJSON file of five-line sales by known
/// customers, imports it with `omnia import`'s code in this process, and reports records per second
/// and the process's peak resident memory (the file streams; memory must stay flat).
enum ImportMeasurement {
    static func run(database: DatabaseURL, databaseLabel: String, folder: URL, records: Int) async throws -> BenchResult {
        let path = folder.appendingPathComponent("import.ndjson").path
        try writeFile(path, records: records)
        let (seconds, report) = try await DatabaseFactory.with(database, logger: commandLogger()) { store in
            let services = AppServices(config: AppConfig(), database: store, logger: commandLogger())
            let seeded = try await DemoSeed.run(services, tenantName: "Import bench \(UUID().uuidString.prefix(8))")
            try await BenchSeed.customers(services, tenantID: seeded.tenantID, count: BenchScenario.salesCustomers)
            let started = DispatchTime.now().uptimeNanoseconds
            let report = try await OperatorTools(services: services).importFile(.transactions, path: path, format: .ndjson, tenant: seeded.tenantID,
                                                                                atomic: false) { _ in }
            return (Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9, report)
        }
        let peak = peakResidentMegabytes()
        let rate = Double(report.created) / seconds
        print(String(format: "imported %d transactions (%d rejected) in %.1f s: %.0f/s; peak RSS %.0f MB", report.created, report.rejected, seconds, rate, peak))
        return BenchResult(scenario: "import.transactions", database: databaseLabel, connections: 1, duration: seconds,
                           latenciesNanoseconds: [UInt64](repeating: UInt64(seconds * 1e9 / Double(max(report.created, 1))), count: report.created),
                           errors: report.rejected,
                           target: String(format: ">= 20000/s (sqlite, 5 lines), RSS <= 300 MB at 1,000,000; peak RSS %.0f MB", peak))
    }

    /// Sales spread over the demo's channels and a year, each by one of the seeded loyalty cards.
    static func writeFile(_ path: String, records: Int) throws {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: path) else { throw BenchError("cannot write \(path)") }
        defer { try? handle.close() }
        let channels = ["store-madrid-01", "store-barcelona-01", "web", "app", "call-center"]
        var buffer = ""
        for index in 0..<records {
            let lines = (0..<5).map { line in
                "{\"sku\":\"SKU-\((index + line) % 211)\",\"name\":\"Item \(line)\",\"category\":\"cat-\((index + line) % 13)\",\"quantity\":\(1 + line % 2),\"unit_price\":\(995 + 100 * line)}"
            }.joined(separator: ",")
            let day = index % 365
            buffer += "{\"external_id\":\"I-\(index)\",\"channel\":\"\(channels[index % channels.count])\",\"occurred_at\":\"2025-\(String(format: "%02d", day / 31 % 12 + 1))-\(String(format: "%02d", day % 28 + 1))T10:15:00Z\",\"currency\":\"EUR\","
                + "\"customer\":{\"loyalty_card\":\"\(BenchSeed.card(index % BenchScenario.salesCustomers))\"},\"lines\":[\(lines)]}\n"
            if buffer.utf8.count > 1 << 20 {
                handle.write(Data(buffer.utf8))
                buffer = ""
            }
        }
        handle.write(Data(buffer.utf8))
    }

    /// VmHWM of this process, in megabytes (Linux); 0 where unavailable.
    static func peakResidentMegabytes() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kilobytes / 1024
    }
}
