/// One customer as RFM sees them, over the period the server analyses. Measures are only
/// compared with each other's, so any consistent unit works; spend must be in one currency.
public struct RFMCustomer: Codable, Hashable, Sendable {
    public var id: String
    /// Whole days from the last purchase to the day of the analysis (0: bought that day).
    public var recencyDays: Int
    /// Orders in the period.
    public var frequency: Int
    /// Net spend (sales less returns) in minor units; may be negative.
    public var monetary: Int64

    public init(id: String, recencyDays: Int, frequency: Int, monetary: Int64) {
        self.id = id
        self.recencyDays = recencyDays
        self.frequency = frequency
        self.monetary = monetary
    }
}

/// A customer's R, F and M scores (1–5, 5 best), their cell ("543") and named segment.
public struct RFMScore: Codable, Hashable, Sendable {
    public var id: String
    public var recency: Int
    public var frequency: Int
    public var monetary: Int
    public var cell: String
    public var segment: RFMSegment

    /// Derives the cell and segment from the three scores.
    public init(id: String, recency: Int, frequency: Int, monetary: Int) {
        self.id = id
        self.recency = recency
        self.frequency = frequency
        self.monetary = monetary
        self.cell = "\(recency)\(frequency)\(monetary)"
        self.segment = RFMSegment(recency: recency, frequency: frequency, monetary: monetary)
    }
}

/// The boundaries of one score on each measure, for the console to show ("R 5: at most 12 days")
/// and for scoring a customer against a stored run. Each bound is the worst value among the
/// customers scored that still reaches at least this score; nil when no customer reaches it.
public struct RFMQuintile: Codable, Hashable, Sendable {
    public var score: Int
    public var recencyDaysAtMost: Int?
    public var frequencyAtLeast: Int?
    public var monetaryAtLeast: Int64?
    /// Customers with exactly this score on each measure.
    public var recencyCustomers: Int
    public var frequencyCustomers: Int
    public var monetaryCustomers: Int

    public init(score: Int, recencyDaysAtMost: Int?, frequencyAtLeast: Int?, monetaryAtLeast: Int64?, recencyCustomers: Int,
                frequencyCustomers: Int, monetaryCustomers: Int) {
        self.score = score
        self.recencyDaysAtMost = recencyDaysAtMost
        self.frequencyAtLeast = frequencyAtLeast
        self.monetaryAtLeast = monetaryAtLeast
        self.recencyCustomers = recencyCustomers
        self.frequencyCustomers = frequencyCustomers
        self.monetaryCustomers = monetaryCustomers
    }
}

/// The scores of a set of customers, in the order given, and the quintiles (scores 1…5) behind them.
public struct RFMResult: Codable, Hashable, Sendable {
    public var scores: [RFMScore]
    public var quintiles: [RFMQuintile]

    public init(scores: [RFMScore], quintiles: [RFMQuintile]) {
        self.scores = scores
        self.quintiles = quintiles
    }
}

/// Rank-based RFM quintiles over the customers given.
///
/// A customer's score on a measure is `1 + ⌊5 × w / n⌋`, where `w` is the number of the `n`
/// customers strictly worse on it (more days since their last purchase; fewer orders; less
/// spend). With distinct values each score holds a fifth of the customers. Tied customers share
/// the score of the first rank of their run — SQL's `1 + 5 * (rank() - 1) / count(*)` ordered
/// worst first — so a tie never lifts anyone above a customer who is strictly better, and the
/// many one-order customers of a typical retailer all get F 1. It follows that scores are
/// relative: a lone customer, or a measure on which everyone is equal, scores 1.
/// Three sorts: O(n log n).
public enum RFMScoring {
    /// Scores `customers` against one another; the scores keep the input order.
    public static func score(_ customers: [RFMCustomer]) -> RFMResult {
        let recency = cutoffs(customers.map(\.recencyDays), worse: >)
        let frequency = cutoffs(customers.map(\.frequency), worse: <)
        let monetary = cutoffs(customers.map(\.monetary), worse: <)
        let scores = customers.map { customer in
            RFMScore(id: customer.id, recency: level(customer.recencyDays, recency.bounds, reaches: <=),
                     frequency: level(customer.frequency, frequency.bounds, reaches: >=),
                     monetary: level(customer.monetary, monetary.bounds, reaches: >=))
        }
        let quintiles = (1...5).map { score in
            RFMQuintile(score: score, recencyDaysAtMost: recency.bounds[score - 1], frequencyAtLeast: frequency.bounds[score - 1],
                        monetaryAtLeast: monetary.bounds[score - 1], recencyCustomers: recency.counts[score - 1],
                        frequencyCustomers: frequency.counts[score - 1], monetaryCustomers: monetary.counts[score - 1])
        }
        return RFMResult(scores: scores, quintiles: quintiles)
    }

    /// Scores one customer against the quintiles of an earlier run, so one bought since can be
    /// placed without re-ranking everyone. On a customer of that run it gives the same score.
    public static func score(_ customer: RFMCustomer, quintiles: [RFMQuintile]) -> RFMScore {
        func bounds<Value>(_ bound: (RFMQuintile) -> Value?) -> [Value?] {
            (1...5).map { score in quintiles.first { $0.score == score }.flatMap(bound) }
        }
        return RFMScore(id: customer.id, recency: level(customer.recencyDays, bounds(\.recencyDaysAtMost), reaches: <=),
                        frequency: level(customer.frequency, bounds(\.frequencyAtLeast), reaches: >=),
                        monetary: level(customer.monetary, bounds(\.monetaryAtLeast), reaches: >=))
    }

    /// The worst value reaching at least each score 1…5 and how many get exactly each, from one sort.
    static func cutoffs<Value: Comparable>(_ values: [Value], worse: (Value, Value) -> Bool) -> (bounds: [Value?], counts: [Int]) {
        let sorted = values.sorted(by: worse)
        var bounds = [Value?](repeating: nil, count: 5)
        var counts = [Int](repeating: 0, count: 5)
        var reached = 0
        var start = 0
        while start < sorted.count {
            var end = start + 1
            while end < sorted.count, sorted[end] == sorted[start] { end += 1 }
            let score = 1 + 5 * start / sorted.count
            // A run that skips a score (a large tie below it) is also the bound of the skipped one.
            while reached < score {
                bounds[reached] = sorted[start]
                reached += 1
            }
            counts[score - 1] += end - start
            start = end
        }
        return (bounds, counts)
    }

    /// The highest score whose bound `value` reaches; 1 when none does.
    static func level<Value>(_ value: Value, _ bounds: [Value?], reaches: (Value, Value) -> Bool) -> Int {
        for score in stride(from: 5, through: 2, by: -1) {
            if let bound = bounds[score - 1], reaches(value, bound) { return score }
        }
        return 1
    }
}

/// The classic named RFM segments, on R and FM = ⌊(F + M) / 2⌋ — the average of frequency and
/// spend, rounded down so a one-order customer stays in the lowest band unless they spent in
/// the top fifth. The map is the widely copied R × F one (champions 5 and 4–5, …, hibernating
/// 1–2 and 1–2) with `lost` carved out of hibernating as its lowest cell; it covers every cell once:
///
/// | R \ FM | 1              | 2                   | 3                   | 4                | 5                |
/// | ------ | -------------- | ------------------- | ------------------- | ---------------- | ---------------- |
/// | 5      | new_customers  | potential_loyalists | potential_loyalists | champions        | champions        |
/// | 4      | promising      | potential_loyalists | potential_loyalists | loyal_customers  | loyal_customers  |
/// | 3      | about_to_sleep | about_to_sleep      | need_attention      | loyal_customers  | loyal_customers  |
/// | 2      | hibernating    | hibernating         | at_risk             | at_risk          | cannot_lose_them |
/// | 1      | lost           | hibernating         | at_risk             | at_risk          | cannot_lose_them |
public enum RFMSegment: String, Codable, Hashable, Sendable, CaseIterable {
    case champions
    case loyalCustomers = "loyal_customers"
    case potentialLoyalists = "potential_loyalists"
    case newCustomers = "new_customers"
    case promising
    case needAttention = "need_attention"
    case aboutToSleep = "about_to_sleep"
    case atRisk = "at_risk"
    case cannotLoseThem = "cannot_lose_them"
    case hibernating
    case lost

    /// The segment of scores 1–5 (out-of-range scores are clamped).
    public init(recency: Int, frequency: Int, monetary: Int) {
        let r = min(max(recency, 1), 5)
        let fm = (min(max(frequency, 1), 5) + min(max(monetary, 1), 5)) / 2
        self = Self.map[5 - r][fm - 1]
    }

    /// The table above, row R 5 first.
    private static let map: [[RFMSegment]] = [
        [.newCustomers, .potentialLoyalists, .potentialLoyalists, .champions, .champions],
        [.promising, .potentialLoyalists, .potentialLoyalists, .loyalCustomers, .loyalCustomers],
        [.aboutToSleep, .aboutToSleep, .needAttention, .loyalCustomers, .loyalCustomers],
        [.hibernating, .hibernating, .atRisk, .atRisk, .cannotLoseThem],
        [.lost, .hibernating, .atRisk, .atRisk, .cannotLoseThem],
    ]
}
