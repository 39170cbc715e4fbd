/// One purchase in a customer's journey: when, and in which channel (a channel kind such as
/// "store" or "web", or a channel code — whichever grain the analysis wants).
public struct ChannelPurchase: Codable, Hashable, Sendable {
    /// Epoch milliseconds.
    public var at: Int64
    public var channel: String

    public init(at: Int64, channel: String) {
        self.at = at
        self.channel = channel
    }
}

/// Counts, customer by customer, which channel each purchase is followed by, so the server can
/// stream customers from a query page by page without holding every journey at once.
public struct ChannelTransitionCounter: Sendable {
    private var counts: [String: [String: Int]] = [:]
    private var seen: Set<String> = []
    /// Customers with at least one purchase.
    public private(set) var customers = 0
    /// Customers who bought in two or more distinct channels.
    public private(set) var crossChannelCustomers = 0

    public init() {}

    /// Adds one customer's purchases, in any order; all of a customer's purchases belong in one call.
    /// Purchases at the same instant are ordered by channel, so the result never depends on input order.
    public mutating func add(_ purchases: [ChannelPurchase]) {
        guard !purchases.isEmpty else { return }
        let ordered = purchases.sorted { ($0.at, $0.channel) < ($1.at, $1.channel) }
        for (from, to) in zip(ordered, ordered.dropFirst()) {
            counts[from.channel, default: [:]][to.channel, default: 0] += 1
        }
        let channels = Set(ordered.map(\.channel))
        seen.formUnion(channels)
        customers += 1
        if channels.count >= 2 { crossChannelCustomers += 1 }
    }

    /// The matrix over the channels in `order` (in that order, even unused ones, so a console grid
    /// keeps its shape), then every other channel seen, sorted.
    public func matrix(order: [String] = []) -> ChannelTransitionMatrix {
        var channels: [String] = []
        for channel in order where !channels.contains(channel) { channels.append(channel) }
        channels += seen.subtracting(channels).sorted()
        let grid = channels.map { from in channels.map { to in counts[from]?[to] ?? 0 } }
        return ChannelTransitionMatrix(channels: channels, counts: grid, customers: customers, crossChannelCustomers: crossChannelCustomers)
    }
}

/// How customers move between channels from one purchase to their next: a first-order transition
/// matrix, row = channel of a purchase, column = channel of the same customer's next purchase.
public struct ChannelTransitionMatrix: Codable, Hashable, Sendable {
    public var channels: [String]
    /// `counts[i][j]`: purchases in `channels[i]` whose next purchase was in `channels[j]`.
    public var counts: [[Int]]
    /// Transitions out of each channel (a customer's last purchase starts none).
    public var rowTotals: [Int]
    /// Each row's counts over its total, rounded to `decimals` places; all zeros for a row with
    /// no transitions, never NaN. The exact fractions are `counts[i][j] / rowTotals[i]`.
    public var probabilities: [[Double]]
    public var transitions: Int
    /// Customers with at least one purchase.
    public var customers: Int
    /// Customers who bought in two or more distinct channels, and their share of `customers`.
    public var crossChannelCustomers: Int
    public var crossChannelShare: Double

    /// Four places: a hundredth of a percentage point, finer than any console shows.
    public static let decimals = 4

    public init(channels: [String], counts: [[Int]], customers: Int, crossChannelCustomers: Int) {
        self.channels = channels
        self.counts = counts
        rowTotals = counts.map { $0.reduce(0, +) }
        probabilities = zip(counts, rowTotals).map { row, total in row.map { Self.ratio($0, total) } }
        transitions = rowTotals.reduce(0, +)
        self.customers = customers
        self.crossChannelCustomers = crossChannelCustomers
        crossChannelShare = Self.ratio(crossChannelCustomers, customers)
    }

    /// Purchases in `from` followed by one in `to`; 0 for a channel not in the matrix.
    public func count(from: String, to: String) -> Int {
        guard let i = channels.firstIndex(of: from), let j = channels.firstIndex(of: to) else { return 0 }
        return counts[i][j]
    }

    /// The rounded probability that a purchase in `from` is followed by one in `to`.
    public func probability(from: String, to: String) -> Double {
        guard let i = channels.firstIndex(of: from), let j = channels.firstIndex(of: to) else { return 0 }
        return probabilities[i][j]
    }

    /// `part / whole` rounded to `decimals` places, 0 when `whole` is 0.
    static func ratio(_ part: Int, _ whole: Int) -> Double {
        guard whole > 0 else { return 0 }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        return (Double(part) / Double(whole) * scale).rounded() / scale
    }
}

/// Transition matrices from whole journeys at once.
public enum ChannelTransitions {
    /// The matrix of `journeys`, one per customer (see `ChannelTransitionCounter.matrix(order:)`).
    public static func matrix(_ journeys: [[ChannelPurchase]], order: [String] = []) -> ChannelTransitionMatrix {
        var counter = ChannelTransitionCounter()
        for journey in journeys { counter.add(journey) }
        return counter.matrix(order: order)
    }
}
