/// A measured phase cut into 100 ms windows by when each response ended: how many ended in the
/// window and their p50, p99 and maximum latency. A tail made of stalls shows as a few windows
/// with few responses followed by windows of long latencies (the backlog); a tail spread out shows
/// in every window. `omnia bench --timeline FILE` writes it as CSV.
struct LatencyTimeline {
    struct Window {
        let startMilliseconds: Int
        let responses: Int
        let p50: Double
        let p99: Double
        let max: Double
    }

    static let windowNanoseconds: UInt64 = 100_000_000
    let windows: [Window]

    init(_ outcomes: [LoadOutcome], from start: UInt64) {
        var byWindow: [Int: [UInt64]] = [:]
        for outcome in outcomes {
            for (ended, latency) in zip(outcome.completions, outcome.latencies) {
                byWindow[Int((ended &- start) / Self.windowNanoseconds), default: []].append(latency)
            }
        }
        // Every window up to the last, empty ones included: a window with no response is a stall.
        windows = (0..<(byWindow.keys.max().map { $0 + 1 } ?? 0)).map { index in
            let sorted = (byWindow[index] ?? []).sorted()
            func milliseconds(_ fraction: Double) -> Double {
                sorted.isEmpty ? 0 : Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]) / 1e6
            }
            return Window(startMilliseconds: index * Int(Self.windowNanoseconds / 1_000_000), responses: sorted.count,
                          p50: milliseconds(0.5), p99: milliseconds(0.99), max: sorted.last.map { Double($0) / 1e6 } ?? 0)
        }
    }

    var csv: String {
        var text = "window_start_ms,responses,p50_ms,p99_ms,max_ms\n"
        for window in windows {
            text += "\(window.startMilliseconds),\(window.responses),\(format(window.p50)),\(format(window.p99)),\(format(window.max))\n"
        }
        return text
    }

    private func format(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
