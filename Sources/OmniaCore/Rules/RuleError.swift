/// A rule that cannot be accepted: where (1-based line and column of the source) and why.
public struct RuleError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case syntaxError = "syntax_error"
        case unknownField = "unknown_field"
        case unknownFunction = "unknown_function"
        case typeMismatch = "type_mismatch"
        case wrongArguments = "wrong_arguments"
        case invalidLiteral = "invalid_literal"
        case tooComplex = "too_complex"
    }

    public let code: Code
    public let message: String
    public let line: Int
    public let column: Int

    public init(_ code: Code, _ message: String, at position: RulePosition) {
        self.code = code
        self.message = message
        self.line = position.line
        self.column = position.column
    }

    public var description: String { "\(line):\(column): \(message)" }
}

/// Why a checked rule could not be evaluated on a given input; the rule then does not apply, and
/// the caller reports this as its reason.
public enum RuleEvaluationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The rule took more steps than its budget allows on this input.
    case budgetExceeded
    case currencyMismatch(String, String)
    case divisionByZero
    case overflow

    public var code: String {
        switch self {
        case .budgetExceeded: "step_budget_exceeded"
        case .currencyMismatch: "currency_mismatch"
        case .divisionByZero: "division_by_zero"
        case .overflow: "overflow"
        }
    }

    public var description: String {
        switch self {
        case .budgetExceeded: "the rule needed more evaluation steps than its budget"
        case .currencyMismatch(let a, let b): "amounts in \(a) and \(b) cannot be combined"
        case .divisionByZero: "division by zero"
        case .overflow: "a number left the representable range"
        }
    }
}

/// A place in a rule's source, 1-based.
public struct RulePosition: Sendable, Hashable, CustomStringConvertible {
    public let line: Int
    public let column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    /// Where a node built from the JSON form, which has no source, is reported.
    public static let none = RulePosition(line: 0, column: 0)

    public var description: String { "\(line):\(column)" }
}
