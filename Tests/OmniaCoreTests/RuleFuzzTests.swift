import OmniaCore
import Testing

/// Random rules, fixed seeds: whatever text or tree comes in, the language answers or refuses
/// cleanly, and its text and JSON forms describe the same tree.
@Suite struct RuleFuzzTests {
    typealias F = RuleFixtures

    @Test func randomTextNeverCrashes() {
        var random = SplitMix64(seed: 0x5EED_0001)
        let pieces = ["cart", ".", "lines", "subtotal", "(", ")", "[", "]", ",", "any", "all", "count", "sum", "and", "or", "not", "in",
                      "==", "!=", "<", ">=", "+", "-", "*", "/", "1", "2.5", "50.00", "EUR", "\"x\"", "\"", "\\", "null", "true",
                      "startsWith", "contains", " ", "\n", "é", "#", "customer", "tier", "date(\"2026-01-01\")", "0.0000001", "999999999999999"]
        var refused = 0
        for _ in 0..<3_000 {
            var source = ""
            for _ in 0..<random.below(24) { source += pieces[random.below(pieces.count)] + (random.below(3) == 0 ? "" : " ") }
            do {
                let program = try RuleProgram(source, schema: F.schema)
                _ = try? program.isSatisfied(by: F.input(), stepBudget: 10_000)
            } catch {
                refused += 1
                #expect(error.line >= 1 && error.column >= 1, "\(source): \(error)")
            }
        }
        #expect(refused > 0 && refused < 3_000)
    }

    @Test func mutatedRulesNeverCrash() {
        var random = SplitMix64(seed: 0x5EED_0002)
        let valid = [
            #"cart.subtotal >= 50.00 EUR and customer.tier in ["gold","platinum"]"#,
            #"any(cart.lines, .category startsWith "women/") and channel.kind == "store""#,
            #"count(cart.lines, .quantity >= 2) > 1 or sum(cart.lines, .total) > 10.00 EUR"#,
            #"context.date >= date("2026-12-01") and not (customer.segments contains "staff")"#,
        ]
        let alphabet = Array("()[].,\"\\ -+*/<>=!abcdefgnorstu0123456789EUR\n")
        for _ in 0..<4_000 {
            var characters = Array(valid[random.below(valid.count)])
            for _ in 0...random.below(3) {
                let at = random.below(characters.count)
                switch random.below(3) {
                case 0: characters.remove(at: at)
                case 1: characters.insert(alphabet[random.below(alphabet.count)], at: at)
                default: characters[at] = alphabet[random.below(alphabet.count)]
                }
            }
            if let program = try? RuleProgram(String(characters), schema: F.schema) {
                _ = try? program.isSatisfied(by: F.input(), stepBudget: 10_000)
            }
        }
    }

    @Test func printedAndJSONFormsRoundTrip() throws {
        var random = SplitMix64(seed: 0x5EED_0003)
        for _ in 0..<3_000 {
            var generator = TreeGenerator(random: random)
            let expression = generator.expression(depth: 5)
            random = generator.random
            let text = expression.description
            let reparsed = try RuleParser.parse(text)
            #expect(reparsed == expression, "\(text)")
            #expect(reparsed.description == text)
            #expect(try RuleJSON.expression(RuleJSON.json(expression)) == expression, "\(text)")
        }
    }

    /// A rule that type-checks evaluates to a value of its type (or null), or fails with an
    /// evaluation error — on any input, within its budget.
    @Test func checkedRulesEvaluateToTheirType() throws {
        var random = SplitMix64(seed: 0x5EED_0004)
        var checked = 0
        let inputs = [F.input(), F.input(lines: []), F.input(customer: .null), .null,
                      F.input(subtotal: .money(minorUnits: 5, currency: Currency(code: "JPY")!))]
        for _ in 0..<20_000 {
            var generator = TreeGenerator(random: random, schemaPaths: true)
            let expression = generator.expression(depth: 4)
            random = generator.random
            guard let program = try? RuleProgram(expression, schema: F.schema, type: .unknown) else { continue }
            checked += 1
            for input in inputs {
                guard let value = try? program.value(for: input, stepBudget: 5_000) else { continue }
                #expect(Self.value(value, fits: program.type), "\(expression) gave \(value) for a \(program.type)")
            }
        }
        #expect(checked > 500)
    }

    private static func value(_ value: RuleValue, fits type: RuleType) -> Bool {
        switch (value, type) {
        case (.null, _), (_, .unknown): true
        case (.bool, .bool), (.number, .number), (.string, .string), (.money, .money), (.date, .date), (.time, .time): true
        case (.list(let items), .list(let element)): items.allSatisfy { Self.value($0, fits: element) }
        case (.record(let fields), .record(let record)): fields.count == record.fields.count
        default: false
        }
    }
}

/// Random expression trees: any shape the printer must handle, or (with `schemaPaths`) trees
/// built mostly from the fixture schema's fields so that many of them type-check.
private struct TreeGenerator {
    var random: SplitMix64
    var schemaPaths = false

    private static let names = ["a", "b", "cart", "lines", "x_1", "Tier", "ABC"]
    private static let fields = [["cart", "subtotal"], ["cart", "quantity"], ["cart", "lines"], ["customer", "tier"], ["customer", "segments"],
                                 ["customer", "birthday"], ["customer", "orders"], ["context", "date"], ["context", "time"], ["context", "codes"],
                                 ["channel", "kind"]]
    private static let elementFields = [["quantity"], ["total"], ["category"], ["tags"], [], ["unit_price"]]
    private static let functions = ["any", "all", "count", "sum", "min", "max", "lower", "upper", "abs", "days_between", "date", "time", "f"]
    private static let currencies = ["EUR", "JPY", "KWD"].compactMap { Currency(code: $0) }
    private static let strings = ["", "gold", "women/", "a\"b", "back\\slash", "tab\tnew\nline", "é", "2026-12-24", "18:30"]

    private mutating func pick<T>(_ values: [T]) -> T { values[random.below(values.count)] }

    mutating func expression(depth: Int) -> RuleExpression {
        guard depth > 0, random.below(4) != 0 else { return leaf() }
        switch random.below(10) {
        case 0: return RuleExpression(.not(expression(depth: depth - 1)))
        case 1: return RuleExpression(.negate(expression(depth: depth - 1)))
        case 2: return RuleExpression(.list((0..<random.below(3)).map { _ in expression(depth: depth - 1) }))
        case 3, 4:
            let name = pick(Self.functions)
            if name == "date" { return RuleExpression(.call(name, [RuleExpression(.literal(.string("2026-12-24")))])) }
            let collection = ["any", "all", "count", "sum", "min", "max"].contains(name)
            let first = collection && schemaPaths ? RuleExpression(.field(pick([["cart", "lines"], ["customer", "segments"]]))) : expression(depth: depth - 1)
            return RuleExpression(.call(name, [first] + (0..<(collection ? 1 : random.below(2))).map { _ in expression(depth: depth - 1) }))
        default:
            return RuleExpression(.binary(pick(RuleOperator.allCases), expression(depth: depth - 1), expression(depth: depth - 1)))
        }
    }

    private mutating func leaf() -> RuleExpression {
        switch random.below(8) {
        case 0: return RuleExpression(.literal(.bool(random.below(2) == 0)))
        case 1: return RuleExpression(.literal(.number(RuleDecimal(scaled: Int64(random.below(1 << 40))))))
        case 2:
            let currency = pick(Self.currencies)
            return RuleExpression(.literal(.money(minorUnits: Int64(random.below(1_000_000)), currency: currency)))
        case 3: return RuleExpression(.literal(.string(pick(Self.strings))))
        case 4: return RuleExpression(.literal(.null))
        case 5: return RuleExpression(.element(schemaPaths ? pick(Self.elementFields) : (0..<random.below(3)).map { _ in pick(Self.names) }))
        default: return RuleExpression(.field(schemaPaths ? pick(Self.fields) : (0...random.below(3)).map { _ in pick(Self.names) }))
        }
    }
}
