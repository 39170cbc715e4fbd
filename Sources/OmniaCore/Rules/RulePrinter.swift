/// Prints a rule in its canonical text: single spaces, the fewest parentheses that keep its meaning,
/// money with its currency's decimals. Parsing the text gives back an equal expression.
extension RuleExpression: CustomStringConvertible {
    public var description: String { RulePrinter.text(self) }
}

enum RulePrinter {
    static func text(_ expression: RuleExpression) -> String {
        switch expression.kind {
        case .literal(let literal): text(literal)
        case .field(let path): path.joined(separator: ".")
        case .element(let path): "." + path.joined(separator: ".")
        case .list(let items): "[" + items.map(text).joined(separator: ", ") + "]"
        case .call(let name, let arguments): name + "(" + arguments.map(text).joined(separator: ", ") + ")"
        case .not(let operand): "not " + text(operand, parenthesizedBelow: 3)
        case .negate(let operand): "-" + text(operand, parenthesizedBelow: 7)
        case .binary(let operation, let left, let right):
            // Left-associative: a right operand of the same strength keeps its parentheses; comparisons do not chain.
            text(left, parenthesizedBelow: operation.isComparison ? 5 : operation.precedence) + " " + operation.rawValue + " "
                + text(right, parenthesizedBelow: operation.precedence + 1)
        }
    }

    static func text(_ literal: RuleLiteral) -> String {
        switch literal {
        case .bool(let value): value ? "true" : "false"
        case .null: "null"
        case .number(let number): number.description
        case .money(let minorUnits, let currency): RuleMoney.text(minorUnits, currency)
        case .string(let value):
            "\"" + value.unicodeScalars.map { scalar in
                switch scalar {
                case "\"": "\\\""
                case "\\": "\\\\"
                case "\n": "\\n"
                case "\t": "\\t"
                default: String(scalar)
                }
            }.joined() + "\""
        }
    }

    private static func text(_ expression: RuleExpression, parenthesizedBelow strength: Int) -> String {
        precedence(expression) < strength ? "(" + text(expression) + ")" : text(expression)
    }

    /// How tightly a node binds: or 1, and 2, not 3, comparisons 4, + - 5, * / 6, negation 7, the rest 8.
    private static func precedence(_ expression: RuleExpression) -> Int {
        switch expression.kind {
        case .binary(let operation, _, _): operation.precedence
        case .not: 3
        case .negate: 7
        default: 8
        }
    }
}
