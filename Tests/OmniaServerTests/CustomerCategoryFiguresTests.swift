@testable import OmniaServer
import SQLKit
import Testing

@Suite("Customer category figures")
struct CustomerCategoryFiguresTests {
    static func figures(_ entries: [(String, Int64, Int64)]) -> CustomerCategoryFigures {
        var figures = CustomerCategoryFigures()
        for (category, quantity, lines) in entries { figures.add(category, quantity: quantity, lines: lines) }
        return figures
    }

    /// `delta` added to `stored` the way SQLite's function does it, on the bytes.
    static func added(_ delta: String, to stored: String) -> String? {
        var (delta, stored) = (delta, stored)
        var output: [UInt8] = []
        let parsed = delta.withUTF8 { delta in stored.withUTF8 { CustomerCategoryFigures.add(delta, to: $0, into: &output) } }
        return parsed ? String(decoding: output, as: UTF8.self) : nil
    }

    @Test("the stored text reads back as the same figures, and a delta adds per category in first-seen order")
    func textAndAdding() throws {
        let stored = Self.figures([("women/knitwear", 3, 2), ("Café & thé", 1, 1), ("home", -2, 0)])
        #expect(CustomerCategoryFigures(text: stored.text) == stored)
        let delta = Self.figures([("home", 5, 1), ("kids/toys", 1, 1), ("women/knitwear", -1, 0)])
        let sum = try #require(Self.added(delta.text, to: stored.text))
        #expect(CustomerCategoryFigures(text: sum) == Self.figures([("women/knitwear", 2, 2), ("Café & thé", 1, 1), ("home", 3, 1), ("kids/toys", 1, 1)]))
        var swift = stored
        swift.add(delta)
        #expect(swift.text == sum, "the Swift sum and the byte-level sum agree")
        #expect(Self.added(delta.text, to: "") == delta.text, "no stored figures yet: the delta as it is")
        #expect(CustomerCategoryFigures(text: "") == CustomerCategoryFigures())
    }

    @Test("malformed values are refused, not misread")
    func malformed() {
        for text in ["home", "home\u{1F}1", "home\u{1F}x\u{1F}1", "home\u{1F}1\u{1F}", "home\u{1F}1\u{1F}2\u{1E}", "a\u{1F}1\u{1F}99999999999999999999"] {
            #expect(CustomerCategoryFigures(text: text) == nil, "\(text.debugDescription)")
            #expect(Self.added(text, to: "a\u{1F}1\u{1F}1") == nil && Self.added("a\u{1F}1\u{1F}1", to: text) == nil)
        }
    }

    @Test("the database adds stored figures like the Swift code", arguments: TestBackend.available)
    func databaseFunction(backend: TestBackend) async throws {
        try await backend.withDatabase { database in
            var generator = SystemRandomNumberGenerator()
            let categories = ["women/knitwear", "men/shoes", "Café & thé", "home", "kids/toys", "a", "b"]
            for _ in 0..<50 {
                func random() -> CustomerCategoryFigures {
                    Self.figures((0..<Int.random(in: 1...5, using: &generator)).map { _ in
                        (categories.randomElement(using: &generator)!, Int64.random(in: -5...50, using: &generator), Int64.random(in: 0...3, using: &generator))
                    })
                }
                let (stored, delta) = (random(), random())
                var expected = stored
                expected.add(delta)
                let sum = try await database.read { sql in
                    let adding = CustomerCategoryFigures.adding("given.delta", to: "given.figures", dialect: database.dialect)
                    return try await sql.raw("""
                        SELECT \(unsafeRaw: adding) AS sum FROM (SELECT \(bind: stored.text) AS figures, \(bind: delta.text) AS delta) AS given
                        """)
                        .first(decodingColumn: "sum", as: String.self)
                }
                #expect(sum.flatMap(CustomerCategoryFigures.init(text:)) == expected, "\(stored.text.debugDescription) + \(delta.text.debugDescription)")
            }
        }
    }
}
