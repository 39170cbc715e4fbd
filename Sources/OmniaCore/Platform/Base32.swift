/// Crockford's base-32 alphabet in lower case: no i, l, o or u, so IDs and codes read aloud unambiguously.
public enum CrockfordBase32 {
    public static let alphabet: [UInt8] = Array("0123456789abcdefghjkmnpqrstvwxyz".utf8)

    /// Encodes `bitCount` low-order bits of `value` (most significant first) as `bitCount / 5` characters.
    public static func append(_ value: UInt64, bitCount: Int, to output: inout [UInt8]) {
        precondition(bitCount % 5 == 0 && bitCount <= 60)
        var shift = bitCount - 5
        while shift >= 0 {
            output.append(alphabet[Int((value >> UInt64(shift)) & 0x1f)])
            shift -= 5
        }
    }

    /// Whether every character of `text` belongs to the alphabet (checked on every authenticated request).
    public static func isValid(_ text: Substring) -> Bool {
        text.utf8.allSatisfy { members[Int($0)] }
    }

    private static let members: [Bool] = (0..<256).map { alphabet.contains(UInt8($0)) }

    /// The alphabet's value of a lower-case character (0–31), or nil.
    public static func value(of byte: UInt8) -> Int? {
        values[Int(byte)]
    }

    /// `text` as a person typed it — any case, with dashes or spaces, I or L for 1, O for 0 — in the
    /// alphabet's lower case, or nil unless that is exactly `length` characters of the alphabet.
    public static func normalizeTyped(_ text: String, length: Int) -> String? {
        var bytes: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "-"), UInt8(ascii: " "): continue
            case UInt8(ascii: "I"), UInt8(ascii: "i"), UInt8(ascii: "L"), UInt8(ascii: "l"): bytes.append(UInt8(ascii: "1"))
            case UInt8(ascii: "O"), UInt8(ascii: "o"): bytes.append(UInt8(ascii: "0"))
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): bytes.append(byte + 32)
            default: bytes.append(byte)
            }
            if bytes.count > length { return nil }
        }
        guard bytes.count == length, bytes.allSatisfy({ members[Int($0)] }) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A code as printed: upper case in groups of four (`K7QM-4XZP-9RTA`).
    public static func displayGrouped(_ stored: String) -> String {
        let upper = Array(stored.uppercased())
        return stride(from: 0, to: upper.count, by: 4).map { String(upper[$0..<min($0 + 4, upper.count)]) }.joined(separator: "-")
    }

    private static let values: [Int?] = (0..<256).map { byte in alphabet.firstIndex(of: UInt8(byte)) }
}
