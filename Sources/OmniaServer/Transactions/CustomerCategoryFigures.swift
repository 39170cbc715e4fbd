/// A customer's figures per product category — quantity bought (net of returns) and lines — kept as
/// one value per customer (`customer_categories.figures`) rather than a row per category: a sale
/// of five categories adds to one row instead of five, and the customer 360 reads one row per
/// customer of a merged cluster.
///
/// The stored text is `category US quantity US lines` entries separated by RS (U+001F and U+001E).
/// Categories are validated free text, which never holds a control character, so neither
/// separator can occur inside one. Both databases add a delta to a stored value inside the upsert
/// (`adding`), so concurrent writers never lose each other's figures.
struct CustomerCategoryFigures: Sendable, Equatable {
    struct Entry: Sendable, Equatable {
        let category: String
        var quantity: Int64
        var lines: Int64
    }

    static let entrySeparator: UInt8 = 0x1E
    static let fieldSeparator: UInt8 = 0x1F
    /// SQLite's function adding a delta's text to a stored value's, registered on each connection (`add(_:to:into:)`).
    static let addFunction = "omnia_add_category_figures"

    /// SQL for `figures` with `delta` added (both SQL expressions of stored text). On PostgreSQL an
    /// SQL expression summing per category — written out in the statement rather than wrapped in an
    /// SQL function, which PostgreSQL would plan and start up again at every call (twice the time).
    static func adding(_ delta: String, to figures: String, dialect: SQLDialectKind) -> String {
        guard dialect == .postgres else { return "\(addFunction)(\(figures), \(delta))" }
        return """
            (SELECT string_agg(category || chr(31) || quantity || chr(31) || lines, chr(30) ORDER BY first)
             FROM (SELECT split_part(entry, chr(31), 1) AS category, MIN(position) AS first,
                          SUM(split_part(entry, chr(31), 2)::BIGINT) AS quantity, SUM(split_part(entry, chr(31), 3)::BIGINT) AS lines
                   FROM unnest(string_to_array(\(figures) || chr(30) || \(delta), chr(30))) WITH ORDINALITY AS entries (entry, position)
                   WHERE entry <> '' GROUP BY 1) AS summed)
            """
    }

    /// A stored value that is not one (a server error: only this code writes them).
    struct Malformed: Error, CustomStringConvertible {
        let text: String
        var description: String { "malformed customer category figures: \(text.debugDescription)" }
    }

    /// In the order the categories first came; a customer has a few dozen at most, so finding one is a short scan.
    private(set) var entries: [Entry] = []

    init() {}

    /// The figures of a stored value; nil if it is not one.
    init?(text: String) {
        var text = text
        let parsed: Bool = text.withUTF8 { bytes in
            Self.forEachEntry(bytes) { category, quantity, lines in
                entries.append(Entry(category: String(decoding: category, as: UTF8.self), quantity: quantity, lines: lines))
            }
        }
        guard parsed else { return nil }
    }

    mutating func add(_ category: String, quantity: Int64, lines: Int64) {
        if let index = entries.firstIndex(where: { $0.category == category }) {
            entries[index].quantity += quantity
            entries[index].lines += lines
        } else {
            entries.append(Entry(category: category, quantity: quantity, lines: lines))
        }
    }

    mutating func add(_ other: CustomerCategoryFigures) {
        for entry in other.entries { add(entry.category, quantity: entry.quantity, lines: entry.lines) }
    }

    /// The stored text.
    var text: String {
        var bytes: [UInt8] = []
        for entry in entries { Self.appendEntry(entry.category.utf8, entry.quantity, entry.lines, to: &bytes) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes one entry of a stored value after those already in `output`.
    private static func appendEntry(_ category: some Collection<UInt8>, _ quantity: Int64, _ lines: Int64, to output: inout [UInt8]) {
        if !output.isEmpty { output.append(entrySeparator) }
        output.append(contentsOf: category)
        output.append(fieldSeparator)
        output.append(contentsOf: String(quantity).utf8)
        output.append(fieldSeparator)
        output.append(contentsOf: String(lines).utf8)
    }

    /// Calls `body` with each entry of a stored value; false if the value is malformed.
    static func forEachEntry(_ bytes: UnsafeBufferPointer<UInt8>,
                             _ body: (_ category: UnsafeBufferPointer<UInt8>, _ quantity: Int64, _ lines: Int64) -> Void) -> Bool {
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != entrySeparator { end += 1 }
            guard let firstField = (start..<end).first(where: { bytes[$0] == fieldSeparator }),
                let secondField = (firstField + 1..<end).first(where: { bytes[$0] == fieldSeparator }),
                let quantity = integer(bytes, firstField + 1..<secondField), let lines = integer(bytes, secondField + 1..<end)
            else { return false }
            body(UnsafeBufferPointer(rebasing: bytes[start..<firstField]), quantity, lines)
            // A separator is always followed by an entry.
            guard end + 1 != bytes.count else { return false }
            start = end + 1
        }
        return true
    }

    /// `figures` with `delta` added, as stored text, written to `output` (empty on entry); false if either is malformed.
    /// Works on the bytes alone (no strings): SQLite calls it for every customer a sale or an import chunk adds to.
    static func add(_ delta: UnsafeBufferPointer<UInt8>, to figures: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) -> Bool {
        var changes: [(category: UnsafeBufferPointer<UInt8>, quantity: Int64, lines: Int64, used: Bool)] = []
        guard forEachEntry(delta, { changes.append(($0, $1, $2, false)) }) else { return false }
        output.reserveCapacity(figures.count + delta.count)
        let parsed = forEachEntry(figures) { category, quantity, lines in
            if let index = changes.firstIndex(where: { !$0.used && $0.category.elementsEqual(category) }) {
                changes[index].used = true
                appendEntry(category, quantity + changes[index].quantity, lines + changes[index].lines, to: &output)
            } else {
                appendEntry(category, quantity, lines, to: &output)
            }
        }
        guard parsed else { return false }
        for change in changes where !change.used { appendEntry(change.category, change.quantity, change.lines, to: &output) }
        return true
    }

    private static func integer(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int64? {
        var index = range.lowerBound
        let negative = index < range.upperBound && bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard index < range.upperBound, range.upperBound - index <= 18 else { return nil }
        var value: Int64 = 0
        while index < range.upperBound {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value * 10 + Int64(digit)
            index += 1
        }
        return negative ? -value : value
    }
}
