/// A number of the rule language: fixed point with six decimal places, so `0.1 + 0.2 == 0.3` holds
/// and every channel computes the same digits (no binary floating point). Range about ±9.2 × 10¹².
/// Arithmetic that would leave the range fails the evaluation (`RuleEvaluationError.overflow`).
public struct RuleDecimal: Sendable, Hashable, Comparable, CustomStringConvertible {
    public static let scale: Int64 = 1_000_000
    public static let fractionDigits = 6

    /// The value times 10⁶.
    public let scaled: Int64

    public init(scaled: Int64) { self.scaled = scaled }

    public init?(_ integer: Int64) {
        let (value, overflow) = integer.multipliedReportingOverflow(by: Self.scale)
        guard !overflow else { return nil }
        scaled = value
    }

    /// Parses digits with an optional fraction (`12`, `0.25`); no sign, at most six decimals.
    public init?(parsing text: Substring) {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.allSatisfy(\.isASCIIDigit) else { return nil }
        var fraction = parts.count == 2 ? parts[1] : ""
        guard parts.count == 1 || (!fraction.isEmpty && fraction.allSatisfy(\.isASCIIDigit)), fraction.count <= Self.fractionDigits,
            let integer = Int64(whole)
        else { return nil }
        while fraction.count < Self.fractionDigits { fraction += "0" }
        let (shifted, overflow) = integer.multipliedReportingOverflow(by: Self.scale)
        guard !overflow, let part = Int64(fraction) else { return nil }
        let (value, overflowAgain) = shifted.addingReportingOverflow(part)
        guard !overflowAgain else { return nil }
        scaled = value
    }

    public static func < (lhs: RuleDecimal, rhs: RuleDecimal) -> Bool { lhs.scaled < rhs.scaled }

    /// Shortest exact text: `12`, `0.25`, `-3.5`.
    public var description: String {
        let magnitude = scaled.magnitude
        let whole = magnitude / UInt64(Self.scale), fraction = magnitude % UInt64(Self.scale)
        var text = (scaled < 0 ? "-" : "") + String(whole)
        if fraction > 0 {
            var digits = String(fraction)
            digits = String(repeating: "0", count: Self.fractionDigits - digits.count) + digits
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
        }
        return text
    }

    func adding(_ other: RuleDecimal) throws(RuleEvaluationError) -> RuleDecimal {
        let (value, overflow) = scaled.addingReportingOverflow(other.scaled)
        guard !overflow else { throw .overflow }
        return RuleDecimal(scaled: value)
    }

    func subtracting(_ other: RuleDecimal) throws(RuleEvaluationError) -> RuleDecimal {
        let (value, overflow) = scaled.subtractingReportingOverflow(other.scaled)
        guard !overflow else { throw .overflow }
        return RuleDecimal(scaled: value)
    }

    func multiplied(by other: RuleDecimal) throws(RuleEvaluationError) -> RuleDecimal {
        RuleDecimal(scaled: try Self.divideRoundingHalfEven(Self.product(scaled, other.scaled), by: Self.scale))
    }

    func divided(by other: RuleDecimal) throws(RuleEvaluationError) -> RuleDecimal {
        guard other.scaled != 0 else { throw .divisionByZero }
        return RuleDecimal(scaled: try Self.divideRoundingHalfEven(Self.product(scaled, Self.scale), by: other.scaled))
    }

    /// Money times this number, rounded half to even to the currency's minor unit.
    func multiplying(minorUnits: Int64) throws(RuleEvaluationError) -> Int64 {
        try Self.divideRoundingHalfEven(Self.product(minorUnits, scaled), by: Self.scale)
    }

    /// Money divided by this number, rounded half to even to the currency's minor unit.
    func dividing(minorUnits: Int64) throws(RuleEvaluationError) -> Int64 {
        guard scaled != 0 else { throw .divisionByZero }
        return try Self.divideRoundingHalfEven(Self.product(minorUnits, Self.scale), by: scaled)
    }

    private static func product(_ a: Int64, _ b: Int64) -> (high: Int64, low: UInt64) {
        a.multipliedFullWidth(by: b)
    }

    /// A 128-bit dividend divided by `divisor`, rounded half to even; fails when the result leaves Int64.
    private static func divideRoundingHalfEven(_ dividend: (high: Int64, low: UInt64), by divisor: Int64) throws(RuleEvaluationError) -> Int64 {
        let negative = (dividend.high < 0) != (divisor < 0)
        let magnitude = Self.magnitude(dividend)
        let divisorMagnitude = divisor.magnitude
        guard magnitude.high < divisorMagnitude else { throw .overflow }
        let (quotient, remainder) = divisorMagnitude.dividingFullWidth(magnitude)
        var rounded = quotient
        let twice = remainder.multipliedReportingOverflow(by: 2)
        if twice.overflow || twice.partialValue > divisorMagnitude || (twice.partialValue == divisorMagnitude && quotient % 2 == 1) {
            let (next, overflow) = rounded.addingReportingOverflow(1)
            guard !overflow else { throw .overflow }
            rounded = next
        }
        guard rounded <= UInt64(Int64.max) else { throw .overflow }
        return negative ? -Int64(rounded) : Int64(rounded)
    }

    private static func magnitude(_ value: (high: Int64, low: UInt64)) -> (high: UInt64, low: UInt64) {
        guard value.high < 0 else { return (UInt64(value.high), value.low) }
        // Two's complement negation of the 128-bit value.
        let low = ~value.low &+ 1
        let high = ~UInt64(bitPattern: value.high) &+ (low == 0 ? 1 : 0)
        return (high, low)
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
