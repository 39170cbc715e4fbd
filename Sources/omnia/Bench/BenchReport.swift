import Foundation

/// Latencies and outcome of one scenario run, printed as a table row and written as JSON.
struct BenchResult: Codable, Sendable {
    let scenario: String
    let database: String
    let connections: Int
    let durationSeconds: Double
    let requests: Int
    let errors: Int
    let throughputPerSecond: Double
    let p50Ms: Double
    let p95Ms: Double
    let p99Ms: Double
    let maxMs: Double
    let target: String
    let date: String
    /// `omnia serve` processes the connections were spread over.
    let servers: Int
    /// Requests a second offered at a fixed rate (`--rate`), or nil for a closed loop.
    let offeredRate: Double?
    /// The books check after a gift card scenario (`Bench.checkBooks`).
    var books: String?

    enum CodingKeys: String, CodingKey {
        case scenario, database, connections, requests, errors, target, date, servers, books
        case offeredRate = "offered_rate"
        case durationSeconds = "duration_seconds"
        case throughputPerSecond = "throughput_per_second"
        case p50Ms = "p50_ms"
        case p95Ms = "p95_ms"
        case p99Ms = "p99_ms"
        case maxMs = "max_ms"
    }

    init(scenario: String, database: String, connections: Int, duration: Double, latenciesNanoseconds: [UInt64], errors: Int, target: String,
         servers: Int = 1, offeredRate: Double? = nil) {
        let sorted = latenciesNanoseconds.sorted()
        func percentile(_ fraction: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let index = min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.up)) - 1)
            return Double(sorted[max(0, index)]) / 1_000_000
        }
        self.scenario = scenario
        self.database = database
        self.connections = connections
        self.durationSeconds = duration
        self.requests = sorted.count
        self.errors = errors
        self.throughputPerSecond = duration > 0 ? Double(sorted.count) / duration : 0
        self.p50Ms = percentile(0.50)
        self.p95Ms = percentile(0.95)
        self.p99Ms = percentile(0.99)
        self.maxMs = Double(sorted.last ?? 0) / 1_000_000
        self.target = target
        self.date = ISO8601DateFormatter().string(from: Date())
        self.servers = servers
        self.offeredRate = offeredRate
    }

    static let header = columns(["scenario", "database", "conns", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "target"])

    var row: String {
        Self.columns([scenario, database, String(connections), String(requests), String(errors), String(format: "%.0f", throughputPerSecond),
                      String(format: "%.2f", p50Ms), String(format: "%.2f", p95Ms), String(format: "%.2f", p99Ms), String(format: "%.2f", maxMs),
                      target])
    }

    private static let widths = [17, 9, 6, 9, 7, 8, 8, 8, 8, 8]

    /// Pads each cell to its column (the last is free text).
    private static func columns(_ cells: [String]) -> String {
        cells.enumerated().map { index, cell in
            index < widths.count ? cell.padding(toLength: max(widths[index], cell.count + 1), withPad: " ", startingAt: 0) : cell
        }.joined()
    }
}
