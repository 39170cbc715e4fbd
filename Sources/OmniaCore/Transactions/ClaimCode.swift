/// The code printed on an anonymous sale's receipt, with which a customer later claims the sale
/// from any channel: 12 Crockford base-32 characters (60 random bits) shown as `K7QM-4XZP-9RTA`.
/// Reading it back forgives what people do when they type a code: lower case, missing dashes,
/// spaces, and the letters I, L and O for the digits they resemble.
public enum ClaimCode {
    public static let length = 12

    /// A fresh code in its stored form (12 lower-case characters, no dashes).
    public static func generate(random: UInt64 = UInt64.random(in: .min ... .max)) -> String {
        var bytes: [UInt8] = []
        CrockfordBase32.append(random >> 4, bitCount: 60, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The stored form of a code as typed, or nil when it cannot be one.
    public static func normalize(_ text: String) -> String? {
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
        guard bytes.count == length, CrockfordBase32.isValid(Substring(String(decoding: bytes, as: UTF8.self))) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The printed form: upper case in groups of four.
    public static func display(_ stored: String) -> String {
        let upper = stored.uppercased()
        return stride(from: 0, to: upper.count, by: 4).map { offset in
            let start = upper.index(upper.startIndex, offsetBy: offset)
            return String(upper[start..<upper.index(start, offsetBy: min(4, upper.count - offset))])
        }.joined(separator: "-")
    }
}
