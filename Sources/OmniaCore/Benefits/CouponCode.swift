/// A single-use coupon code: 12 Crockford base-32 characters — 11 random (55 bits) and the same
/// Luhn mod 32 check character as a gift card's — printed `7KQM-4XZP-9RTB`. Shorter than a gift
/// card's code because a coupon is worth a discount, not money, and lookups are rate-limited; 55
/// bits still leave a 1,000,000-code campaign's codes one in 36 billion of the space.
public enum CouponCode {
    public static let length = 12

    /// A fresh code in its stored form (12 lower-case characters, no dashes).
    public static func generate(using generator: inout some RandomNumberGenerator) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(length)
        CrockfordBase32.append(generator.next() >> 9, bitCount: 55, to: &bytes)
        bytes.append(GiftCardCode.checkCharacter(for: bytes))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The stored form of a code as typed, or nil when it cannot be one (length, alphabet, check character).
    public static func normalize(_ text: String) -> String? {
        guard let code = CrockfordBase32.normalizeTyped(text, length: length) else { return nil }
        let bytes = Array(code.utf8)
        return GiftCardCode.checkCharacter(for: bytes.dropLast()) == bytes.last ? code : nil
    }

    /// The printed form: upper case in groups of four.
    public static func display(_ stored: String) -> String {
        CrockfordBase32.displayGrouped(stored)
    }
}
