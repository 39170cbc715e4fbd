import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// Start-to-ready time and idle memory of `omnia serve --demo` on a new SQLite file: spawn, poll
/// `/readyz` until it answers 200, then let the server idle and read its resident memory.
enum StartupMeasurement {
    static func run(databaseLabel: String, folder: URL, samples: Int = 5) async throws -> BenchResult {
        var readyTimes: [UInt64] = []
        var resident: Double = 0
        for sample in 0..<samples {
            let path = folder.appendingPathComponent("startup-\(sample).sqlite").path
            let start = DispatchTime.now().uptimeNanoseconds
            let server = try ServerProcess(arguments: ["--demo", "--demo-transactions", "0", "--database", "sqlite:\(path)", "--log-level", "error"])
            defer { server.stop() }
            let port = try await server.port()
            while true {
                if let connection = try? await LoadConnection.connect(host: "127.0.0.1", port: port, group: MultiThreadedEventLoopGroup.singleton) {
                    let status = try? await connection.send(method: .GET, path: "/readyz", headers: [], body: nil).status
                    await connection.close()
                    if status == 200 { break }
                }
                try await Task.sleep(for: .milliseconds(2))
            }
            readyTimes.append(DispatchTime.now().uptimeNanoseconds - start)
            if sample == samples - 1 {
                // Exercise the demo once, then idle, as an operator's server would sit.
                if let key = server.printedKey {
                    let connection = try await LoadConnection.connect(host: "127.0.0.1", port: port, group: MultiThreadedEventLoopGroup.singleton)
                    for _ in 0..<100 { _ = try await connection.send(method: .GET, path: "/v1/channels", headers: [("Authorization", "Bearer \(key)")], body: nil) }
                    await connection.close()
                }
                try await Task.sleep(for: .seconds(3))
                resident = server.residentMegabytes ?? 0
            }
        }
        let result = BenchResult(scenario: "startup", database: databaseLabel, connections: 1, duration: 0,
                                 latenciesNanoseconds: readyTimes, errors: 0,
                                 target: String(format: "ready <= 1000 ms (p50/max above); idle RSS %.1f MB <= 100 MB", resident))
        return result
    }
}
