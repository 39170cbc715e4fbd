/// A compact JSON encoder for API responses: keys in snake_case (Foundation's `convertToSnakeCase`
/// rule), in the order a type encodes them (declaration order for synthesized `Encodable`), nil
/// optionals omitted, no escaped slashes. It exists because Foundation's encoder converts every key
/// of every object anew and builds boxed values, which made encoding the largest cost of a list.
///
/// It writes as it goes, with no tree of values in between: a container stays open until its owner
/// writes to a container further out or the value that opened it is finished, which is how
/// `Encodable` implementations use containers (one after another, never interleaved).
public enum JSONWriter {
    public static func encode(_ value: some Encodable) throws -> [UInt8] {
        let output = JSONOutput()
        try output.writeValue(value, codingPath: [])
        if output.bytes.isEmpty { output.bytes.append(contentsOf: "null".utf8) }
        return output.bytes
    }

    /// A member name: as given when `verbatim`, else the property name in snake_case.
    static func appendKey(_ name: String, verbatim: Bool, to output: inout [UInt8]) {
        appendString(verbatim ? name : cachedSnakeCase(name), to: &output)
    }

    private static let hex = Array("0123456789abcdef".utf8)

    static func appendString(_ text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        appendEscaped(text, to: &output)
        output.append(UInt8(ascii: "\""))
    }

    private static func appendEscaped(_ text: String, to output: inout [UInt8]) {
        // Most text needs no escaping: copy it whole.
        let copiedWhole = text.utf8.withContiguousStorageIfAvailable { utf8 -> Bool in
            for byte in utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return false }
            output.append(contentsOf: utf8)
            return true
        }
        if copiedWhole == true { return }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                           hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
            default: output.append(byte)
            }
        }
    }

    static func numberText(_ value: Double, codingPath: [any CodingKey]) throws -> String {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, .init(codingPath: codingPath, debugDescription: "JSON has no infinity or NaN"))
        }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}

/// A coding key whose text is written as given, not converted to snake_case: the member names of
/// free-form JSON (`JSONValue` objects) belong to whoever wrote them.
public struct VerbatimCodingKey: CodingKey, Sendable {
    public let stringValue: String
    public init(stringValue: String) { self.stringValue = stringValue }
    public var intValue: Int? { nil }
    public init?(intValue: Int) { nil }
}

// MARK: - Encoder

/// The bytes written so far and the containers still open, innermost last.
final class JSONOutput {
    struct OpenContainer {
        let isObject: Bool
        var count = 0
    }

    /// What the next value written belongs to: a member whose key is written only once its value
    /// writes something (so a value that encodes nothing leaves the member out), or an array element.
    struct Pending {
        let container: Int
        let key: String?
        let verbatimKey: Bool
    }

    // Only ever touched by the one encoding that owns this output, one call at a time, so the
    // runtime's exclusivity bookkeeping on every access (a thread-local lookup) buys nothing here.
    @exclusivity(unchecked) var bytes: [UInt8] = []
    @exclusivity(unchecked) var open: [OpenContainer] = []
    @exclusivity(unchecked) var pending: Pending?

    init() {
        bytes.reserveCapacity(1024)
    }

    /// Called before the first byte of any value: writes the separator and key it is waiting for.
    func beginValue() {
        guard let pending else { return }
        self.pending = nil
        if open[pending.container].count > 0 { bytes.append(UInt8(ascii: ",")) }
        open[pending.container].count += 1
        if let key = pending.key {
            JSONWriter.appendKey(key, verbatim: pending.verbatimKey, to: &bytes)
            bytes.append(UInt8(ascii: ":"))
        }
    }

    /// Closes containers opened inside `container` before writing to it again.
    func closeContainers(above container: Int) {
        while open.count > container + 1 {
            bytes.append(open.removeLast().isObject ? UInt8(ascii: "}") : UInt8(ascii: "]"))
        }
    }

    func openContainer(isObject: Bool) -> Int {
        beginValue()
        bytes.append(isObject ? UInt8(ascii: "{") : UInt8(ascii: "["))
        open.append(OpenContainer(isObject: isObject))
        return open.count - 1
    }

    func writeNull() {
        beginValue()
        bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
    }

    func writeString(_ text: String) {
        beginValue()
        JSONWriter.appendString(text, to: &bytes)
    }

    func writeBool(_ value: Bool) {
        beginValue()
        bytes.append(contentsOf: value ? [0x74, 0x72, 0x75, 0x65] : [0x66, 0x61, 0x6C, 0x73, 0x65])
    }

    func writeNumber(_ text: String) {
        beginValue()
        bytes.append(contentsOf: text.utf8)
    }

    /// Primitives directly, anything else through its own `encode(to:)`; containers the value opened
    /// are closed when it returns.
    /// Primitives are recognised by comparing metatypes, which is a pointer comparison; `as?` casts
    /// cost a runtime lookup each, and every model and array passes this switch on its way.
    func writeValue<Value: Encodable>(_ value: Value, codingPath: @autoclosure () -> [any CodingKey]) throws {
        if Value.self == String.self {
            writeString(unsafeBitCast(value, to: String.self))
        } else if Value.self == Bool.self {
            writeBool(unsafeBitCast(value, to: Bool.self))
        } else if Value.self == Int.self {
            writeNumber(String(unsafeBitCast(value, to: Int.self)))
        } else if Value.self == Int64.self {
            writeNumber(String(unsafeBitCast(value, to: Int64.self)))
        } else if Value.self == Int32.self {
            writeNumber(String(unsafeBitCast(value, to: Int32.self)))
        } else if Value.self == UInt64.self {
            writeNumber(String(unsafeBitCast(value, to: UInt64.self)))
        } else if Value.self == Double.self {
            writeNumber(try JSONWriter.numberText(unsafeBitCast(value, to: Double.self), codingPath: codingPath()))
        } else {
            let depth = open.count
            try value.encode(to: StreamEncoder(output: self, depth: depth, codingPath: codingPath()))
            closeContainers(above: depth - 1)
            // A member the value announced inside itself but never wrote (an unused super-encoder) is dropped.
            if let pending, pending.container >= depth { self.pending = nil }
        }
    }
}

private struct StreamEncoder: Encoder {
    let output: JSONOutput
    /// Index the container this encoder opens gets in `output.open`.
    let depth: Int
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    /// The object this encoder already opened, if still open: a wrapper may add members after the model.
    private var reusableObject: Int? {
        output.open.count > depth && output.open[depth].isObject && output.pending == nil ? depth : nil
    }

    func container<Key: CodingKey>(keyedBy _: Key.Type) -> KeyedEncodingContainer<Key> {
        let index = reusableObject ?? output.openContainer(isObject: true)
        return KeyedEncodingContainer(KeyedStreamContainer<Key>(output: output, index: index, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        UnkeyedStreamContainer(output: output, index: output.openContainer(isObject: false), codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleStreamContainer(output: output, codingPath: codingPath)
    }
}

private struct KeyedStreamContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let output: JSONOutput
    let index: Int
    let codingPath: [any CodingKey]

    /// Makes `key` the member the next value belongs to.
    private func member(_ key: Key) {
        output.closeContainers(above: index)
        output.pending = .init(container: index, key: key.stringValue, verbatimKey: key is VerbatimCodingKey)
    }

    mutating func encodeNil(forKey key: Key) throws {
        member(key)
        output.writeNull()
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        member(key)
        try output.writeValue(value, codingPath: codingPath + [key])
        output.pending = nil
    }

    // Typed overloads, which synthesized `encode(to:)` calls directly: no dynamic cast per value.
    mutating func encode(_ value: String, forKey key: Key) throws {
        member(key)
        output.writeString(value)
    }

    mutating func encode(_ value: Bool, forKey key: Key) throws {
        member(key)
        output.writeBool(value)
    }

    mutating func encode(_ value: Int, forKey key: Key) throws {
        member(key)
        output.writeNumber(String(value))
    }

    mutating func encode(_ value: Int64, forKey key: Key) throws {
        member(key)
        output.writeNumber(String(value))
    }

    mutating func encode(_ value: Double, forKey key: Key) throws {
        let text = try JSONWriter.numberText(value, codingPath: codingPath + [key])
        member(key)
        output.writeNumber(text)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy _: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        member(key)
        return KeyedEncodingContainer(KeyedStreamContainer<NestedKey>(output: output, index: output.openContainer(isObject: true),
                                                                      codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        member(key)
        return UnkeyedStreamContainer(output: output, index: output.openContainer(isObject: false), codingPath: codingPath + [key])
    }

    // Super-encoders write into an object of their own under the key (`super` by default).
    mutating func superEncoder() -> any Encoder {
        output.closeContainers(above: index)
        output.pending = .init(container: index, key: "super", verbatimKey: true)
        return StreamEncoder(output: output, depth: output.open.count, codingPath: codingPath)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        member(key)
        return StreamEncoder(output: output, depth: output.open.count, codingPath: codingPath + [key])
    }
}

private struct UnkeyedStreamContainer: UnkeyedEncodingContainer {
    let output: JSONOutput
    let index: Int
    let codingPath: [any CodingKey]
    var count: Int { output.open.count > index ? output.open[index].count : 0 }

    private func element() {
        output.closeContainers(above: index)
        output.pending = .init(container: index, key: nil, verbatimKey: false)
    }

    mutating func encodeNil() throws {
        element()
        output.writeNull()
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        element()
        try output.writeValue(value, codingPath: codingPath)
        // An element that wrote nothing is still an element: null.
        if output.pending != nil { output.writeNull() }
    }

    mutating func encode(_ value: String) throws {
        element()
        output.writeString(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy _: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        element()
        return KeyedEncodingContainer(KeyedStreamContainer<NestedKey>(output: output, index: output.openContainer(isObject: true), codingPath: codingPath))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        element()
        return UnkeyedStreamContainer(output: output, index: output.openContainer(isObject: false), codingPath: codingPath)
    }

    mutating func superEncoder() -> any Encoder {
        element()
        return StreamEncoder(output: output, depth: output.open.count, codingPath: codingPath)
    }
}

private struct SingleStreamContainer: SingleValueEncodingContainer {
    let output: JSONOutput
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { output.writeNull() }
    mutating func encode(_ value: String) throws { output.writeString(value) }
    mutating func encode(_ value: Bool) throws { output.writeBool(value) }
    mutating func encode(_ value: Int64) throws { output.writeNumber(String(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try output.writeValue(value, codingPath: codingPath)
    }
}
