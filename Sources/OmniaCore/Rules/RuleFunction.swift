/// The functions a rule may call. Collection operators take a list and an expression evaluated for
/// each element, in which `.name` is a field of the element (and `.` the element itself).
enum RuleFunction: String, Sendable, CaseIterable {
    /// `any(cart.lines, .category startsWith "women/")`: whether some element satisfies it.
    case any
    /// `all(cart.lines, .quantity <= 3)`: whether every element does (true for an empty list).
    case all
    /// `count(cart.lines)`, `count(cart.lines, .brand == "Acme")`: how many elements (satisfy it).
    case count
    /// `sum(cart.lines, .quantity)`: the total of a number or money per element (null for no elements of money).
    case sum
    /// `min(cart.lines, .unit_price)`, `max(…)`: the least or greatest (null for an empty list).
    case min, max
    case lower, upper
    /// `date("2026-12-24")`, `time("18:30")`: a day or a time of day, from text checked when the rule is.
    case date, time
    /// `days_between(customer.first_purchase, context.date)`: whole days from the first to the second.
    case daysBetween = "days_between"
    case abs

    var isCollection: Bool { [.any, .all, .count, .sum, .min, .max].contains(self) }

    var signature: String {
        switch self {
        case .any, .all: "\(rawValue)(list, condition)"
        case .count: "count(list) or count(list, condition)"
        case .sum, .min, .max: "\(rawValue)(list, value of each element)"
        case .lower, .upper: "\(rawValue)(string)"
        case .date: "date(\"YYYY-MM-DD\")"
        case .time: "time(\"HH:MM\")"
        case .daysBetween: "days_between(date, date)"
        case .abs: "abs(number or money)"
        }
    }
}

/// `date` and `time` values from and to text (days since 1970-01-01, proleptic Gregorian, by
/// `RFC3339`'s calendar arithmetic; minutes since midnight).
public enum RuleCalendar {
    /// Days since 1970-01-01 of a `YYYY-MM-DD` text, or nil when it is no real day.
    public static func day(_ text: String) -> Int32? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
            (1...12).contains(month), day >= 1, day <= RFC3339.daysIn(month: Int64(month), year: Int64(year))
        else { return nil }
        return Int32(RFC3339.daysFromCivil(year: Int64(year), month: Int64(month), day: Int64(day)))
    }

    /// Minutes since midnight of an `HH:MM` text.
    public static func minute(_ text: String) -> Int16? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let hour = Int(parts[0]), let minute = Int(parts[1]),
            (0..<24).contains(hour), (0..<60).contains(minute)
        else { return nil }
        return Int16(hour * 60 + minute)
    }

    public static func text(day: Int32) -> String {
        let (year, month, dayOfMonth) = RFC3339.civilFromDays(Int64(day))
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(dayOfMonth))"
    }
}
