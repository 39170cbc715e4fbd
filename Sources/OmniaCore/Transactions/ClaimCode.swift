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
        CrockfordBase32.normalizeTyped(text, length: length)
    }

    /// The printed form: upper case in groups of four.
    public static func display(_ stored: String) -> String {
        CrockfordBase32.displayGrouped(stored)
    }
}
