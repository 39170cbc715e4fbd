/// What a promotion's rules may read. A promotion's condition reads the whole checkout; an
/// effect's line selector reads one cart line (`category startsWith "women/"`).
public enum PromotionSchema {
    public static let line = RuleRecordType("line", [
        .init("sku", .string, "the product's SKU"),
        .init("category", .string, "its category path, e.g. women/knitwear"),
        .init("brand", .string, "its brand, if known"),
        .init("quantity", .number, "units on the line"),
        .init("unit_price", .money, "the price of one unit"),
        .init("total", .money, "quantity × unit price"),
        .init("tags", .list(.string), "the product's tags"),
    ])
    public static let cart = RuleRecordType("cart", [
        .init("subtotal", .money, "the lines' total before promotions"),
        .init("currency", .string, "ISO 4217 code"),
        .init("quantity", .number, "units in the cart"),
        .init("lines", .list(.record(line)), "the cart's lines"),
    ])
    public static let customer = RuleRecordType("customer", [
        .init("id", .string, "cus_…; null for an anonymous checkout"),
        .init("tier", .string, "loyalty tier code, if a member"),
        .init("segments", .list(.string), "segments the customer is in"),
        .init("birthday", .date, "the date of birth, if known"),
        .init("days_to_birthday", .number, "days until the next birthday, 0 on the day"),
        .init("first_purchase", .bool, "true when the customer has bought nothing before"),
        .init("orders", .number, "sales so far, every channel"),
        .init("lifetime_spend", .money, "spent so far, in the cart's currency"),
    ])
    public static let channel = RuleRecordType("channel", [.init("code", .string, "the channel's code, e.g. web or store-madrid-01"),
                                                            .init("kind", .string, "store, web, app, call_center, marketplace or social")])
    public static let store = RuleRecordType("store", [.init("id", .string, "loc_…, for a store checkout"), .init("country", .string, "ISO 3166 code")])
    public static let context = RuleRecordType("context", [
        .init("date", .date, "today in the store's (or tenant's) time zone"),
        .init("time", .time, "the local time of day"),
        .init("weekday", .string, "monday … sunday"),
        .init("country", .string, "the checkout's country"),
        .init("codes", .list(.string), "codes entered, upper case"),
    ])
    public static let checkout = RuleRecordType("checkout", [
        .init("cart", .record(cart)), .init("customer", .record(customer)), .init("channel", .record(channel)),
        .init("store", .record(store)), .init("context", .record(context)),
    ])
}
