/// What an audience campaign's rule reads: one customer, as a promotion's condition sees them
/// (`PromotionSchema.customer`, spend in the campaign's currency), and the day it runs.
public enum AudienceSchema {
    public static let context = RuleRecordType("context", [
        .init("date", .date, "the day the campaign runs, in the tenant's time zone"),
        .init("weekday", .string, "monday … sunday"),
    ])
    public static let audience = RuleRecordType("audience", [
        .init("customer", .record(PromotionSchema.customer)), .init("context", .record(context)),
    ])

    /// The record an audience rule is evaluated on.
    public static func value(of customer: CheckoutInput.Customer, currency: Currency, on day: Int32) -> RuleValue {
        audience.value([
            "customer": customer.ruleValue(currency: currency, on: day),
            "context": context.value(["date": .date(day), "weekday": .string(CheckoutInput.weekdays[CheckoutInput.weekdayIndex(of: day)])]),
        ])
    }

    /// Whether a customer falls in a campaign's control group, out of `basisPoints` / 10,000: the
    /// same answer for the same campaign and customer on every run and server (FNV-1a of both ids).
    public static func isControl(campaignID: String, customerID: String, basisPoints: Int) -> Bool {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in campaignID.utf8 + [0] + customerID.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return Int(hash % 10_000) < basisPoints
    }
}
