/// What a segment's rule and a computed attribute read: the customer's live profile
/// (`LiveProfile`) and the day it is evaluated on. The tenant's computed attributes are the
/// fields of `customer.attributes`, so the schema is built per tenant.
public enum ProfileSchema {
    public static let channel = RuleRecordType("channel", [
        .init("code", .string, "the channel's code, e.g. web or store-madrid-01"),
        .init("kind", .string, "store, web, app, call_center, marketplace or social"),
        .init("orders", .number, "sales in the channel"),
        .init("spend", .money, "sales less returns in the channel"),
    ])
    public static let rfm = RuleRecordType("rfm", [
        .init("recency_score", .number, "1 to 5, 5 the most recent buyers"),
        .init("frequency_score", .number, "1 to 5, 5 the most frequent"),
        .init("monetary_score", .number, "1 to 5, 5 the highest spend"),
        .init("cell", .string, "the three scores, e.g. 543"),
        .init("group", .string, "champions, loyal_customers, potential_loyalists, new_customers, promising, need_attention, about_to_sleep, at_risk, cannot_lose_them, hibernating or lost"),
    ])
    public static let clv = RuleRecordType("clv", [
        .init("expected_purchases", .number, "purchases expected over the model's horizon"),
        .init("probability_alive", .number, "the chance the customer still buys, 0 to 1"),
        .init("expected_order_value", .money, "the expected value of an order"),
        .init("value", .money, "the discounted lifetime value over the horizon"),
    ])
    public static let context = RuleRecordType("context", [
        .init("date", .date, "the day the rule is evaluated, in the tenant's time zone"),
        .init("weekday", .string, "monday … sunday"),
    ])

    /// Whether `text` can name a segment or a computed attribute: a lower-case letter, then
    /// lower-case letters, digits or `_`, at most `maxLength` characters.
    public static func isName(_ text: String, maxLength: Int = 40) -> Bool {
        guard let first = text.utf8.first, (97...122).contains(first), text.utf8.count <= maxLength else { return false }
        return text.utf8.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 95 }
    }

    /// The types a computed attribute may give.
    public static let attributeTypes: [String: RuleType] = ["bool": .bool, "number": .number, "string": .string, "money": .money, "date": .date]

    /// The profile's fields; `attributes` holds the tenant's computed attributes.
    public static func customer(attributes: [RuleRecordType.Field]) -> RuleRecordType {
        RuleRecordType("customer", [
            .init("id", .string, "cus_…"),
            .init("orders", .number, "sales in every channel"),
            .init("returns", .number, "returns in every channel"),
            .init("lifetime_spend", .money, "sales less returns, in the tenant's currency"),
            .init("sales", .money, "sales before returns"),
            .init("average_order_value", .money, "sales per order"),
            .init("returns_rate", .number, "returned value ÷ sales value, 0 to 1"),
            .init("first_purchase", .date, "the day of the first purchase"),
            .init("last_purchase", .date, "the day of the last purchase"),
            .init("days_since_last_purchase", .number, "days from the last purchase to today"),
            .init("purchase_interval_days", .number, "mean days between orders (two orders or more)"),
            .init("preferred_channel", .string, "the code of the channel with most orders"),
            .init("preferred_channel_kind", .string, "its kind"),
            .init("preferred_store", .string, "the code of the store bought at most often"),
            .init("channel_kinds", .list(.string), "the kinds of channel bought in"),
            .init("channel_mix", .string, "none, store_only, online_only or omnichannel"),
            .init("channels", .list(.record(channel)), "each channel bought in: code, kind, orders, spend"),
            .init("top_categories", .list(.string), "the categories bought most, most first"),
            .init("tier", .string, "loyalty tier code, if a member"),
            .init("consents", .list(.string), "channels of contact consented to: email, sms, whatsapp, push"),
            .init("segments", .list(.string), "codes of the segments the customer is in"),
            .init("birthday", .date, "the date of birth, if known"),
            .init("days_to_birthday", .number, "days until the next birthday, 0 on the day"),
            .init("rfm", .record(rfm), "the last RFM scoring (null before the customer's first purchase)"),
            .init("clv", .record(clv), "the last lifetime-value predictions (null before the customer's first purchase)"),
            .init("attributes", .record(RuleRecordType("attributes", attributes)), "the tenant's computed attributes"),
        ])
    }

    /// The record a segment's rule is evaluated on: `customer` and `context`.
    public static func segment(attributes: [RuleRecordType.Field]) -> RuleRecordType {
        RuleRecordType("segment", [.init("customer", .record(customer(attributes: attributes))), .init("context", .record(context))])
    }

    /// A profile as `segment(attributes:)` reads it, on the local day `day`. `attributes` is the
    /// tenant's attribute record type, for the order of its values.
    public static func value(of profile: LiveProfile, attributes: RuleRecordType, on day: Int32) -> RuleValue {
        segmentValue(customer: customerValue(of: profile, attributes: attributes, on: day), on: day)
    }

    /// The `segment` record around an already built customer value.
    public static func segmentValue(customer: RuleValue, on day: Int32) -> RuleValue {
        .record([customer, .record([.date(day), .string(CheckoutInput.weekdays[CheckoutInput.weekdayIndex(of: day)])])])
    }

    /// The `customer` record of a profile, in the order of `customer(attributes:)`'s fields.
    public static func customerValue(of profile: LiveProfile, attributes: RuleRecordType, on day: Int32) -> RuleValue {
        func number(_ value: Int64) -> RuleValue { RuleDecimal(value).map(RuleValue.number) ?? .null }
        func money(_ value: Int64) -> RuleValue { .money(minorUnits: value, currency: profile.currency) }
        func fraction(_ value: Double?) -> RuleValue {
            guard let value, value.isFinite else { return .null }
            return .number(RuleDecimal(scaled: Int64((value * Double(RuleDecimal.scale)).rounded())))
        }
        let preferred = profile.preferredChannel
        var values: [RuleValue] = [.string(profile.id), number(profile.orders), number(profile.returns)]
        values += [money(profile.netSpend), money(profile.salesAmount), money(profile.averageOrderValue), fraction(profile.returnsRate)]
        values.append(profile.firstPurchaseDay.map(RuleValue.date) ?? .null)
        values.append(profile.lastPurchaseDay.map(RuleValue.date) ?? .null)
        values.append(profile.daysSinceLastPurchase(on: day).map { number(Int64($0)) } ?? .null)
        values.append(fraction(profile.purchaseIntervalDays))
        values.append(preferred.map { RuleValue.string($0.code) } ?? .null)
        values.append(preferred.map { RuleValue.string($0.kind) } ?? .null)
        values.append(profile.preferredStore.map(RuleValue.string) ?? .null)
        values.append(.list(profile.channelKinds.map(RuleValue.string)))
        values.append(.string(profile.channelMix.rawValue))
        values.append(.list(profile.channels.map { channel -> RuleValue in
            .record([.string(channel.code), .string(channel.kind), number(channel.orders), money(channel.netSpend)])
        }))
        values.append(.list(profile.topCategories.map(RuleValue.string)))
        values.append(profile.tier.map(RuleValue.string) ?? .null)
        values.append(.list(profile.consents.map(RuleValue.string)))
        values.append(.list(profile.segments.map(RuleValue.string)))
        values.append(profile.birthday.map(RuleValue.date) ?? .null)
        values.append(profile.birthday.map { number(CheckoutInput.daysToBirthday($0, from: day)) } ?? .null)
        values.append(profile.rfm.map { scores -> RuleValue in
            .record([number(Int64(scores.recencyScore)), number(Int64(scores.frequencyScore)), number(Int64(scores.monetaryScore)), .string(scores.cell), .string(scores.group)])
        } ?? .null)
        values.append(profile.predictions.map { predicted -> RuleValue in
            .record([fraction(predicted.expectedPurchases), fraction(predicted.probabilityAlive), money(predicted.expectedOrderValue), money(predicted.value)])
        } ?? .null)
        values.append(.record(attributes.fields.map { profile.attributes[$0.name] ?? .null }))
        return .record(values)
    }
}
