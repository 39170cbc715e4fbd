import Foundation
@testable import OmniaServer
import OmniaCore
import Testing

@Suite("Scanning sale bodies")
struct JSONScannerTests {
    /// The request as `JSONDecoder` reads it, or the error it reports.
    static func viaDecoder(_ body: String) -> String {
        do {
            return try canonical(JSONCoding.decoder.decode(RecordTransactionRequest.self, from: Data(body.utf8)))
        } catch {
            return "error"
        }
    }

    static func canonical(_ request: RecordTransactionRequest) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(request), as: UTF8.self)
    }

    static let plain = """
        {"external_id":"T-1","kind":"sale","channel":"web","location":"madrid-01","occurred_at":"2026-03-01T10:15:00Z","currency":"EUR",\
        "customer":{"loyalty_card":"1234","email":"ana@example.com"},"lines":[{"sku":"A","name":"Jersey ñandú","category":"home","quantity":2,\
        "unit_price":500,"discount":0},{"sku":"B","quantity":-1,"unit_price":9223372036854775807,"original_line":3,"reason":"size"}],\
        "discounts":[{"code":"X","description":"d","amount":10}],"taxes":[{"name":"IVA","rate":2100,"amount":173}],"taxes_included":true,\
        "tenders":[{"kind":"card","amount":990,"reference":"r"}],"total":990,"original":{"id":"txn_1","channel":"web","external_id":"W-1"}}
        """

    @Test("a plain body is read by the scanner into exactly what JSONDecoder makes of it")
    func plainBodies() throws {
        for body in [Self.plain, "{}", "{\"lines\":[],\"customer\":{}}", " { \"total\" : -5 , \"taxes_included\" : false } ",
                     "{\"channel\":null,\"lines\":null,\"customer\":null,\"original\":null,\"total\":null}"] {
            let scanned = try #require(RecordTransactionRequest.scan(Array(body.utf8)), "\(body)")
            #expect(try Self.canonical(scanned) == Self.viaDecoder(body), "\(body)")
        }
    }

    @Test("what the scanner does not read plainly is left to JSONDecoder, which decides alike")
    func fallbacks() throws {
        let bodies = [
            "{\"external_id\":\"a\\\"b\"}",                          // an escape
            "{\"total\":1.0}", "{\"total\":1e2}",                    // fraction, exponent
            "{\"total\":9223372036854775808}",                       // beyond Int64
            "{\"total\":1,\"total\":2}",                             // a repeated member
            "{\"lines\":[{\"unitPrice\":5}]}",                       // a nested key in another case
            "{\"lines\":[{\"sku\":\"A\",\"sku\":\"B\"}]}",
            "{\"lines\":[null]}", "{\"lines\":{}}", "{\"customer\":{\"email\":null}}",
            "{\"customer\":{\"email\":\"a\",\"email\":\"b\"}}",
            "{\"total\":\"5\"}", "{\"taxes_included\":1}", "{\"lines\":[{\"original_line\":\"2\"}]}",
        ]
        for body in bodies {
            #expect(RecordTransactionRequest.scan(Array(body.utf8)) == nil, "\(body)")
            let decoded = (try? decodeJSONObject(RecordTransactionRequest.self, from: Array(body.utf8))).map { try? Self.canonical($0) } ?? "error"
            #expect(decoded == Self.viaDecoder(body), "\(body)")
        }
    }

    @Test("random sale bodies decode the same by either path")
    func randomBodies() throws {
        var random = SplitMix64(seed: 20261206)
        let texts = ["", "a", "ñandú", "x y", "line\nbreak", "quote\"d", "back\\slash", "emoji 🧥", "ümlaut"]
        func text() -> String { texts[Int(random.next() % UInt64(texts.count))] }
        func integer() -> Int64 { [0, 1, -1, 42, 500, Int64.max, Int64.min][Int(random.next() % 7)] }
        func maybe(_ probability: UInt64 = 2) -> Bool { random.next() % probability == 0 }
        for _ in 0..<500 {
            var body: [String: Any] = [:]
            for key in ["external_id", "kind", "channel", "location", "occurred_at", "currency"] where maybe() { body[key] = maybe(5) ? NSNull() : text() }
            if maybe() { body["total"] = maybe(7) ? 1.5 : NSNumber(value: integer()) }
            if maybe() { body["taxes_included"] = maybe(5) ? NSNull() : maybe() }
            if maybe() { body["customer"] = ["email": text(), "loyalty_card": text()] }
            if maybe() {
                body["lines"] = (0..<Int(random.next() % 4)).map { _ -> [String: Any] in
                    var line: [String: Any] = ["sku": text(), "quantity": NSNumber(value: integer())]
                    if maybe() { line["unit_price"] = NSNumber(value: integer()) }
                    if maybe() { line["original_line"] = NSNumber(value: Int(random.next() % 5)) }
                    if maybe(6) { line["category"] = NSNull() }
                    return line
                }
            }
            if maybe() { body["tenders"] = [["kind": text(), "amount": NSNumber(value: integer())]] }
            let bytes = try JSONSerialization.data(withJSONObject: body)
            let text = String(decoding: bytes, as: UTF8.self)
            let decoded = (try? decodeJSONObject(RecordTransactionRequest.self, from: Array(bytes))).map { try? Self.canonical($0) } ?? "error"
            #expect(decoded == Self.viaDecoder(text), "\(text)")
        }
    }
}

@Suite("Scanning hold and redemption bodies")
struct CreateHoldScannerTests {
    /// `CreateHoldRequest` is only Decodable: its reflection lists every field, nil or not.
    static func viaDecoder(_ body: String) -> String {
        (try? JSONCoding.decoder.decode(CreateHoldRequest.self, from: Data(body.utf8))).map { "\($0)" } ?? "error"
    }

    @Test("a plain body is read by the scanner into exactly what JSONDecoder makes of it")
    func plainBodies() throws {
        let bodies = [
            """
            {"channel":"web","currency":"EUR","country":"ES","customer_id":"cus_1","reference":"order-1","expires_in":900,\
            "instruments":[{"type":"gift_card","id":"gc_1","amount":100},{"type":"gift_card","code":"ABCD-EFGH","pin":"1234","amount":5},\
            {"type":"coupon","code":"WELCOME10"}],"occurred_at":"2026-12-07T10:00:00Z","offline":true}
            """,
            "{}", "{\"instruments\":[]}", "{\"channel\":null,\"instruments\":null,\"offline\":false,\"expires_in\":null}",
        ]
        for body in bodies {
            let scanned = try #require(CreateHoldRequest.scan(Array(body.utf8)), "\(body)")
            #expect("\(scanned)" == Self.viaDecoder(body), "\(body)")
        }
    }

    @Test("what the scanner does not read plainly is left to JSONDecoder, which decides alike")
    func fallbacks() throws {
        let bodies = [
            "{\"reference\":\"a\\\"b\"}", "{\"expires_in\":9.5}", "{\"expires_in\":1e3}", "{\"channel\":\"a\",\"channel\":\"b\"}",
            "{\"instruments\":[null]}", "{\"instruments\":[{\"amount\":\"5\"}]}", "{\"instruments\":[{\"id\":\"a\",\"id\":\"b\"}]}",
            "{\"offline\":1}", "{\"instruments\":{}}",
        ]
        for body in bodies {
            #expect(CreateHoldRequest.scan(Array(body.utf8)) == nil, "\(body)")
            let decoded = (try? decodeJSONObject(CreateHoldRequest.self, from: Array(body.utf8))).map { "\($0)" } ?? "error"
            #expect(decoded == Self.viaDecoder(body), "\(body)")
        }
    }
}

@Suite("Canonical form of a sale")
struct CanonicalDraftTests {
    @Test("the hand-written canonical JSON is byte for byte JSONWriter's, on random drafts (stored content hashes depend on it)")
    func sameAsJSONWriter() throws {
        var random = SplitMix64(seed: 61206)
        let texts = ["", "a", "SKU-1", "ñandú", "x y", "line\nbreak", "quote\"d", "back\\slash", "tab\t", "\u{1}", "emoji 🧥", "/path"]
        func text() -> String { texts[Int(random.next() % UInt64(texts.count))] }
        func maybeText() -> String? { random.next() % 3 == 0 ? nil : text() }
        func integer() -> Int64 { [0, 1, -1, 42, 995, Int64.max, Int64.min][Int(random.next() % 7)] }
        func maybeInteger() -> Int64? { random.next() % 3 == 0 ? nil : integer() }
        func count() -> Int { Int(random.next() % 4) }
        for _ in 0..<1_000 {
            let draft = TransactionDraft(
                kind: random.next() % 2 == 0 ? .sale : .return, externalID: text(), channel: maybeText(), location: maybeText(),
                occurredAt: integer(), currency: maybeText(), customerID: maybeText(),
                identifiers: (0..<count()).map { _ in NormalizedIdentifier(kind: text(), value: text()) },
                originalID: maybeText(), originalChannel: maybeText(), originalExternalID: maybeText(),
                lines: (0..<count()).map { _ in
                    TransactionDraft.Line(sku: maybeText(), name: maybeText(), category: maybeText(), quantity: integer(), unitPrice: maybeInteger(),
                                          discount: integer(), total: maybeInteger(), originalLine: random.next() % 2 == 0 ? nil : Int(random.next() % 9),
                                          reason: maybeText())
                },
                discounts: (0..<count()).map { _ in OrderDiscount(code: maybeText(), description: maybeText(), amount: integer()) },
                taxes: (0..<count()).map { _ in TaxAmount(name: text(), rate: maybeInteger(), amount: integer()) },
                taxesIncluded: random.next() % 2 == 0,
                tenders: random.next() % 3 == 0 ? nil : (0..<count()).map { _ in Tender(kind: text(), amount: integer(), reference: maybeText()) },
                statedTotal: maybeInteger())
            let expected = try JSONWriter.encode(draft)
            #expect(draft.canonicalJSON() == expected, "\(String(decoding: expected, as: UTF8.self))")
        }
    }

    @Test("a cart to evaluate is read by the scanner into exactly what JSONDecoder makes of it")
    func evaluatedCarts() throws {
        let bodies = [
            #"{"channel":"web","currency":"EUR","customer_id":"cus_1","codes":["A","b"],"country":"ES","at":"2026-12-26T10:00:00Z","explain":true,"#
                + #""lines":[{"sku":"J","category":"women/knitwear","brand":"Omnia","quantity":2,"unit_price":5000,"tags":["wool"]},{"sku":"S","quantity":1,"unit_price":0}]}"#,
            "{}", #"{"lines":null,"codes":[],"explain":false}"#,
        ]
        func canonical(_ request: EvaluateCheckoutRequest) throws -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return String(decoding: try encoder.encode(Mirrored(request)), as: UTF8.self)
        }
        for body in bodies {
            let scanned = try #require(EvaluateCheckoutRequest.scan(Array(body.utf8)), "\(body)")
            #expect(try canonical(scanned) == canonical(JSONCoding.decoder.decode(EvaluateCheckoutRequest.self, from: Data(body.utf8))), "\(body)")
        }
        // Not plain: a quantity as a string is left to JSONDecoder, whose error names the field.
        #expect(EvaluateCheckoutRequest.scan(Array(#"{"lines":[{"quantity":"2"}]}"#.utf8)) == nil)
    }

    /// The request's fields, encodable for comparison.
    private struct Mirrored: Encodable {
        let channel, currency, customerId, country, at: String?
        let lines: [EvaluateLineInput]?
        let codes: [String]?
        let explain: Bool?

        init(_ request: EvaluateCheckoutRequest) {
            (channel, currency, customerId, country, at, lines, codes, explain) =
                (request.channel, request.currency, request.customerId, request.country, request.at, request.lines, request.codes, request.explain)
        }
    }
}
