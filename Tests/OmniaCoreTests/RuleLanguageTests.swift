import OmniaCore
import Testing

@Suite struct RuleLanguageTests {
    typealias F = RuleFixtures

    @Test func theIssuesExamples() throws {
        let gold = #"cart.subtotal >= 50.00 EUR and customer.tier in ["gold","platinum"]"#
        #expect(try F.holds(gold))
        #expect(try !F.holds(gold, F.input(subtotal: F.euros(4999))))
        let women = #"any(cart.lines, .category startsWith "women/") and channel.kind == "store""#
        #expect(try F.holds(women))
        #expect(try !F.holds(women, F.input(channelKind: "web")))
        #expect(try !F.holds(women, F.input(lines: [F.line(sku: "S", category: "men/socks", quantity: 1, unitCents: 100)])))
    }

    @Test func collectionsCountSumMinMax() throws {
        #expect(try F.value("count(cart.lines)", type: .number) == F.number(2))
        #expect(try F.value("count(cart.lines, .quantity >= 2)", type: .number) == F.number(1))
        #expect(try F.value("sum(cart.lines, .quantity)", type: .number) == F.number(3))
        #expect(try F.value("sum(cart.lines, .total)", type: .money) == F.euros(6000))
        #expect(try F.value("min(cart.lines, .unit_price)", type: .money) == F.euros(1000))
        #expect(try F.value("max(cart.lines, .sku)", type: .string) == .string("SOCK-2"))
        #expect(try F.holds(#"all(cart.lines, .quantity <= 2) and any(cart.lines, any(.tags, . == "wool"))"#))
        #expect(try F.holds(#"any(cart.lines, .tags contains "wool") and customer.segments contains "vip""#))
        // An empty cart: nothing matches any, everything matches all, sums of numbers are 0, of money null.
        let empty = F.input(lines: [])
        #expect(try !F.holds("any(cart.lines, .quantity > 0)", empty))
        #expect(try F.holds("all(cart.lines, .quantity > 100)", empty))
        #expect(try F.value("sum(cart.lines, .quantity)", type: .number, empty) == F.number(0))
        #expect(try F.value("sum(cart.lines, .total)", type: .money, empty) == .null)
    }

    @Test func numbersAreExactDecimals() throws {
        #expect(try F.holds("0.1 + 0.2 == 0.3"))
        #expect(try F.value("10 / 4", type: .number) == .number(RuleDecimal(parsing: "2.5")!))
        #expect(try F.value("2 / 3", type: .number) == .number(RuleDecimal(scaled: 666_667)))
        // Money times a number rounds half to even to the cent: 0.125 × 60.00 = 7.50; 0.5 × 0.05 = 0.025 → 0.02.
        #expect(try F.value("cart.subtotal * 0.125", type: .money) == F.euros(750))
        #expect(try F.value("0.05 EUR * 0.5", type: .money) == F.euros(2))
        #expect(try F.value("0.15 EUR * 0.5", type: .money) == F.euros(8))
        #expect(try F.value("cart.subtotal / 7", type: .money) == F.euros(857))
        #expect(try F.value("-cart.subtotal + 1.00 EUR", type: .money) == F.euros(-5900))
        #expect(throws: RuleEvaluationError.divisionByZero) { try F.value("1 / (cart.quantity - 3)", type: .number) }
        #expect(throws: RuleEvaluationError.overflow) { try F.value("9000000000000 * 9000000000000", type: .number) }
    }

    @Test func moneyInAnotherCurrencyDoesNotApply() throws {
        let sek = F.input(subtotal: .money(minorUnits: 100_000, currency: Currency(code: "SEK")!))
        #expect(throws: RuleEvaluationError.currencyMismatch("SEK", "EUR")) { try F.holds("cart.subtotal >= 50.00 EUR", sek) }
        #expect(throws: RuleEvaluationError.currencyMismatch("SEK", "EUR")) { try F.holds("cart.subtotal + 1.00 EUR > 0.00 SEK", sek) }
    }

    @Test func missingValuesAreNull() throws {
        let anonymous = F.input(customer: .null)
        #expect(try !F.holds(#"customer.tier == "gold""#, anonymous))
        #expect(try F.holds("customer.tier == null", anonymous))
        #expect(try F.holds(#"customer.tier != "gold""#, anonymous))
        #expect(try !F.holds("customer.orders >= 0", anonymous))
        #expect(try !F.holds("not (customer.orders >= 0)"))
        #expect(try F.holds("not (customer.orders >= 0)", anonymous))
        #expect(try !F.holds(#"customer.segments contains "vip""#, anonymous))
        #expect(try F.value("customer.orders + 1", type: .number, anonymous) == .null)
        #expect(try F.value("count(customer.segments)", type: .number, anonymous) == F.number(0))
    }

    @Test func datesAndTimes() throws {
        #expect(try F.holds(#"context.date >= date("2026-12-01") and context.date < date("2027-01-01")"#))
        #expect(try F.holds(#"context.time >= time("18:00") and context.weekday in ["thursday", "friday"]"#))
        #expect(try F.value("days_between(customer.birthday, context.date)", type: .number) == F.number(13149))
        #expect(try F.holds(#"context.date - 23 == date("2026-12-01") and context.date + 8 == date("2027-01-01")"#))
        #expect(try F.holds(#"context.date - date("2026-12-01") == 23"#))
        #expect(F.error(#"context.date == date("2026-02-30")"#)?.code == .invalidLiteral)
        #expect(F.error(#"context.time > time("24:00")"#)?.code == .invalidLiteral)
        #expect(RuleCalendar.text(day: RuleCalendar.day("2024-02-29")!) == "2024-02-29")
        #expect(RuleCalendar.day("2023-02-29") == nil)
    }

    @Test func syntaxErrorsPointAtTheirPlace() {
        let cases: [(String, RuleError.Code, Int, Int, String)] = [
            ("cart.subtotal >= ", .syntaxError, 1, 18, "expected a value"),
            ("channel.kind == \"store", .syntaxError, 1, 17, "not closed"),
            ("cart.quantity < 1 < 2", .syntaxError, 1, 19, "cannot be chained"),
            ("(cart.quantity > 1", .syntaxError, 1, 19, "expected ')'"),
            ("cart.quantity > 1 )", .syntaxError, 1, 19, "after a complete rule"),
            ("cart.quantity # 2", .syntaxError, 1, 15, "unexpected character"),
            ("cart.subtotal >= 50.001 EUR", .invalidLiteral, 1, 18, "2 decimal places"),
            ("cart.subtotal >= 50 XYZ", .invalidLiteral, 1, 21, "ISO 4217"),
            ("cart.quantity > 0.0000001", .invalidLiteral, 1, 17, "not a number"),
            ("cart.\n  > 1", .syntaxError, 2, 3, "expected a field name"),
            ("cart.quantity > 1\n  and channel.kind ==", .syntaxError, 2, 22, "expected a value"),
            (#"channel.kind == "a\q""#, .syntaxError, 1, 19, "unknown escape"),
        ]
        for (rule, code, line, column, fragment) in cases {
            let error = F.error(rule)
            #expect(error?.code == code, "\(rule)")
            #expect(error.map { ($0.line, $0.column) } ?? (0, 0) == (line, column), "\(rule): \(String(describing: error))")
            #expect(error?.message.contains(fragment) == true, "\(rule): \(String(describing: error))")
        }
    }

    @Test func typeErrorsPointAtTheirPlace() {
        let cases: [(String, RuleError.Code, Int, Int, String)] = [
            ("cart.subtotal >= 50", .typeMismatch, 1, 15, "50.00 EUR"),
            ("cart.subtotal >= 50.00 EUR and\ncustomer.tier == 3", .typeMismatch, 2, 15, "a string and a number"),
            ("cart.total > 1.00 EUR", .unknownField, 1, 1, "cart has no field 'total' (it has subtotal, quantity, lines)"),
            ("cart.lines.category == \"x\"", .unknownField, 1, 1, "it is a list"),
            (".category == \"x\"", .typeMismatch, 1, 1, "used outside them"),
            ("any(cart.lines, .quantity)", .typeMismatch, 1, 17, "condition on each element"),
            ("any(cart.subtotal, true)", .typeMismatch, 1, 5, "looks through a list"),
            ("any(cart.lines)", .wrongArguments, 1, 1, "any(list, condition)"),
            ("discount(cart)", .unknownFunction, 1, 1, "no function 'discount'"),
            ("cart.quantity", .typeMismatch, 1, 1, "must give a bool"),
            ("[1, \"a\"] == []", .typeMismatch, 1, 5, "one type"),
            ("customer.tier in [1, 2]", .typeMismatch, 1, 15, "looks for a value in a list"),
            ("not cart.quantity", .typeMismatch, 1, 5, "'not' needs a condition"),
            ("cart.subtotal + 1 > 0.00 EUR", .typeMismatch, 1, 15, "works on numbers, money"),
            ("cart.quantity startsWith \"1\"", .typeMismatch, 1, 15, "compares two texts"),
            ("date(channel.kind) == context.date", .wrongArguments, 1, 1, "date(\"YYYY-MM-DD\")"),
        ]
        for (rule, code, line, column, fragment) in cases {
            let error = F.error(rule)
            #expect(error?.code == code, "\(rule): \(String(describing: error))")
            #expect(error.map { ($0.line, $0.column) } ?? (0, 0) == (line, column), "\(rule): \(String(describing: error))")
            #expect(error?.message.contains(fragment) == true, "\(rule): \(String(describing: error))")
        }
    }

    @Test func theCanonicalTextKeepsOnlyNeededParentheses() throws {
        let cases = [
            ("a  or(b and c)", "a or b and c"),
            ("(a or b) and c", "(a or b) and c"),
            ("a or (b or c)", "a or (b or c)"),
            ("not (a == b)", "not a == b"),
            ("(not a) == b", "(not a) == b"),
            ("- (1 + 2) * 3", "-(1 + 2) * 3"),
            ("1 - (2 - 3)", "1 - (2 - 3)"),
            ("50.5 EUR", "50.50 EUR"),
            ("1000 JPY", "1000 JPY"),
            ("any(cart.lines,.x==  \"q\\\"\")", "any(cart.lines, .x == \"q\\\"\")"),
            ("x not in [ 1,2 ]", "x not in [1, 2]"),
            ("2.50", "2.5"),
        ]
        for (source, canonical) in cases {
            let expression = try RuleParser.parse(source)
            #expect(expression.description == canonical)
            #expect(try RuleParser.parse(canonical) == expression)
        }
    }

    @Test func theJSONFormDescribesTheSameRule() throws {
        let source = #"cart.subtotal >= 50.00 EUR and customer.tier in ["gold", "platinum"] and any(cart.lines, .category startsWith "women/") and -cart.quantity < 0 and customer.orders != null"#
        let expression = try RuleParser.parse(source)
        let json = RuleJSON.json(expression)
        guard case .object(let top) = json, case .array(let arguments) = top["args"] else { Issue.record("not an object"); return }
        #expect(top["op"] == .string("and"))
        #expect(arguments.count == 5)
        #expect(arguments[0] == .object(["op": .string(">="), "args": .array([.object(["field": .string("cart.subtotal")]), .object(["money": .string("50.00 EUR")])])]))
        #expect(try RuleJSON.expression(json) == expression)
        #expect(try RuleJSON.expression(.object(["number": .string("-2.5")])) == RuleParser.parse("-2.5"))

        let bad: [(JSONValue, String)] = [
            (.object(["op": .string("=="), "args": .array([.object(["field": .string("a")])])]), "$.args: '==' takes two arguments"),
            (.object(["op": .string("~"), "args": .array([])]), "$.op: unknown operator"),
            (.object(["field": .string("cart..x")]), "$.field: 'cart..x' is not a path"),
            (.object(["not": .object(["money": .string("50 EURO")])]), "$.not.money: '50 EURO' is not a money amount"),
            (.object(["field": .string("a"), "extra": .bool(true)]), "$: unexpected member 'extra'"),
            (.array([]), "$: expected an object"),
            (.object(["call": .string("any"), "args": .array([.object(["list": .array([.integer(1)])])])]), "$.args[0].list[0]: expected an object"),
        ]
        for (value, message) in bad {
            #expect(throws: RuleError.self) { try RuleJSON.expression(value) }
            do { _ = try RuleJSON.expression(value) } catch { #expect(error.message.hasPrefix(message), "\(error.message)") }
        }
    }

    @Test func noRuleCanHoldTheEngine() throws {
        // Three nested scans of 200 lines would take 8,000,000 steps; the budget stops it.
        let lines = (0..<200).map { F.line(sku: "S\($0)", category: "c", quantity: 1, unitCents: 100) }
        let rule = "any(cart.lines, any(cart.lines, any(cart.lines, .quantity > 5)))"
        #expect(throws: RuleEvaluationError.budgetExceeded) { try F.holds(rule, F.input(lines: lines)) }
        #expect(throws: RuleEvaluationError.budgetExceeded) {
            try RuleProgram("count(cart.lines) > 0 and cart.quantity > 0", schema: F.schema).isSatisfied(by: F.input(), stepBudget: 3)
        }
        #expect(try RuleProgram("count(cart.lines) > 0", schema: F.schema).isSatisfied(by: F.input(), stepBudget: 10))
        // Sizes are bounded when a rule is accepted, without exhausting the stack.
        #expect(F.error(String(repeating: "(", count: 10_000) + "true" + String(repeating: ")", count: 10_000))?.code == .tooComplex)
        #expect(F.error(String(repeating: "not ", count: 1_000) + "true")?.code == .tooComplex)
        #expect(F.error(String(repeating: "-", count: 1_000) + "1 > 0")?.code == .tooComplex)
        #expect(F.error(Array(repeating: "cart.quantity > 1", count: 300).joined(separator: " and "))?.code == .tooComplex)
        #expect(F.error(String(repeating: " ", count: 10_001) + "true")?.code == .tooComplex)
        #expect(throws: RuleError.self) { try RuleJSON.expression(Self.nestedJSON(depth: 1_000)) }
    }

    private static func nestedJSON(depth: Int) -> JSONValue {
        (0..<depth).reduce(JSONValue.object(["bool": .bool(true)])) { inner, _ in .object(["not": inner]) }
    }
}
