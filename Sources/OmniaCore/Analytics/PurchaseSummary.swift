/// What the BG/NBD and Gamma-Gamma models need to know of one customer at the end of a calibration
/// period, in Fader & Hardie's terms: x repeat purchases, the last at t_x, out of T periods since the
/// first purchase, and the mean value of the repeat purchases. Times are in periods of the caller's
/// choosing (weeks by default when built from purchases); the models' parameters are then per that period.
public struct PurchaseSummary: Sendable, Hashable {
    /// x: purchases after the first one (on distinct days) up to the calibration end.
    public let repeatPurchases: Int
    /// t_x: periods from the first purchase to the last one; 0 without repeat purchases.
    public let recency: Double
    /// T: periods from the first purchase to the calibration end.
    public let age: Double
    /// The mean value of the repeat purchases in minor units; 0 without repeat purchases. The first
    /// purchase is left out, as Fader & Hardie do, because it is often of another kind than the rest.
    public let meanRepeatValue: Double

    /// One purchase as the lifetime-value models see it: the day it happened and what it was worth.
    public struct Purchase: Sendable, Hashable {
        /// The calendar day of the purchase in the tenant's time zone, counted in days since 1970-01-01
        /// (see `PurchaseSummary.day(year:month:day:)` and `day(epochMilliseconds:utcOffsetSeconds:)`).
        public var day: Int
        /// The value of the purchase in minor units of the tenant's currency.
        public var value: Int64

        /// A purchase on day number `day` worth `value` minor units.
        public init(day: Int, value: Int64) {
            self.day = day
            self.value = value
        }
    }

    /// A summary from its numbers; 0 ≤ t_x ≤ T, all finite, and t_x = 0 and no value when x = 0.
    public init(repeatPurchases: Int, recency: Double, age: Double, meanRepeatValue: Double = 0) throws(LifetimeValueError) {
        guard repeatPurchases >= 0 else { throw .invalidInput("repeat purchases must not be negative") }
        guard recency.isFinite, age.isFinite, meanRepeatValue.isFinite else { throw .invalidInput("recency, age and mean value must be finite") }
        guard recency >= 0, recency <= age else { throw .invalidInput("recency must lie between 0 and the age (\(recency) of \(age))") }
        guard repeatPurchases > 0 || (recency == 0 && meanRepeatValue == 0) else {
            throw .invalidInput("a customer without repeat purchases has recency 0 and no mean repeat value")
        }
        self.repeatPurchases = repeatPurchases
        self.recency = recency
        self.age = age
        self.meanRepeatValue = meanRepeatValue
    }

    /// The summary of a customer's purchases up to and including the day `calibrationEnd`, in periods
    /// of `periodDays` days (7: weeks). Purchases on the same day count as one, of their summed value,
    /// as in Fader & Hardie's CDNOW data. Nil when the first purchase falls after `calibrationEnd`:
    /// the customer is not yet part of the calibration.
    public static func summarize(_ purchases: some Sequence<Purchase>, calibrationEnd: Int,
                                 periodDays: Int = 7) throws(LifetimeValueError) -> PurchaseSummary? {
        guard periodDays > 0 else { throw .invalidInput("periodDays must be positive") }
        let days = purchasingDays(purchases.filter { $0.day <= calibrationEnd })
        guard let first = days.first, let last = days.last else { return nil }
        let repeats = days.dropFirst()
        let mean = repeats.isEmpty ? 0 : repeats.reduce(0) { $0 + $1.value } / Double(repeats.count)
        let period = Double(periodDays)
        return try PurchaseSummary(repeatPurchases: repeats.count, recency: Double(last.day - first.day) / period,
                                   age: Double(calibrationEnd - first.day) / period, meanRepeatValue: mean)
    }

    /// The day number (days since 1970-01-01) of a proleptic Gregorian date; nil for a date that does not exist.
    public static func day(year: Int, month: Int, day: Int) -> Int? {
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year) else { return nil }
        // Howard Hinnant's days_from_civil: years start in March so that the leap day ends them.
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * ((month + 9) % 12) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The local day number of an instant in epoch milliseconds, at a time zone `utcOffsetSeconds` east of UTC.
    public static func day(epochMilliseconds: Int64, utcOffsetSeconds: Int = 0) -> Int {
        let local = epochMilliseconds.addingReportingOverflow(Int64(utcOffsetSeconds) * 1_000)
        let milliseconds = local.overflow ? epochMilliseconds : local.partialValue
        // Floor division: an instant before 1970 belongs to the day before, not the day after.
        let (quotient, remainder) = milliseconds.quotientAndRemainder(dividingBy: 86_400_000)
        return Int(remainder < 0 ? quotient - 1 : quotient)
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Purchases merged by day, in order of day, each with its total value.
    static func purchasingDays(_ purchases: [Purchase]) -> [(day: Int, value: Double)] {
        var days: [(day: Int, value: Double)] = []
        // Values are summed as Double: exact for integers below 2⁵³ and never trapping on overflow.
        for purchase in purchases.sorted(by: { $0.day < $1.day }) {
            if let last = days.last, last.day == purchase.day {
                days[days.count - 1].value += Double(purchase.value)
            } else {
                days.append((purchase.day, Double(purchase.value)))
            }
        }
        return days
    }
}

/// A customer's history split at a calibration end: the summary the models are fitted on and the
/// purchases that followed, to compare the models' forecasts with what happened.
public struct HoldoutSplit: Sendable, Hashable {
    /// The summary up to and including the calibration end.
    public let calibration: PurchaseSummary
    /// Purchases (on distinct days) after the calibration end, up to and including the holdout end.
    public let holdoutPurchases: Int
    /// The length of the holdout period in periods: the t to forecast purchases over.
    public let holdoutLength: Double

    /// The split of `purchases` at `calibrationEnd`, with the holdout running to `holdoutEnd`
    /// (day numbers, both inclusive); nil when the customer's first purchase is after `calibrationEnd`.
    public static func split(_ purchases: some Sequence<PurchaseSummary.Purchase>, calibrationEnd: Int, holdoutEnd: Int,
                             periodDays: Int = 7) throws(LifetimeValueError) -> HoldoutSplit? {
        guard holdoutEnd >= calibrationEnd else { throw .invalidInput("the holdout must not end before the calibration") }
        let all = Array(purchases)
        guard let calibration = try PurchaseSummary.summarize(all, calibrationEnd: calibrationEnd, periodDays: periodDays) else {
            return nil
        }
        let holdout = PurchaseSummary.purchasingDays(all.filter { $0.day > calibrationEnd && $0.day <= holdoutEnd })
        return HoldoutSplit(calibration: calibration, holdoutPurchases: holdout.count,
                            holdoutLength: Double(holdoutEnd - calibrationEnd) / Double(periodDays))
    }
}
