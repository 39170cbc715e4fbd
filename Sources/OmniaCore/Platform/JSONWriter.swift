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

    final class ObjectBox {
        var members: [([UInt8], Slot)] = []
    }

    final class ArrayBox {
        var elements: [Slot] = []
    }

    final class Slot {
        var node: Node?

        static func leaf(_ node: Node) -> Slot {
            let slot = Slot()
            slot.node = node
            return slot
        }
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
            for (key, slot) in box.members {
                guard let value = slot.node else { continue }
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
            for (index, slot) in box.elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                try write(slot.node ?? .null, to: &output)
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

/// Turns a value into a node: primitives directly, anything else through its own `encode(to:)`.
private func node(for value: some Encodable, codingPath: [any CodingKey]) throws -> JSONWriter.Slot {
    let slot = JSONWriter.Slot()
    switch value {
    case let text as String: slot.node = .string(text)
    case let flag as Bool: slot.node = .bool(flag)
    case let integer as Int: slot.node = .number(String(integer))
    case let integer as Int64: slot.node = .number(String(integer))
    case let integer as Int32: slot.node = .number(String(integer))
    case let integer as UInt64: slot.node = .number(String(integer))
    case let double as Double: slot.node = try JSONWriter.number(double, codingPath: codingPath)
    default: try value.encode(to: NodeEncoder(slot: slot, codingPath: codingPath))
    }
    return slot
}

private struct KeyedNodeContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let box: JSONWriter.ObjectBox
    let codingPath: [any CodingKey]

    private func set(_ slot: JSONWriter.Slot, _ key: Key) {
        box.members.append((JSONWriter.key(key.stringValue), slot))
    }

    mutating func encodeNil(forKey key: Key) throws {
        let slot = JSONWriter.Slot()
        slot.node = .null
        set(slot, key)
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        set(try node(for: value, codingPath: codingPath + [key]), key)
    }

    // Typed overloads, which synthesized `encode(to:)` calls directly: no dynamic cast per value.
    mutating func encode(_ value: String, forKey key: Key) throws { set(.leaf(.string(value)), key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { set(.leaf(.bool(value)), key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { set(.leaf(.number(String(value))), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { set(.leaf(.number(String(value))), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        set(.leaf(try JSONWriter.number(value, codingPath: codingPath + [key])), key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy _: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let nested = JSONWriter.ObjectBox()
        let slot = JSONWriter.Slot()
        slot.node = .object(nested)
        set(slot, key)
        return KeyedEncodingContainer(KeyedNodeContainer<NestedKey>(box: nested, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = JSONWriter.ArrayBox()
        let slot = JSONWriter.Slot()
        slot.node = .array(nested)
        set(slot, key)
        return UnkeyedNodeContainer(box: nested, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder {
        let slot = JSONWriter.Slot()
        box.members.append((Array("super".utf8), slot))
        return NodeEncoder(slot: slot, codingPath: codingPath)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        let slot = JSONWriter.Slot()
        set(slot, key)
        return NodeEncoder(slot: slot, codingPath: codingPath + [key])
    }
}

private struct UnkeyedNodeContainer: UnkeyedEncodingContainer {
    let box: JSONWriter.ArrayBox
    let codingPath: [any CodingKey]
    var count: Int { box.elements.count }

    mutating func encodeNil() throws {
        let slot = JSONWriter.Slot()
        slot.node = .null
        box.elements.append(slot)
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        box.elements.append(try node(for: value, codingPath: codingPath))
    }

    mutating func encode(_ value: String) throws { box.elements.append(.leaf(.string(value))) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy _: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let nested = JSONWriter.ObjectBox()
        let slot = JSONWriter.Slot()
        slot.node = .object(nested)
        box.elements.append(slot)
        return KeyedEncodingContainer(KeyedNodeContainer<NestedKey>(box: nested, codingPath: codingPath))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let nested = JSONWriter.ArrayBox()
        let slot = JSONWriter.Slot()
        slot.node = .array(nested)
        box.elements.append(slot)
        return UnkeyedNodeContainer(box: nested, codingPath: codingPath)
    }

    mutating func superEncoder() -> any Encoder {
        let slot = JSONWriter.Slot()
        box.elements.append(slot)
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
        slot.node = try node(for: value, codingPath: codingPath).node
    }
}
