import Foundation
@testable import OmniaCore
import Testing

@Suite("IDs")
struct IDGeneratorTests {
    @Test("IDs carry their prefix, 26 base-32 characters, and sort in creation order")
    func shapeAndOrder() {
        let generator = IDGenerator()
        let ids = (0..<2000).map { _ in generator.make(.channel) }
        #expect(ids.allSatisfy { IDGenerator.isWellFormed($0, prefix: .channel) })
        #expect(ids == ids.sorted(), "monotonic within a millisecond")
        #expect(Set(ids).count == ids.count)
        #expect(!IDGenerator.isWellFormed(ids[0], prefix: .location))
        #expect(!IDGenerator.isWellFormed("chn_" + String(repeating: "u", count: 26), prefix: .channel), "u is not in the alphabet")
    }

    @Test("the time part follows the injected clock")
    func clock() {
        let early = IDGenerator(now: { Date(timeIntervalSince1970: 1_000_000) }, random: { 0 }).make(.event)
        let late = IDGenerator(now: { Date(timeIntervalSince1970: 2_000_000) }, random: { 0 }).make(.event)
        #expect(early < late)
        #expect(early == "evt_0000xsnjg00000000000000000")
    }
}

@Suite("JSON syntax check")
struct JSONSyntaxTests {
    @Test("valid documents pass", arguments: ["{}", "[]", " {\"a\": [1, -2.5e3, true, false, null, \"x\\u00e9\\n\"]} ", "\"s\"", "0"])
    func valid(text: String) {
        #expect(JSONSyntax.check(Array(text.utf8)) == nil)
    }

    @Test("errors report line and column")
    func positions() throws {
        let failure = try #require(JSONSyntax.check(Array("{\n  \"a\": 1,\n  \"b\" 2\n}".utf8)))
        #expect(failure.line == 3)
        #expect(failure.column == 7)
        #expect(failure.reason.contains("':'"))
        #expect(JSONSyntax.check(Array("{\"a\": 01}".utf8)) != nil)
        #expect(JSONSyntax.check(Array("{\"a\": 1,}".utf8)) != nil)
        #expect(JSONSyntax.check(Array("{\"a\": \"unterminated}".utf8))?.reason == "unterminated string")
        #expect(JSONSyntax.check(Array("{} x".utf8))?.column == 4)
        #expect(JSONSyntax.check(Array("".utf8)) != nil)
    }

    @Test("nesting is bounded so hostile input cannot exhaust the stack")
    func depth() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(JSONSyntax.check(Array(deep.utf8))?.reason.contains("nesting") == true)
        let fine = String(repeating: "[", count: 60) + String(repeating: "]", count: 60)
        #expect(JSONSyntax.check(Array(fine.utf8)) == nil)
    }

    @Test("random byte strings never crash the checker")
    func fuzz() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("{}[],:\"\\ 0123456789.eE+-truefalsnl\n\tabc".utf8)
        for _ in 0..<5_000 {
            let length = Int.random(in: 0..<40, using: &generator)
            let bytes = (0..<length).map { _ in alphabet.randomElement(using: &generator)! }
            _ = JSONSyntax.check(bytes)
        }
    }
}

@Suite("Validation")
struct ValidationTests {
    @Test("currencies are ISO 4217 codes with their minor units")
    func currencies() {
        #expect(Currency(code: "EUR")?.minorUnitDigits == 2)
        #expect(Currency(code: "JPY")?.minorUnitDigits == 0)
        #expect(Currency(code: "KWD")?.minorUnitDigits == 3)
        #expect(Currency(code: "eur") == nil)
        #expect(Currency(code: "XXX") == nil)
        var validator = Validator()
        validator.currency("EURO", field: "currency")
        #expect(validator.errors.first?.code == "unknown_currency")
    }

    @Test("amounts are non-negative integers under a ceiling")
    func amounts() {
        var validator = Validator()
        #expect(validator.amount(3995, field: "amount") == 3995)
        validator.amount(-1, field: "a")
        validator.amount(Int64.max, field: "b")
        #expect(validator.errors.map(\.code) == ["negative_amount", "amount_too_large"])
    }

    @Test("text is trimmed, bounded and free of control characters")
    func text() {
        var validator = Validator()
        #expect(validator.text("  Madrid ", field: "city") == "Madrid")
        validator.text("   ", field: "name")
        validator.text(String(repeating: "x", count: 11), field: "short", maxLength: 10)
        validator.text("a\u{0000}b", field: "nul")
        #expect(validator.errors.map(\.code) == ["required", "too_long", "invalid_characters"])
    }

    @Test("countries and time zones are checked against ISO and IANA")
    func places() {
        var validator = Validator()
        #expect(validator.country("ES", field: "country") == "ES")
        #expect(validator.timeZone("Europe/Madrid", field: "tz") == "Europe/Madrid")
        validator.country("es", field: "c1")
        validator.country("XX", field: "c2")
        validator.timeZone("Madrid", field: "tz2")
        #expect(validator.errors.map(\.field) == ["c1", "c2", "tz2"])
    }

    @Test("admin implies every scope; others only their own")
    func scopes() {
        #expect(Set([Scope.admin]).permits(anyOf: [.pos]))
        #expect(Set([Scope.pos]).permits(anyOf: [.pos, .ecommerce]))
        #expect(!Set([Scope.pos]).permits(anyOf: [.admin]))
        #expect(!Set([Scope.analyticsRead]).permits(anyOf: [.pos]))
    }
}

@Suite("JSON writer")
struct JSONWriterTests {
    struct Sample: Encodable {
        let id: String
        let addressLine1: String?
        let someURLValue: Int
        let nested: [Inner]
        let missing: String?
        let ratio: Double
        let flag: Bool
    }

    struct Inner: Encodable {
        let createdAt: String
    }

    @Test("keys are snake_case in declaration order, nil is omitted, strings are escaped")
    func shape() throws {
        let value = Sample(id: "a\"b\\c\n\u{01}/é", addressLine1: "Gran Vía", someURLValue: 7, nested: [Inner(createdAt: "x")],
                           missing: nil, ratio: 0.25, flag: true)
        let text = String(decoding: try JSONWriter.encode(value), as: UTF8.self)
        #expect(text == #"{"id":"a\"b\\c\n\u0001/é","address_line1":"Gran Vía","some_url_value":7,"nested":[{"created_at":"x"}],"ratio":0.25,"flag":true}"#)
    }

    @Test("output parses back to what Foundation's encoder produces")
    func matchesFoundation() throws {
        let value = Sample(id: "x", addressLine1: nil, someURLValue: -3, nested: [], missing: "m", ratio: 1e-7, flag: false)
        let foundation = JSONEncoder()
        foundation.keyEncodingStrategy = .convertToSnakeCase
        let ours = try JSONSerialization.jsonObject(with: Data(JSONWriter.encode(value))) as? NSDictionary
        let theirs = try JSONSerialization.jsonObject(with: foundation.encode(value)) as? NSDictionary
        #expect(ours == theirs)
        #expect(snakeCase("someURLValue") == "some_url_value")
        #expect(snakeCase("addressLine1") == "address_line1")
        #expect(snakeCase("p50Ms") == "p50_ms")
    }

    @Test("non-finite numbers are refused")
    func nonFinite() {
        struct Bad: Encodable { let value = Double.nan }
        #expect(throws: EncodingError.self) { try JSONWriter.encode(Bad()) }
    }
}

@Suite("JSON object scan")
struct JSONObjectScanTests {
    @Test("top-level keys come out in order, escapes decoded, nested keys left out")
    func topLevelKeys() {
        let body = Array(#"{"code":"x","na\u006de":{"inner":1},"emoji\ud83d\ude00":[{"deep":2}],"tab\t":null}"#.utf8)
        #expect(JSONSyntax.checkObject(body) == .object(keys: ["code", "name", "emoji😀", "tab\t"]))
    }

    @Test("a valid non-object and malformed text are told apart")
    func notObjectOrMalformed() {
        #expect(JSONSyntax.checkObject(Array("[1,2]".utf8)) == .notObject)
        #expect(JSONSyntax.checkObject(Array("  \"text\" ".utf8)) == .notObject)
        guard case .malformed(let failure) = JSONSyntax.checkObject(Array("{\"a\":1,}".utf8)) else {
            Issue.record("expected a syntax failure")
            return
        }
        #expect(failure.column == 8)
    }

    @Test("white space is trimmed by Unicode's definition, and untouched text is returned as is")
    func trimming() {
        #expect("  Moda\u{00A0}Iberia \n\t".trimmingWhitespace() == "Moda\u{00A0}Iberia")
        #expect("\u{3000}x\u{2029}".trimmingWhitespace() == "x")
        #expect("plain".trimmingWhitespace() == "plain")
        #expect(" \n ".trimmingWhitespace() == "")
        #expect("Bearer  key ".dropFirst(7).trimmingWhitespace() == "key")
    }
}

@Suite("JSON writer containers")
struct JSONWriterContainerTests {
    /// Uses containers the way hand-written `encode(to:)` implementations may: nested containers,
    /// a wrapper adding members after its model, values that encode nothing, super-encoders.
    struct Unusual: Encodable {
        enum Keys: String, CodingKey { case outer, list, after, empty, parent }
        struct Nothing: Encodable { func encode(to encoder: any Encoder) throws {} }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            var outer = container.nestedContainer(keyedBy: Keys.self, forKey: .outer)
            try outer.encode(1, forKey: .after)
            var list = container.nestedUnkeyedContainer(forKey: .list)
            try list.encode("a")
            try list.encode(Nothing())
            var inner = list.nestedContainer(keyedBy: Keys.self)
            try inner.encode(true, forKey: .after)
            try container.encode(Nothing(), forKey: .empty)
            try container.encode(2.5, forKey: .after)
            try Nothing().encode(to: container.superEncoder(forKey: .parent))
        }
    }

    struct Wrapped: Encodable {
        let model: JSONWriterTests.Inner
        func encode(to encoder: any Encoder) throws {
            try model.encode(to: encoder)
            var container = encoder.container(keyedBy: VerbatimCodingKey.self)
            try container.encode("s3cret", forKey: VerbatimCodingKey(stringValue: "secret"))
        }
    }

    @Test("containers close in the right places and empty values are left out")
    func unusualContainers() throws {
        let text = String(decoding: try JSONWriter.encode(Unusual()), as: UTF8.self)
        #expect(text == #"{"outer":{"after":1},"list":["a",null,{"after":true}],"after":2.5}"#)
        let wrapped = String(decoding: try JSONWriter.encode([Wrapped(model: .init(createdAt: "t"))]), as: UTF8.self)
        #expect(wrapped == #"[{"created_at":"t","secret":"s3cret"}]"#)
    }

    @Test("free-form JSON keeps its member names and escapes them")
    func verbatimKeys() throws {
        let value = JSONValue.object(["someKey": .integer(1), "quo\"te": .array([.null, .number(0.5), .string("x")]), "a": .object([:])])
        let text = String(decoding: try JSONWriter.encode(value), as: UTF8.self)
        #expect(text == #"{"a":{},"quo\"te":[null,0.5,"x"],"someKey":1}"#)
        #expect(String(decoding: try JSONWriter.encode(JSONValue.null), as: UTF8.self) == "null")
    }
}

@Suite("Free text")
struct FreeTextTests {
    static func outcome(_ value: String, _ maxLength: Int = 10) -> String {
        switch FreeText.check(value, maxLength: maxLength) {
        case .success(let text): "ok:\(text)"
        case .failure(let problem): "\(problem)"
        }
    }

    @Test("plain ASCII, spaces, Unicode and control characters are judged alike on the fast and the full path")
    func checks() {
        #expect(Self.outcome("SKU-1") == "ok:SKU-1")
        #expect(Self.outcome("Item 1") == "ok:Item 1")
        #expect(Self.outcome("  Item 1 ") == "ok:Item 1")
        #expect(Self.outcome("abcdefghij") == "ok:abcdefghij")
        #expect(Self.outcome("abcdefghijk") == "tooLong")
        #expect(Self.outcome("ñandúñandú") == "ok:ñandúñandú", "ten characters, more bytes")
        #expect(Self.outcome("ñandúñandúñ") == "tooLong")
        #expect(Self.outcome("a\tb") == "controlCharacters")
        #expect(Self.outcome("a\u{7F}b") == "controlCharacters")
        #expect(Self.outcome("a\u{85}b") == "controlCharacters")
        #expect(Self.outcome("   ") == "empty")
        #expect(Self.outcome("") == "empty")
        #expect(Self.outcome("\u{A0}x\u{2003}") == "ok:x", "Unicode spaces are trimmed")
    }
}
