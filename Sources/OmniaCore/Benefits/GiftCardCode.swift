/// A gift card's code: 16 Crockford base-32 characters — 15 random (75 bits) and a Luhn mod 32
/// check character — printed `K7QM-4XZP-9RTA-B3CV`. The check character catches any one mistyped
/// character and most swaps of two neighbours before the database is asked; 75 random bits make
/// guessing hopeless (and lookups are rate-limited). Typed back, a code forgives case, dashes,
/// spaces, and I, L and O for the digits they resemble.
public enum GiftCardCode {
    public static let length = 16

    /// A fresh code in its stored form (16 lower-case characters, no dashes), from the system CSPRNG.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return generate(using: &generator)
    }

    /// A fresh code drawn from `generator` (tests pass a seeded one).
    public static func generate(using generator: inout some RandomNumberGenerator) -> String {
        var bytes: [UInt8] = []
        CrockfordBase32.append(generator.next() >> 4, bitCount: 60, to: &bytes)
        CrockfordBase32.append(generator.next() >> 49, bitCount: 15, to: &bytes)
        bytes.append(checkCharacter(for: bytes))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The stored form of a code as typed, or nil when it cannot be one: wrong length, a character
    /// outside the alphabet, or a check character that does not agree.
    public static func normalize(_ text: String) -> String? {
        guard let code = CrockfordBase32.normalizeTyped(text, length: length) else { return nil }
        let bytes = Array(code.utf8)
        return checkCharacter(for: bytes.dropLast()) == bytes.last ? code : nil
    }

    /// The printed form: upper case in groups of four.
    public static func display(_ stored: String) -> String {
        CrockfordBase32.displayGrouped(stored)
    }

    /// The Luhn mod N check character (N = 32) of `payload`, characters of the alphabet.
    static func checkCharacter(for payload: some BidirectionalCollection<UInt8>) -> UInt8 {
        var factor = 2
        var sum = 0
        for byte in payload.reversed() {
            let addend = factor * (CrockfordBase32.value(of: byte) ?? 0)
            sum += addend / 32 + addend % 32
            factor = factor == 2 ? 1 : 2
        }
        return CrockfordBase32.alphabet[(32 - sum % 32) % 32]
    }
}
