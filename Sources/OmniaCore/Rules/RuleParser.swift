/// Parses a rule's source into a `RuleExpression`, reporting the first error with its line and column.
///
/// Grammar, from the loosest binding to the tightest:
///
///     expression := and ("or" and)*
///     and        := not ("and" not)*
///     not        := "not" not | comparison
///     comparison := sum [("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in"
///                         | "startsWith" | "endsWith" | "contains") sum]
///     sum        := product (("+" | "-") product)*
///     product    := unary (("*" | "/") unary)*
///     unary      := "-" unary | primary
///     primary    := NUMBER [CURRENCY] | STRING | "true" | "false" | "null" | "[" [expression ("," expression)*] "]"
///                 | NAME "(" [expression ("," expression)*] ")" | NAME ("." NAME)* | "." [NAME ("." NAME)*] | "(" expression ")"
///
/// Comparisons do not chain (`a < b < c` is an error: write `a < b and b < c`).
public enum RuleParser {
    static let keywords: Set<String> = ["and", "or", "not", "in", "true", "false", "null", "startsWith", "endsWith", "contains"]

    public static func parse(_ source: String) throws(RuleError) -> RuleExpression {
        var parser = Parser(tokens: try RuleLexer.tokens(source))
        let expression = try parser.expression()
        guard case .end = parser.current.kind else {
            throw RuleError(.syntaxError, "unexpected \(parser.current.kind.text) after a complete rule", at: parser.current.position)
        }
        guard expression.nodeCount <= RuleLimits.maximumNodes else {
            throw RuleError(.tooComplex, "a rule has at most \(RuleLimits.maximumNodes) parts; this one has \(expression.nodeCount)", at: expression.position)
        }
        return expression
    }

    static func isName(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, ("a"..."z").contains(first) || ("A"..."Z").contains(first) || first == "_" else { return false }
        return text.unicodeScalars.allSatisfy(RuleLexer.isIdentifierPart) && !keywords.contains(text)
    }

    private struct Parser {
        let tokens: [RuleToken]
        var index = 0
        var depth = 0

        init(tokens: [RuleToken]) { self.tokens = tokens }

        var current: RuleToken { tokens[index] }
        private var next: RuleToken { tokens[min(index + 1, tokens.count - 1)] }

        private mutating func advance() -> RuleToken {
            let token = tokens[index]
            if index < tokens.count - 1 { index += 1 }
            return token
        }

        private func isKeyword(_ word: String, _ token: RuleToken? = nil) -> Bool { (token ?? current).kind == .identifier(word) }
        private func isSymbol(_ symbol: String) -> Bool { current.kind == .symbol(symbol) }

        private mutating func expect(_ symbol: String, _ context: String) throws(RuleError) {
            guard isSymbol(symbol) else { throw RuleError(.syntaxError, "expected '\(symbol)' \(context), found \(current.kind.text)", at: current.position) }
            _ = advance()
        }

        private mutating func nested<T>(at position: RulePosition, _ body: (inout Parser) throws(RuleError) -> T) throws(RuleError) -> T {
            depth += 1
            defer { depth -= 1 }
            guard depth <= RuleLimits.maximumDepth else {
                throw RuleError(.tooComplex, "a rule nests at most \(RuleLimits.maximumDepth) levels deep", at: position)
            }
            return try body(&self)
        }

        mutating func expression() throws(RuleError) -> RuleExpression {
            try nested(at: current.position) { parser throws(RuleError) in
                var left = try parser.and()
                while parser.isKeyword("or") {
                    let token = parser.advance()
                    left = RuleExpression(.binary(.or, left, try parser.and()), at: token.position)
                }
                return left
            }
        }

        private mutating func and() throws(RuleError) -> RuleExpression {
            var left = try not()
            while isKeyword("and") {
                let token = advance()
                left = RuleExpression(.binary(.and, left, try not()), at: token.position)
            }
            return left
        }

        private mutating func not() throws(RuleError) -> RuleExpression {
            guard isKeyword("not") else { return try comparison() }
            let token = advance()
            return try nested(at: token.position) { parser throws(RuleError) in RuleExpression(.not(try parser.not()), at: token.position) }
        }

        private mutating func comparisonOperator() -> RuleOperator? {
            switch current.kind {
            case .symbol(let symbol): RuleOperator(rawValue: symbol).flatMap { $0.isComparison ? $0 : nil }
            case .identifier("not") where isKeyword("in", next): .notIn
            case .identifier(let word): RuleOperator(rawValue: word).flatMap { $0.isComparison ? $0 : nil }
            default: nil
            }
        }

        private mutating func comparison() throws(RuleError) -> RuleExpression {
            let left = try sum()
            guard let operation = comparisonOperator() else { return left }
            let token = advance()
            if operation == .notIn { _ = advance() }
            let right = try sum()
            if comparisonOperator() != nil {
                throw RuleError(.syntaxError, "comparisons cannot be chained; join them with 'and'", at: current.position)
            }
            return RuleExpression(.binary(operation, left, right), at: token.position)
        }

        private mutating func sum() throws(RuleError) -> RuleExpression {
            var left = try product()
            while let operation = [RuleOperator.plus, .minus].first(where: { isSymbol($0.rawValue) }) {
                let token = advance()
                left = RuleExpression(.binary(operation, left, try product()), at: token.position)
            }
            return left
        }

        private mutating func product() throws(RuleError) -> RuleExpression {
            var left = try unary()
            while let operation = [RuleOperator.times, .dividedBy].first(where: { isSymbol($0.rawValue) }) {
                let token = advance()
                left = RuleExpression(.binary(operation, left, try unary()), at: token.position)
            }
            return left
        }

        private mutating func unary() throws(RuleError) -> RuleExpression {
            guard isSymbol("-") else { return try primary() }
            let token = advance()
            return try nested(at: token.position) { parser throws(RuleError) in RuleExpression(.negate(try parser.unary()), at: token.position) }
        }

        private mutating func primary() throws(RuleError) -> RuleExpression {
            let token = current
            switch token.kind {
            case .number(let digits):
                _ = advance()
                return try numberOrMoney(digits, at: token.position)
            case .string(let text):
                _ = advance()
                return RuleExpression(.literal(.string(text)), at: token.position)
            case .identifier("true"), .identifier("false"):
                _ = advance()
                return RuleExpression(.literal(.bool(token.kind == .identifier("true"))), at: token.position)
            case .identifier("null"):
                _ = advance()
                return RuleExpression(.literal(.null), at: token.position)
            case .identifier(let name) where RuleParser.isName(name):
                _ = advance()
                if isSymbol("(") {
                    _ = advance()
                    let arguments = try items(closing: ")", what: "arguments of \(name)")
                    return RuleExpression(.call(name, arguments), at: token.position)
                }
                return RuleExpression(.field([name] + (try path())), at: token.position)
            case .symbol("."):
                _ = advance()
                guard case .identifier(let name) = current.kind, RuleParser.isName(name) else {
                    return RuleExpression(.element([]), at: token.position)
                }
                _ = advance()
                return RuleExpression(.element([name] + (try path())), at: token.position)
            case .symbol("["):
                _ = advance()
                return RuleExpression(.list(try items(closing: "]", what: "list")), at: token.position)
            case .symbol("("):
                _ = advance()
                let inner = try expression()
                try expect(")", "to close '(' at \(token.position)")
                return inner
            default:
                throw RuleError(.syntaxError, "expected a value, found \(token.kind.text)", at: token.position)
            }
        }

        /// `.name.name…` after a field's first name.
        private mutating func path() throws(RuleError) -> [String] {
            var names: [String] = []
            while isSymbol(".") {
                _ = advance()
                guard case .identifier(let name) = current.kind, RuleParser.isName(name) else {
                    throw RuleError(.syntaxError, "expected a field name after '.', found \(current.kind.text)", at: current.position)
                }
                _ = advance()
                names.append(name)
            }
            return names
        }

        private mutating func items(closing: String, what: String) throws(RuleError) -> [RuleExpression] {
            var items: [RuleExpression] = []
            if isSymbol(closing) {
                _ = advance()
                return items
            }
            while true {
                items.append(try expression())
                if isSymbol(",") {
                    _ = advance()
                    continue
                }
                try expect(closing, "to end the \(what)")
                return items
            }
        }

        /// `12`, `0.5`, or money: `50.00 EUR` (at most the currency's minor-unit digits).
        private mutating func numberOrMoney(_ digits: String, at position: RulePosition) throws(RuleError) -> RuleExpression {
            guard let number = RuleDecimal(parsing: Substring(digits)) else {
                throw RuleError(.invalidLiteral, "'\(digits)' is not a number (at most \(RuleDecimal.fractionDigits) decimals, below 9,223,372,036,854)", at: position)
            }
            guard case .identifier(let code) = current.kind, code.count == 3, code.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) }) else {
                return RuleExpression(.literal(.number(number)), at: position)
            }
            let codePosition = advance().position
            guard let currency = Currency(code: code) else {
                throw RuleError(.invalidLiteral, "'\(code)' is not an ISO 4217 currency", at: codePosition)
            }
            guard let minorUnits = RuleMoney.minorUnits(number, currency) else {
                throw RuleError(.invalidLiteral, "\(currency.code) has \(currency.minorUnitDigits) decimal places; '\(digits)' has more", at: position)
            }
            return RuleExpression(.literal(.money(minorUnits: minorUnits, currency: currency)), at: position)
        }
    }
}

/// Money and the rule language's numbers: a literal's amount in minor units, and back for printing.
enum RuleMoney {
    static func minorUnits(_ number: RuleDecimal, _ currency: Currency) -> Int64? {
        var divisor: Int64 = 1
        for _ in 0..<(RuleDecimal.fractionDigits - currency.minorUnitDigits) { divisor *= 10 }
        guard number.scaled % divisor == 0 else { return nil }
        return number.scaled / divisor
    }

    /// `50.00 EUR`, `1000 JPY`: always the currency's own number of decimals.
    static func text(_ minorUnits: Int64, _ currency: Currency) -> String {
        let digits = currency.minorUnitDigits
        var text = String(minorUnits.magnitude)
        if digits > 0 {
            if text.count <= digits { text = String(repeating: "0", count: digits - text.count + 1) + text }
            text.insert(".", at: text.index(text.endIndex, offsetBy: -digits))
        }
        return (minorUnits < 0 ? "-" : "") + text + " " + currency.code
    }
}

extension RuleToken.Kind {
    var text: String {
        switch self {
        case .identifier(let name): "'\(name)'"
        case .number(let digits): "'\(digits)'"
        case .string: "a string"
        case .symbol(let symbol): "'\(symbol)'"
        case .end: "the end of the rule"
        }
    }
}
