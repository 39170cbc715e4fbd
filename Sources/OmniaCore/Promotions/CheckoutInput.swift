/// Everything a promotion may look at in one checkout: the cart, who buys, where and when.
public struct CheckoutInput: Sendable {
    public struct Line: Sendable, Hashable {
        public let sku: String
        public let category: String?
        public let brand: String?
        public let quantity: Int64
        /// Minor units of the cart's currency.
        public let unitPrice: Int64
        public let tags: [String]

        public init(sku: String, category: String? = nil, brand: String? = nil, quantity: Int64, unitPrice: Int64, tags: [String] = []) {
            self.sku = sku
            self.category = category
            self.brand = brand
            self.quantity = quantity
            self.unitPrice = unitPrice
            self.tags = tags
        }

        public var total: Int64 { quantity * unitPrice }
    }

    public struct Customer: Sendable {
        /// The customer as rules read them (`PromotionSchema.customer`), their spend in `currency`, on the local day `day`.
        public func ruleValue(currency: Currency, on day: Int32) -> RuleValue {
            PromotionSchema.customer.value([
                "id": .string(id), "tier": tier.map(RuleValue.string) ?? .null,
                "segments": .list(segments.map(RuleValue.string)), "birthday": birthday.map(RuleValue.date) ?? .null,
                "days_to_birthday": birthday.map { CheckoutInput.daysToBirthday($0, from: day) }.flatMap(RuleDecimal.init).map(RuleValue.number) ?? .null,
                "first_purchase": .bool(orders == 0), "orders": RuleDecimal(orders).map(RuleValue.number) ?? .null,
                "lifetime_spend": .money(minorUnits: lifetimeSpend, currency: currency),
            ])
        }


        public var id: String
        public var tier: String?
        public var segments: [String]
        /// Days since 1970-01-01.
        public var birthday: Int32?
        public var orders: Int64
        /// Minor units of the cart's currency.
        public var lifetimeSpend: Int64

        public init(id: String, tier: String? = nil, segments: [String] = [], birthday: Int32? = nil, orders: Int64 = 0, lifetimeSpend: Int64 = 0) {
            self.id = id
            self.tier = tier
            self.segments = segments
            self.birthday = birthday
            self.orders = orders
            self.lifetimeSpend = lifetimeSpend
        }
    }

    public static let weekdays = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

    public var currency: Currency
    public var lines: [Line]
    public var customer: Customer?
    /// The channel's code (`web`, `store-madrid-01`).
    public var channelCode: String
    public var channelKind: String
    public var storeID: String?
    public var country: String?
    /// The local day (days since 1970-01-01) and minute of the day, in the store's time zone.
    public var localDay: Int32
    public var localMinute: Int16
    /// Codes entered at the checkout, upper case.
    public var codes: [String]

    public init(currency: Currency, lines: [Line], customer: Customer? = nil, channelCode: String, channelKind: String, storeID: String? = nil,
                country: String? = nil, localDay: Int32, localMinute: Int16, codes: [String] = []) {
        self.currency = currency
        self.lines = lines
        self.customer = customer
        self.channelCode = channelCode
        self.channelKind = channelKind
        self.storeID = storeID
        self.country = country
        self.localDay = localDay
        self.localMinute = localMinute
        self.codes = codes
    }

    public var subtotal: Int64 { lines.reduce(0) { $0 + $1.total } }

    /// 0 for Monday … 6 for Sunday (1970-01-01 was a Thursday).
    public var weekdayIndex: Int { Self.weekdayIndex(of: localDay) }

    /// 0 for Monday … 6 for Sunday of the day `day` days after 1970-01-01 (a Thursday).
    public static func weekdayIndex(of day: Int32) -> Int { Int(((Int64(day) % 7) + 7 + 3) % 7) }

    /// Days from `day` to the next anniversary of `birth` (0 on it); 29 February falls on 28 February in other years.
    public static func daysToBirthday(_ birth: Int32, from day: Int32) -> Int64 {
        let (_, month, dayOfMonth) = RFC3339.civilFromDays(Int64(birth))
        let (year, _, _) = RFC3339.civilFromDays(Int64(day))
        for candidateYear in [year, year + 1] {
            let anniversary = RFC3339.daysFromCivil(year: candidateYear, month: month, day: min(dayOfMonth, RFC3339.daysIn(month: month, year: candidateYear)))
            if anniversary >= Int64(day) { return anniversary - Int64(day) }
        }
        return 0
    }

    /// Each line as the line selectors read it.
    public var lineValues: [RuleValue] {
        lines.map { line in
            func text(_ value: String?) -> RuleValue { value.map(RuleValue.string) ?? .null }
            return PromotionSchema.line.value([
                "sku": .string(line.sku), "category": text(line.category), "brand": text(line.brand),
                "quantity": RuleDecimal(line.quantity).map(RuleValue.number) ?? .null,
                "unit_price": .money(minorUnits: line.unitPrice, currency: currency), "total": .money(minorUnits: line.total, currency: currency),
                "tags": .list(line.tags.map(RuleValue.string)),
            ])
        }
    }

    /// The checkout as a promotion's condition reads it; `lineValues` are its cart's lines.
    public func ruleValue(lineValues: [RuleValue]) -> RuleValue {
        func money(_ minorUnits: Int64) -> RuleValue { .money(minorUnits: minorUnits, currency: currency) }
        let customerValue: RuleValue = customer.map { $0.ruleValue(currency: currency, on: localDay) } ?? .null
        return PromotionSchema.checkout.value([
            "cart": PromotionSchema.cart.value([
                "subtotal": money(subtotal), "currency": .string(currency.code),
                "quantity": RuleDecimal(lines.reduce(0) { $0 + $1.quantity }).map(RuleValue.number) ?? .null, "lines": .list(lineValues),
            ]),
            "customer": customerValue,
            "channel": PromotionSchema.channel.value(["code": .string(channelCode), "kind": .string(channelKind)]),
            "store": storeID.map { PromotionSchema.store.value(["id": .string($0), "country": country.map(RuleValue.string) ?? .null]) } ?? .null,
            "context": PromotionSchema.context.value([
                "date": .date(localDay), "time": .time(localMinute), "weekday": .string(Self.weekdays[weekdayIndex]),
                "country": country.map(RuleValue.string) ?? .null, "codes": .list(codes.map(RuleValue.string)),
            ]),
        ])
    }
}
