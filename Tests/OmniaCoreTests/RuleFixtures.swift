import OmniaCore

/// A schema shaped like a checkout's (cart, customer, channel, context) and an input for it.
enum RuleFixtures {
    static let line = RuleRecordType("line", [
        .init("sku", .string), .init("category", .string), .init("brand", .string), .init("quantity", .number),
        .init("unit_price", .money), .init("total", .money), .init("tags", .list(.string)),
    ])
    static let cart = RuleRecordType("cart", [.init("subtotal", .money), .init("quantity", .number), .init("lines", .list(.record(line)))])
    static let customer = RuleRecordType("customer", [
        .init("tier", .string), .init("segments", .list(.string)), .init("birthday", .date), .init("orders", .number),
        .init("lifetime_spend", .money),
    ])
    static let channel = RuleRecordType("channel", [.init("kind", .string), .init("id", .string)])
    static let context = RuleRecordType("context", [
        .init("date", .date), .init("time", .time), .init("weekday", .string), .init("codes", .list(.string)), .init("country", .string),
    ])
    static let schema = RuleRecordType("checkout", [
        .init("cart", .record(cart)), .init("customer", .record(customer)), .init("channel", .record(channel)), .init("context", .record(context)),
    ])

    static let eur = Currency(code: "EUR")!

    static func euros(_ cents: Int64) -> RuleValue { .money(minorUnits: cents, currency: eur) }

    static func number(_ value: Int64) -> RuleValue { .number(RuleDecimal(value)!) }

    static func line(sku: String, category: String, quantity: Int64, unitCents: Int64, brand: String = "Omnia", tags: [String] = []) -> RuleValue {
        line.value([
            "sku": .string(sku), "category": .string(category), "brand": .string(brand), "quantity": number(quantity),
            "unit_price": euros(unitCents), "total": euros(unitCents * quantity), "tags": .list(tags.map(RuleValue.string)),
        ])
    }

    /// A store checkout of two lines (60.00 EUR) by a gold customer, unless told otherwise.
    static func input(lines: [RuleValue]? = nil, customer customerValue: RuleValue? = nil, channelKind: String = "store",
                      subtotal: RuleValue? = nil) -> RuleValue {
        let lines = lines ?? [
            line(sku: "KNIT-1", category: "women/knitwear", quantity: 1, unitCents: 4000, tags: ["wool"]),
            line(sku: "SOCK-2", category: "men/socks", quantity: 2, unitCents: 1000),
        ]
        return schema.value([
            "cart": cart.value(["subtotal": subtotal ?? euros(6000), "quantity": number(3), "lines": .list(lines)]),
            "customer": customerValue ?? customer.value([
                "tier": .string("gold"), "segments": .list([.string("vip")]), "birthday": .date(RuleCalendar.day("1990-12-24")!),
                "orders": number(12), "lifetime_spend": euros(123_456),
            ]),
            "channel": channel.value(["kind": .string(channelKind), "id": .string("ch_1")]),
            "context": context.value([
                "date": .date(RuleCalendar.day("2026-12-24")!), "time": .time(RuleCalendar.minute("18:30")!), "weekday": .string("thursday"),
                "codes": .list([.string("XMAS")]), "country": .string("DE"),
            ]),
        ])
    }

    static func holds(_ rule: String, _ input: RuleValue = input()) throws -> Bool {
        try RuleProgram(rule, schema: schema).isSatisfied(by: input)
    }

    static func value(_ rule: String, type: RuleType, _ input: RuleValue = input()) throws -> RuleValue {
        try RuleProgram(rule, schema: schema, type: type).value(for: input)
    }

    /// The error a rule gets when it is checked.
    static func error(_ rule: String) -> RuleError? {
        do {
            _ = try RuleProgram(rule, schema: schema)
            return nil
        } catch {
            return error
        }
    }
}
