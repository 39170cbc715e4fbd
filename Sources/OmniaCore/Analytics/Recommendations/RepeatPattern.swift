/// A customer's habit of buying one item again: on how many days they bought it, the typical
/// (median) gap between those days, and when and where they last did.
public struct RepeatPattern: Codable, Hashable, Sendable {
    public var sku: String
    /// Distinct UTC days with a purchase of it; at least 2.
    public var purchaseDays: Int
    /// The median gap between consecutive purchase days.
    public var intervalDays: Double
    public var lastTime: Int64
    public var lastChannelKind: String
    /// Units bought on the last day, and on a typical (median) day: buying double lasts longer.
    public var lastQuantity: Int
    public var typicalQuantity: Int

    public init(sku: String, purchaseDays: Int, intervalDays: Double, lastTime: Int64, lastChannelKind: String, lastQuantity: Int,
                typicalQuantity: Int) {
        self.sku = sku
        self.purchaseDays = purchaseDays
        self.intervalDays = intervalDays
        self.lastTime = lastTime
        self.lastChannelKind = lastChannelKind
        self.lastQuantity = lastQuantity
        self.typicalQuantity = typicalQuantity
    }

    /// The items of `history` bought on at least two different days, by SKU.
    public static func detect(in history: [PurchaseRecord]) -> [String: RepeatPattern] {
        var bySKU: [String: [PurchaseRecord]] = [:]
        for record in history { bySKU[record.sku, default: []].append(record) }
        var patterns: [String: RepeatPattern] = [:]
        for (sku, records) in bySKU where records.count >= 2 {
            let ordered = records.sorted { $0.time != $1.time ? $0.time < $1.time : $0.channelKind < $1.channelKind }
            var days: [Int64] = []
            var quantities: [Int] = []
            for record in ordered {
                let day = RecommendationTime.day(of: record.time)
                if days.last == day {
                    quantities[quantities.count - 1] += max(1, record.quantity)
                } else {
                    days.append(day)
                    quantities.append(max(1, record.quantity))
                }
            }
            guard days.count >= 2, let last = ordered.last, let lastQuantity = quantities.last else { continue }
            let gaps = zip(days.dropFirst(), days).map { Double($0 - $1) }
            patterns[sku] = RepeatPattern(sku: sku, purchaseDays: days.count, intervalDays: median(gaps), lastTime: last.time,
                                          lastChannelKind: last.channelKind, lastQuantity: lastQuantity,
                                          typicalQuantity: Int(median(quantities.map(Double.init)).rounded()))
        }
        return patterns
    }

    /// How due the next purchase is at `now`, 0…1: nothing before half the interval has passed,
    /// rising to 1 when a whole interval has, staying there to twice the interval, then fading
    /// (a habit missed for many intervals has likely moved elsewhere). A last purchase larger
    /// than usual stretches the interval in proportion, up to three times.
    public func dueness(at now: Int64) -> Double {
        let stretch = min(3, max(1, Double(lastQuantity) / Double(max(1, typicalQuantity))))
        let interval = max(1, intervalDays) * stretch
        let ratio = Double(now - lastTime) / Double(RecommendationTime.day) / interval
        switch ratio {
        case ..<0.5: return 0
        case ..<1: return (ratio - 0.5) / 0.5
        case ...2: return 1
        default: return (2 / ratio) * (2 / ratio)
        }
    }

    /// How sure the habit is: two purchases say less than ten.
    public var confidence: Double { Double(purchaseDays) / Double(purchaseDays + 1) }

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
