@testable import OmniaCore
import Testing

@Suite("Customer identifiers")
struct IdentifierTests {
    let spain = IdentifierNormalization(defaultCountry: "ES")

    @Test("kinds: built-in names, tenant-defined names, and which are strong enough to merge on")
    func kinds() {
        #expect(IdentifierKind(name: "loyalty_card") == .loyaltyCard)
        #expect(IdentifierKind(name: "member_number") == .custom("member_number"))
        #expect(IdentifierKind(name: "Member") == nil)
        #expect(IdentifierKind(name: "9lives") == nil)
        #expect(IdentifierKind(name: "") == nil)
        #expect(IdentifierKind.builtIn.allSatisfy { IdentifierKind(name: $0.name) == $0 })
        #expect(IdentifierKind.email.isStrong && IdentifierKind.accountID.isStrong && IdentifierKind.loyaltyCard.isStrong)
        #expect(!IdentifierKind.deviceID.isStrong && !IdentifierKind.custom("crm_id").isStrong)
    }

    @Test("emails are trimmed and lower-cased; Gmail dots and +tags fold when the tenant wants it")
    func emails() throws {
        #expect(try spain.normalize("  Ana.Garcia@Example.COM ", as: .email) == "ana.garcia@example.com")
        #expect(try spain.normalize("J.Doe+shop@googlemail.com", as: .email) == "jdoe@gmail.com")
        #expect(try spain.normalize("jdoe@gmail.com", as: .email) == "jdoe@gmail.com")
        let literal = IdentifierNormalization(defaultCountry: "ES", canonicalGmail: false)
        #expect(try literal.normalize("J.Doe+shop@gmail.com", as: .email) == "j.doe+shop@gmail.com")
        for bad in ["ana", "ana@", "@example.com", "ana@example", "ana@@example.com", "an a@example.com", "ana@.com", "+@gmail.com"] {
            #expect(throws: IdentifierError.self, "\(bad)") { try spain.normalize(bad, as: .email) }
        }
    }

    @Test("phones become E.164 with the tenant's country and its trunk prefix rules")
    func phones() throws {
        #expect(try spain.normalize("612 34 56 78", as: .phone) == "+34612345678")
        #expect(try spain.normalize("+34 612-345-678", as: .phone) == "+34612345678")
        #expect(try spain.normalize("0034 612 345 678", as: .phone) == "+34612345678")
        #expect(try IdentifierNormalization(defaultCountry: "GB").normalize("07700 900123", as: .phone) == "+447700900123")
        #expect(try IdentifierNormalization(defaultCountry: "FR").normalize("01 23 45 67 89", as: .phone) == "+33123456789")
        // Italy keeps the leading 0 of fixed lines.
        #expect(try IdentifierNormalization(defaultCountry: "IT").normalize("06 1234 5678", as: .phone) == "+390612345678")
        #expect(try IdentifierNormalization(defaultCountry: "US").normalize("1 (415) 555-0100", as: .phone) == "+14155550100")
        #expect(try IdentifierNormalization(defaultCountry: "US").normalize("(415) 555-0100", as: .phone) == "+14155550100")
        #expect(throws: IdentifierError("phone_needs_country", "send the number in international form (+…); this tenant has no default country")) {
            try IdentifierNormalization().normalize("612345678", as: .phone)
        }
        #expect(try IdentifierNormalization().normalize("+34612345678", as: .phone) == "+34612345678")
        for bad in ["12", "+34 abc", "+0123456789", "+1234567890123456"] {
            #expect(throws: IdentifierError.self, "\(bad)") { try spain.normalize(bad, as: .phone) }
        }
    }

    @Test("loyalty cards keep their digits only")
    func loyaltyCards() throws {
        #expect(try spain.normalize(" 7000-1234 5678 ", as: .loyaltyCard) == "700012345678")
        #expect(throws: IdentifierError.self) { try spain.normalize("CARD-123", as: .loyaltyCard) }
        #expect(throws: IdentifierError.self) { try spain.normalize("123", as: .loyaltyCard) }
    }

    @Test("a payment token that reads as a card number (Luhn-valid) is refused and never stored")
    func paymentTokens() throws {
        #expect(Luhn.isValid("4111111111111111"))
        #expect(!Luhn.isValid("4111111111111112"))
        do {
            _ = try spain.normalize("4111 1111 1111 1111", as: .paymentToken)
            Issue.record("a card number was accepted as a payment token")
        } catch {
            #expect(error.code == "raw_card_number")
        }
        #expect(try spain.normalize("fp_9f86d081884c7d65", as: .paymentToken) == "fp_9f86d081884c7d65")
        #expect(try spain.normalize("4111111111111112", as: .paymentToken) == "4111111111111112", "digits that fail Luhn are an opaque token")
    }

    @Test("every kind refuses empty, over-long and control-character values")
    func limits() {
        for kind in IdentifierKind.builtIn + [.custom("crm_id")] {
            #expect(throws: IdentifierError.self) { try spain.normalize("   ", as: kind) }
            #expect(throws: IdentifierError.self) { try spain.normalize(String(repeating: "7", count: 201), as: kind) }
            #expect(throws: IdentifierError.self) { try spain.normalize("ab\u{07}c", as: kind) }
        }
        #expect((try? spain.normalize(" Device-AB12 ", as: .deviceID)) == "Device-AB12")
    }
}

@Suite("String similarity")
struct StringSimilarityTests {
    @Test("Jaro and Jaro–Winkler match the published reference values")
    func jaroWinklerReference() {
        // Values from Winkler (1990) and the usual textbook pairs.
        #expect(abs(StringSimilarity.jaro("MARTHA", "MARHTA") - 0.9444) < 0.0001)
        #expect(abs(StringSimilarity.jaroWinkler("MARTHA", "MARHTA") - 0.9611) < 0.0001)
        #expect(abs(StringSimilarity.jaro("DWAYNE", "DUANE") - 0.8222) < 0.0001)
        #expect(abs(StringSimilarity.jaroWinkler("DWAYNE", "DUANE") - 0.84) < 0.0001)
        #expect(abs(StringSimilarity.jaroWinkler("DIXON", "DICKSONX") - 0.8133) < 0.0001)
        #expect(StringSimilarity.jaroWinkler("garcia", "garcia") == 1)
        #expect(StringSimilarity.jaroWinkler("", "") == 1)
        #expect(StringSimilarity.jaroWinkler("abc", "") == 0)
        #expect(StringSimilarity.jaro("abc", "xyz") == 0)
    }

    @Test("Levenshtein distance and its 0…1 similarity")
    func levenshtein() {
        #expect(StringSimilarity.levenshtein("kitten", "sitting") == 3)
        #expect(StringSimilarity.levenshtein("", "abc") == 3)
        #expect(StringSimilarity.levenshtein("28013", "28013") == 0)
        #expect(abs(StringSimilarity.normalizedLevenshtein("28013", "28031") - 0.6) < 1e-9)
        #expect(StringSimilarity.normalizedLevenshtein("", "") == 1)
    }

    @Test("match keys ignore case, accents, punctuation and spacing")
    func matchKeys() {
        #expect(StringSimilarity.matchKey("  María-José  MUÑOZ ") == "maria jose munoz")
        #expect(StringSimilarity.matchKey("C/ Gran Vía, 28") == "c gran via 28")
        #expect(StringSimilarity.matchKey("O'Brien") == "o brien")
        #expect(StringSimilarity.matchKey("François") == StringSimilarity.matchKey("francois"))
    }
}
