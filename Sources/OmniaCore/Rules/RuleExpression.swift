/// A parsed rule: an expression tree. Two expressions are equal when their shapes and literals are,
/// wherever they were written (positions are kept for errors only), so a rule printed and parsed
/// again, or sent through its JSON form, compares equal to itself.
public struct RuleExpression: Sendable, Hashable {
    public indirect enum Kind: Sendable, Hashable {
        case literal(RuleLiteral)
        /// A path from the rule's root: `cart.subtotal`.
        case field([String])
        /// A path from the element of the enclosing collection operator: `.category`.
        case element([String])
        case list([RuleExpression])
        case not(RuleExpression)
        case negate(RuleExpression)
        case binary(RuleOperator, RuleExpression, RuleExpression)
        case call(String, [RuleExpression])
    }

    public let kind: Kind
    public let position: RulePosition

    public init(_ kind: Kind, at position: RulePosition = .none) {
        self.kind = kind
        self.position = position
    }

    public static func == (lhs: RuleExpression, rhs: RuleExpression) -> Bool { lhs.kind == rhs.kind }
    public func hash(into hasher: inout Hasher) { hasher.combine(kind) }

    /// The paths from the rule's root that the rule reads (`["customer", "orders"]`), each once, in
    /// the order first read; an element path (`.kind`) is read through the collection's own path.
    public var fieldPaths: [[String]] {
        var paths: [[String]] = []
        func visit(_ expression: RuleExpression) {
            switch expression.kind {
            case .field(let path): if !paths.contains(path) { paths.append(path) }
            case .literal, .element: break
            case .list(let items): items.forEach(visit)
            case .not(let operand), .negate(let operand): visit(operand)
            case .binary(_, let left, let right): visit(left); visit(right)
            case .call(_, let arguments): arguments.forEach(visit)
            }
        }
        visit(self)
        return paths
    }

    /// Nodes in the tree: what `RuleLimits.maximumNodes` counts.
    public var nodeCount: Int {
        switch kind {
        case .literal, .field, .element: 1
        case .list(let items): 1 + items.reduce(0) { $0 + $1.nodeCount }
        case .not(let operand), .negate(let operand): 1 + operand.nodeCount
        case .binary(_, let left, let right): 1 + left.nodeCount + right.nodeCount
        case .call(_, let arguments): 1 + arguments.reduce(0) { $0 + $1.nodeCount }
        }
    }
}

public enum RuleLiteral: Sendable, Hashable {
    case bool(Bool)
    case number(RuleDecimal)
    case string(String)
    case money(minorUnits: Int64, currency: Currency)
    case null
}

/// Binary operators, from the loosest binding to the tightest.
public enum RuleOperator: String, Sendable, Hashable, CaseIterable {
    case or, and
    case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    case `in`, notIn = "not in", startsWith, endsWith, contains
    case plus = "+", minus = "-"
    case times = "*", dividedBy = "/"

    /// Binding strength: or 1, and 2, comparisons 4 (`not` is 3), + - 5, * / 6.
    var precedence: Int {
        switch self {
        case .or: 1
        case .and: 2
        case .equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual, .in, .notIn, .startsWith, .endsWith, .contains: 4
        case .plus, .minus: 5
        case .times, .dividedBy: 6
        }
    }

    var isComparison: Bool { precedence == 4 }
}

/// Bounds every rule is held to, so no rule can make the engine slow: its size when accepted and
/// the steps it may take on one input.
public enum RuleLimits {
    public static let maximumSourceLength = 10_000
    public static let maximumNodes = 500
    public static let maximumDepth = 48
    /// Steps of one evaluation: a node visited is one, each element a collection operator looks at another.
    public static let defaultStepBudget = 100_000
}
