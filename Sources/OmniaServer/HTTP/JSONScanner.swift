/// A forward-only reader of JSON bytes for the usual shape of a hot request body, much cheaper than
/// `JSONDecoder`. It reads only what is plainly well-formed and of the expected type, and gives up
/// (nil, false) on anything else — a string with an escape, a number with a fraction or exponent,
/// a repeated key, a value of another type. The caller then decodes the body with `JSONDecoder`,
/// which gives the precise error or the exact value, so both paths accept the same bodies and
/// produce the same requests.
///
/// The bytes have passed `JSONSyntax.checkObject` already: the scanner trusts their syntax.
struct JSONScanner {
    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    private mutating func skipSpace() {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 { index += 1 }
    }

    private mutating func consume(_ byte: UInt8) -> Bool {
        skipSpace()
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    var isAtEnd: Bool {
        mutating get {
            skipSpace()
            return index == bytes.count
        }
    }

    /// A string without escapes.
    mutating func string() -> String? {
        guard consume(UInt8(ascii: "\"")) else { return nil }
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                defer { index += 1 }
                return String(decoding: bytes[start..<index], as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") { return nil }
            index += 1
        }
        return nil
    }

    /// An integer written without fraction or exponent, within Int64.
    mutating func int64() -> Int64? {
        skipSpace()
        var negative = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        var value: Int64 = 0
        let start = index
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            let digit = Int64(bytes[index] - UInt8(ascii: "0"))
            let (shifted, overflowShift) = value.multipliedReportingOverflow(by: 10)
            let (next, overflowAdd) = negative ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
            guard !overflowShift, !overflowAdd else { return nil }
            value = next
            index += 1
        }
        guard index > start else { return nil }
        if index < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[index]) { return nil }
        return value
    }

    mutating func int() -> Int? { int64().flatMap { Int(exactly: $0) } }

    mutating func bool() -> Bool? {
        if literal("true") { return true }
        if literal("false") { return false }
        return nil
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        skipSpace()
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        let matches = word.withUTF8Buffer { buffer in (0..<count).allSatisfy { bytes[index + $0] == buffer[$0] } }
        if matches { index += count }
        return matches
    }

    /// `null` as nil (as `decodeIfPresent` reads it), else what `parse` reads; nil when that fails.
    mutating func optional<Value>(_ parse: (inout JSONScanner) -> Value?) -> Value?? {
        if literal("null") { return .some(nil) }
        guard let value = parse(&self) else { return nil }
        return .some(value)
    }

    /// Reads an object, handing each member's key to `member`, which reads the value (false to give up).
    mutating func object(_ member: (inout JSONScanner, String) -> Bool) -> Bool {
        guard consume(UInt8(ascii: "{")) else { return false }
        if consume(UInt8(ascii: "}")) { return true }
        repeat {
            guard let key = string(), consume(UInt8(ascii: ":")), member(&self, key) else { return false }
        } while consume(UInt8(ascii: ","))
        return consume(UInt8(ascii: "}"))
    }

    /// Reads an array, letting `element` read each value (false to give up).
    mutating func array(_ element: (inout JSONScanner) -> Bool) -> Bool {
        guard consume(UInt8(ascii: "[")) else { return false }
        if consume(UInt8(ascii: "]")) { return true }
        repeat {
            guard element(&self) else { return false }
        } while consume(UInt8(ascii: ","))
        return consume(UInt8(ascii: "]"))
    }
}

/// Tracks the members an object has had, to give up on a repeated one (which `JSONDecoder` may
/// read differently).
struct SeenMembers {
    private var bits: UInt32 = 0

    /// False if member `number` (below 32) was seen already.
    mutating func insert(_ number: Int) -> Bool {
        let bit = UInt32(1) << UInt32(number)
        defer { bits |= bit }
        return bits & bit == 0
    }
}

/// Building blocks for the scanners of request bodies (`ScannableRequestBody`).
extension JSONScanner {
    /// Reads an object into `empty`, handing each member to `member` with what was read so far and
    /// the members seen (false to give up); nil when given up.
    mutating func members<Value>(of empty: Value, _ member: (inout JSONScanner, inout Value, inout SeenMembers, String) -> Bool) -> Value? {
        var value = empty
        var seen = SeenMembers()
        return object { scanner, key in member(&scanner, &value, &seen, key) } ? value : nil
    }

    /// Reads an optional member into `target`; false when the value is not plainly of its type.
    mutating func read<Root, Value>(_ path: WritableKeyPath<Root, Value?>, into target: inout Root,
                                    _ parse: (inout JSONScanner) -> Value?) -> Bool {
        guard let value = optional(parse) else { return false }
        target[keyPath: path] = value
        return true
    }

    mutating func list<Element>(_ element: (inout JSONScanner) -> Element?) -> [Element]? {
        var elements: [Element] = []
        let read = array { scanner in
            guard let value = element(&scanner) else { return false }
            elements.append(value)
            return true
        }
        return read ? elements : nil
    }

    mutating func stringDictionary() -> [String: String]? {
        var dictionary: [String: String] = [:]
        let read = object { scanner, key in
            guard dictionary[key] == nil, let value = scanner.string() else { return false }
            dictionary[key] = value
            return true
        }
        return read ? dictionary : nil
    }
}
