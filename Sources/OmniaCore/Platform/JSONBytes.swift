/// Compact JSON written member by member by hand, byte for byte what `JSONWriter` writes for the
/// same members in the same order (strings escaped alike, integers in decimal). For a type encoded
/// thousands of times a second, where `Encodable`'s containers cost more than the bytes; each use
/// is checked against `JSONWriter.encode` of its type by a test.
public struct JSONBytes {
    public private(set) var bytes: [UInt8] = []
    /// For each open container, innermost last: whether nothing is in it yet.
    private var empty: [Bool] = []
    /// A member's name was written and its value comes next.
    private var afterKey = false

    public init() {
        bytes.reserveCapacity(512)
    }

    /// A member's name, as it is written (snake_case); its value must follow.
    public mutating func key(_ name: String) {
        if empty[empty.count - 1] { empty[empty.count - 1] = false } else { bytes.append(UInt8(ascii: ",")) }
        JSONWriter.appendString(name, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        afterKey = true
    }

    /// Before a value: nothing after a key, a comma between array elements.
    private mutating func beginValue() {
        if afterKey {
            afterKey = false
        } else if !empty.isEmpty {
            if empty[empty.count - 1] { empty[empty.count - 1] = false } else { bytes.append(UInt8(ascii: ",")) }
        }
    }

    public mutating func beginObject() { open(UInt8(ascii: "{")) }
    public mutating func endObject() { close(UInt8(ascii: "}")) }
    public mutating func beginArray() { open(UInt8(ascii: "[")) }
    public mutating func endArray() { close(UInt8(ascii: "]")) }

    private mutating func open(_ byte: UInt8) {
        beginValue()
        bytes.append(byte)
        empty.append(true)
    }

    private mutating func close(_ byte: UInt8) {
        empty.removeLast()
        bytes.append(byte)
    }

    public mutating func string(_ text: String) {
        beginValue()
        JSONWriter.appendString(text, to: &bytes)
    }

    public mutating func integer(_ value: Int64) {
        beginValue()
        bytes.append(contentsOf: String(value).utf8)
    }

    /// `name: text`, or nothing when `text` is nil (as `Encodable` leaves out a nil optional).
    public mutating func member(_ name: String, _ text: String?) {
        guard let text else { return }
        key(name)
        string(text)
    }

    /// `name: value`, or nothing when `value` is nil.
    public mutating func member(_ name: String, _ value: Int64?) {
        guard let value else { return }
        key(name)
        integer(value)
    }

    public mutating func member(_ name: String, _ value: Bool) {
        key(name)
        bool(value)
    }

    /// `name: [ … ]`, each element written by `element`.
    public mutating func member<Elements: Sequence>(_ name: String, _ elements: Elements, _ element: (inout JSONBytes, Elements.Element) -> Void) {
        key(name)
        beginArray()
        for item in elements { element(&self, item) }
        endArray()
    }

    /// `{ … }` with the members `members` writes.
    public mutating func object(_ members: (inout JSONBytes) -> Void) {
        beginObject()
        members(&self)
        endObject()
    }

    public mutating func bool(_ value: Bool) {
        beginValue()
        bytes.append(contentsOf: value ? [0x74, 0x72, 0x75, 0x65] : [0x66, 0x61, 0x6C, 0x73, 0x65])
    }
}
