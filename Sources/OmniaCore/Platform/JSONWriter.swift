import Synchronization

/// A compact JSON encoder for API responses: keys in snake_case (Foundation's `convertToSnakeCase`
/// rule), in the order a type encodes them (declaration order for synthesized `Encodable`), nil
/// optionals omitted, no escaped slashes. It exists because Foundation's encoder converts every key
/// of every object anew and builds boxed values, which made encoding the largest cost of a list.
public enum JSONWriter {
    public static func encode(_ value: some Encodable) throws -> [UInt8] {
        let root = Slot()
        try value.encode(to: NodeEncoder(slot: root, codingPath: []))
        var output: [UInt8] = []
        output.reserveCapacity(512)
        try write(root.node ?? .null, to: &output)
        return output
    }

    /// Property name → JSON key, converted once per process.
    private static let keys = Mutex<[String: [UInt8]]>([:])

    static func key(_ name: String) -> [UInt8] {
        if let cached = keys.withLock({ $0[name] }) { return cached }
        let converted = Array(snakeCase(name).utf8)
        keys.withLock { $0[name] = converted }
        return converted
    }

    // MARK: Tree

    indirect enum Node {
        case null
        case bool(Bool)
        case number(String)
        case string(String)
        case object(ObjectBox)
        case array(ArrayBox)
    }

    /// Objects and arrays are boxes so a container handed out earlier can still add to them.
    final class ObjectBox {
        var members: [([UInt8], Node)] = []
    }

    final class ArrayBox {
        var elements: [Node] = []
    }

    /// Where an encoder puts the one value it produces.
    final class Slot {
        var node: Node?
    }

    // MARK: Writing

    private static func write(_ node: Node, to output: inout [UInt8]) throws {
        switch node {
        case .null: output.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
        case .bool(let value): output.append(contentsOf: value ? Array("true".utf8) : Array("false".utf8))
        case .number(let text): output.append(contentsOf: text.utf8)
        case .string(let text): writeString(text, to: &output)
        case .object(let box):
            output.append(UInt8(ascii: "{"))
            var first = true
            for (key, value) in box.members {
                if !first { output.append(UInt8(ascii: ",")) }
                first = false
                output.append(UInt8(ascii: "\""))
                output.append(contentsOf: key)
                output.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
                try write(value, to: &output)
            }
            output.append(UInt8(ascii: "}"))
        case .array(let box):
            output.append(UInt8(ascii: "["))
            for (index, element) in box.elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                try write(element, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        }
    }

    private static let hex = Array("0123456789abcdef".utf8)

    private static func writeString(_ text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
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
        output.append(UInt8(ascii: "\""))
    }

    static func number(_ value: Double, codingPath: [any CodingKey]) throws -> Node {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, .init(codingPath: codingPath, debugDescription: "JSON has no infinity or NaN"))
        }
        if value == value.rounded(), abs(value) < 1e15 { return .number(String(Int64(value))) }
        return .number("\(value)")
    }
}

/// `camelCaseName` → `camel_case_name`, the rule of Foundation's `convertToSnakeCase`: a run of
/// capitals is one word (`someURLValue` → `some_url_value`).
public func snakeCase(_ name: String) -> String {
    let characters = Array(name)
    var words: [String] = []
    var current = ""
    for (index, character) in characters.enumerated() {
        if character.isUppercase, !current.isEmpty {
            let previousIsLower = characters[index - 1].isLowercase || characters[index - 1].isNumber
            let nextIsLower = index + 1 < characters.count && characters[index + 1].isLowercase
            if previousIsLower || nextIsLower {
                words.append(current)
                current = ""
            }
        }
        current.append(character)
    }
    if !current.isEmpty { words.append(current) }
    return words.map { $0.lowercased() }.joined(separator: "_")
}

// MARK: - Encoder

private struct NodeEncoder: Encoder {
    let slot: JSONWriter.Slot
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy _: Key.Type) -> KeyedEncodingContainer<Key> {
        // Reuse an object already started here, so a wrapper may add members after the wrapped model.
        if case .object(let box) = slot.node {
            return KeyedEncodingContainer(KeyedNodeContainer<Key>(box: box, codingPath: codingPath))
        }
        let box = JSONWriter.ObjectBox()
        slot.node = .object(box)
        return KeyedEncodingContainer(KeyedNodeContainer<Key>(box: box, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array(let box) = slot.node { return UnkeyedNodeContainer(box: box, codingPath: codingPath) }
        let box = JSONWriter.ArrayBox()
        slot.node = .array(box)
        return UnkeyedNodeContainer(box: box, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleNodeContainer(slot: slot, codingPath: codingPath)
    }
}

/// Turns a value into a node: primitives directly, anything else through its own `encode(to:)`
/// (nil when it encoded nothing, which leaves the member out).
private func node(for value: some Encodable, codingPath: [any CodingKey]) throws -> JSONWriter.Node? {
    switch value {
    case let text as String: return .string(text)
    case let flag as Bool: return .bool(flag)
    case let integer as Int: return .number(String(integer))
    case let integer as Int64: return .number(String(integer))
    case let integer as Int32: return .number(String(integer))
    case let integer as UInt64: return .number(String(integer))
    case let double as Double: return try JSONWriter.number(double, codingPath: codingPath)
    default:
        let slot = JSONWriter.Slot()
        try value.encode(to: NodeEncoder(slot: slot, codingPath: codingPath))
        return slot.node
    }
}

private struct KeyedNodeContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let box: JSONWriter.ObjectBox
    let codingPath: [any CodingKey]

    private func set(_ node: JSONWriter.Node?, _ key: Key) {
        if let node { box.members.append((JSONWriter.key(key.stringValue), node)) }
    }

    mutating func encodeNil(forKey key: Key) throws { set(.null, key) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        set(try node(for: value, codingPath: codingPath + [key]), key)
    }

    // Typed overloads, which synthesized `encode(to:)` calls directly: no dynamic cast per value.
    mutating func encode(_ value: String, forKey key: Key) throws { set(.string(value), key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { set(.bool(value), key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { set(.number(String(value)), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { set(.number(String(value)), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        set(try JSONWriter.number(value, codingPath: codingPath + [key]), key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy _: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let nested = JSONWriter.ObjectBox()
        set(.object(nested), key)
        return KeyedEncodingContainer(KeyedNodeContainer<NestedKey>(box: nested, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = JSONWriter.ArrayBox()
        set(.array(nested), key)
        return UnkeyedNodeContainer(box: nested, codingPath: codingPath + [key])
    }

    // Super-encoders write into an object of their own under the key (`super` by default).
    mutating func superEncoder() -> any Encoder { superEncoder(named: "super") }

    mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder(named: key.stringValue) }

    private func superEncoder(named name: String) -> any Encoder {
        let nested = JSONWriter.ObjectBox()
        box.members.append((JSONWriter.key(name), .object(nested)))
        let slot = JSONWriter.Slot()
        slot.node = .object(nested)
        return NodeEncoder(slot: slot, codingPath: codingPath)
    }
}

private struct UnkeyedNodeContainer: UnkeyedEncodingContainer {
    let box: JSONWriter.ArrayBox
    let codingPath: [any CodingKey]
    var count: Int { box.elements.count }

    mutating func encodeNil() throws { box.elements.append(.null) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        box.elements.append(try node(for: value, codingPath: codingPath) ?? .null)
    }

    mutating func encode(_ value: String) throws { box.elements.append(.string(value)) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy _: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let nested = JSONWriter.ObjectBox()
        box.elements.append(.object(nested))
        return KeyedEncodingContainer(KeyedNodeContainer<NestedKey>(box: nested, codingPath: codingPath))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let nested = JSONWriter.ArrayBox()
        box.elements.append(.array(nested))
        return UnkeyedNodeContainer(box: nested, codingPath: codingPath)
    }

    mutating func superEncoder() -> any Encoder {
        let nested = JSONWriter.ObjectBox()
        box.elements.append(.object(nested))
        let slot = JSONWriter.Slot()
        slot.node = .object(nested)
        return NodeEncoder(slot: slot, codingPath: codingPath)
    }
}

private struct SingleNodeContainer: SingleValueEncodingContainer {
    let slot: JSONWriter.Slot
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { slot.node = .null }
    mutating func encode(_ value: String) throws { slot.node = .string(value) }
    mutating func encode(_ value: Bool) throws { slot.node = .bool(value) }
    mutating func encode(_ value: Int64) throws { slot.node = .number(String(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        slot.node = try node(for: value, codingPath: codingPath)
    }
}
