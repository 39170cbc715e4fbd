import HTTPTypes
import Synchronization

/// A token bucket per API key: `ratePerSecond` sustained with bursts up to `burst`. Counted per
/// process; with several servers each enforces its own share.
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    let ratePerSecond: Double
    let burst: Double
    private let buckets = Mutex<[String: Bucket]>([:])

    init(ratePerSecond: Double, burst: Double) {
        self.ratePerSecond = ratePerSecond
        self.burst = max(1, burst)
    }

    /// Takes one token for `key`, or refuses the request with 429 `rate_limited` and `Retry-After`;
    /// `exceeded` completes "this key …" in the detail (e.g. "sent more than 1000 requests per second").
    func admit(_ key: String, exceeded: @autoclosure () -> String) throws {
        guard let retryAfter = take(key) else { return }
        throw Problem(.tooManyRequests, code: "rate_limited", detail: "this key \(exceeded()); retry after \(retryAfter) s",
                      headers: [.retryAfter: String(retryAfter)])
    }

    /// Takes one token for `key`; returns nil when allowed, or how many whole seconds to wait.
    func take(_ key: String, now: ContinuousClock.Instant = .now) -> Int? {
        buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: burst, updated: now)
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(burst, bucket.tokens + seconds * ratePerSecond)
            bucket.updated = now
            defer { buckets[key] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return max(1, Int(((1 - bucket.tokens) / ratePerSecond).rounded(.up)))
        }
    }
}
