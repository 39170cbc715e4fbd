import OmniaCore

/// `GET /v1/customers/{id}/profile`: the live profile as segments read it.
struct LiveProfileView: Encodable, Sendable {
    let customerId: String
    /// The currency of every amount below: the tenant's.
    let currency: String
    let orders: Int64
    let returns: Int64
    let salesAmount: Int64
    let returnedAmount: Int64
    let lifetimeSpend: Int64
    let averageOrderValue: Int64
    /// Returned value ÷ sales value.
    let returnsRate: Double
    let firstPurchaseOn: String?
    let lastPurchaseOn: String?
    let daysSinceLastPurchase: Int32?
    /// Mean days between orders, to two decimals.
    let purchaseIntervalDays: Double?
    let preferredChannel: String?
    let preferredChannelKind: String?
    let preferredStore: String?
    let channelMix: String
    let channelKinds: [String]
    let channels: [LiveProfile.Channel]
    let topCategories: [String]
    let tier: String?
    let consents: [String]
    let segments: [String]
    let daysToBirthday: Int64?
    let rfm: LiveProfile.RFM?
    /// `expected_purchases`, `probability_alive`, `expected_order_value` and `value` over the last fit's horizon.
    let clv: LiveProfile.Predictions?
    /// The tenant's computed attributes; money as `{"amount", "currency"}`, dates as `YYYY-MM-DD`.
    let attributes: [String: JSONValue]

    init(_ profile: LiveProfile, on day: Int32) {
        customerId = profile.id
        currency = profile.currency.code
        orders = profile.orders
        returns = profile.returns
        salesAmount = profile.salesAmount
        returnedAmount = profile.returnedAmount
        lifetimeSpend = profile.netSpend
        averageOrderValue = profile.averageOrderValue
        returnsRate = (profile.returnsRate * 10_000).rounded() / 10_000
        firstPurchaseOn = profile.firstPurchaseDay.map { RuleCalendar.text(day: $0) }
        lastPurchaseOn = profile.lastPurchaseDay.map { RuleCalendar.text(day: $0) }
        daysSinceLastPurchase = profile.daysSinceLastPurchase(on: day)
        purchaseIntervalDays = profile.purchaseIntervalDays.map { ($0 * 100).rounded() / 100 }
        preferredChannel = profile.preferredChannel?.code
        preferredChannelKind = profile.preferredChannel?.kind
        preferredStore = profile.preferredStore
        channelMix = profile.channelMix.rawValue
        channelKinds = profile.channelKinds
        channels = profile.channels
        topCategories = profile.topCategories
        tier = profile.tier
        consents = profile.consents
        segments = profile.segments
        daysToBirthday = profile.birthday.map { CheckoutInput.daysToBirthday($0, from: day) }
        rfm = profile.rfm
        clv = profile.predictions.map {
            LiveProfile.Predictions(expectedPurchases: ($0.expectedPurchases * 10_000).rounded() / 10_000,
                                    probabilityAlive: ($0.probabilityAlive * 10_000).rounded() / 10_000, expectedOrderValue: $0.expectedOrderValue, value: $0.value)
        }
        attributes = profile.attributes.mapValues(Self.json)
    }

    /// A computed attribute's value as JSON.
    static func json(_ value: RuleValue) -> JSONValue {
        switch value {
        case .null: .null
        case .bool(let flag): .bool(flag)
        case .number(let number):
            number.scaled % RuleDecimal.scale == 0 ? .integer(number.scaled / RuleDecimal.scale) : .number(Double(number.scaled) / Double(RuleDecimal.scale))
        case .string(let text): .string(text)
        case .money(let amount, let currency): .object(["amount": .integer(amount), "currency": .string(currency.code)])
        case .date(let day): .string(RuleCalendar.text(day: day))
        case .time(let minute): .string((minute / 60 < 10 ? "0" : "") + "\(minute / 60):" + (minute % 60 < 10 ? "0" : "") + "\(minute % 60)")
        case .list(let values): .array(values.map(json))
        case .record(let values): .array(values.map(json))
        }
    }
}
