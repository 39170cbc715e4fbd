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

/// Calendar arithmetic for `date` values (days since 1970-01-01, proleptic Gregorian).
public enum RuleCalendar {
    /// Days since 1970-01-01 of a `YYYY-MM-DD` text, or nil when it is no real day.
    public static func day(_ text: String) -> Int32? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
            (1...12).contains(month), day >= 1, day <= daysInMonth(year, month)
        else { return nil }
        return Int32(daysFromCivil(year, month, day))
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
        let (year, month, dayOfMonth) = civil(Int(day))
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(dayOfMonth))"
    }

    static func daysInMonth(_ year: Int, _ month: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Howard Hinnant's days_from_civil.
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
