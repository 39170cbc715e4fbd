import Foundation
@testable import OmniaCore
import Testing

@Suite("Gift card codes")
struct GiftCardCodeTests {
    @Test("a generated code has 16 characters of the alphabet and passes its own check")
    func generated() {
        var generator = SplitMix64(seed: 42)
        for _ in 0..<1_000 {
            let code = GiftCardCode.generate(using: &generator)
            #expect(code.utf8.count == 16)
            #expect(GiftCardCode.normalize(code) == code)
        }
        #expect(GiftCardCode.generate() != GiftCardCode.generate())
    }

    @Test("typed back in any case, with dashes and spaces, I/L for 1 and O for 0, a code is recognised")
    func typedForms() {
        var generator = SplitMix64(seed: 7)
        let code = GiftCardCode.generate(using: &generator)
        let printed = GiftCardCode.display(code)
        #expect(printed.count == 19 && printed.split(separator: "-").count == 4)
        #expect(GiftCardCode.normalize(printed) == code)
        #expect(GiftCardCode.normalize(" " + printed.lowercased().replacingOccurrences(of: "-", with: " ")) == code)
        let withLookalikes = code.replacingOccurrences(of: "1", with: "L").replacingOccurrences(of: "0", with: "o")
        #expect(GiftCardCode.normalize(withLookalikes) == code)
    }

    @Test("every single mistyped character and every swap of two different neighbours is caught by the check character")
    func checkCharacterCatchesTypos() {
        var generator = SplitMix64(seed: 2026)
        let alphabet = CrockfordBase32.alphabet
        for _ in 0..<50 {
            let code = Array(GiftCardCode.generate(using: &generator).utf8)
            for position in code.indices {
                for replacement in alphabet where replacement != code[position] {
                    var typo = code
                    typo[position] = replacement
                    #expect(GiftCardCode.normalize(String(decoding: typo, as: UTF8.self)) == nil)
                }
            }
            for position in code.indices.dropLast() where code[position] != code[position + 1] {
                var swapped = code
                swapped.swapAt(position, position + 1)
                // Luhn mod 32 misses one swap only: of the alphabet's first and last characters, 0 and z.
                let values = (CrockfordBase32.value(of: code[position])!, CrockfordBase32.value(of: code[position + 1])!)
                if abs(values.0 - values.1) != 31 {
                    #expect(GiftCardCode.normalize(String(decoding: swapped, as: UTF8.self)) == nil)
                }
            }
        }
    }

    @Test("the code the documentation shows is a valid one")
    func documentedExample() {
        #expect(GiftCardCode.normalize("K7QM-4XZP-9RTA-B3CV") == "k7qm4xzp9rtab3cv")
    }

    @Test("wrong lengths and characters outside the alphabet are refused")
    func malformed() {
        for text in ["", "ABCD-EFGH", "K7QM-4XZP-9RTA-B3C5-X", "K7QM-4XZP-9RTA-B3CU", "K7QM_4XZP_9RTA_B3C5"] {
            #expect(GiftCardCode.normalize(text) == nil, "\(text)")
        }
    }
}
