/// A rule checked against a schema and compiled: fields resolved to positions, literals to values,
/// functions to their implementation. It evaluates without I/O, in a bounded number of steps.
public struct RuleProgram: Sendable {
    public let expression: RuleExpression
    /// The canonical text (`RuleExpression.description`), computed once.
    public let text: String
    public let type: RuleType
    let root: Node

    /// Checks `source` against `schema` and compiles it; the rule's result must be of `type`.
    public init(_ source: String, schema: RuleRecordType, type: RuleType = .bool) throws(RuleError) {
        try self.init(RuleParser.parse(source), schema: schema, type: type)
    }

    public init(_ expression: RuleExpression, schema: RuleRecordType, type expected: RuleType = .bool) throws(RuleError) {
        var checker = RuleChecker(schema: schema)
        let (type, node) = try checker.check(expression)
        guard type.fits(expected) else {
            throw RuleError(.typeMismatch, "a rule here must give a \(expected); this one gives a \(type)", at: expression.position)
        }
        self.expression = expression
        self.text = expression.description
        self.type = type
        self.root = node
    }

    /// The rule's result for `input` (a record of the schema's shape); null and anything but true is false.
    public func isSatisfied(by input: RuleValue, stepBudget: Int = RuleLimits.defaultStepBudget) throws(RuleEvaluationError) -> Bool {
        try value(for: input, stepBudget: stepBudget) == .bool(true)
    }

    public func value(for input: RuleValue, stepBudget: Int = RuleLimits.defaultStepBudget) throws(RuleEvaluationError) -> RuleValue {
        var evaluator = RuleEvaluator(root: input, stepsLeft: stepBudget)
        return try evaluator.evaluate(root)
    }

    /// The compiled tree the evaluator walks.
    indirect enum Node: Sendable {
        case constant(RuleValue)
        case field([Int])
        case element([Int])
        case list([Node])
        case not(Node)
        case negate(Node)
        case and(Node, Node)
        case or(Node, Node)
        case equal(Node, Node, negated: Bool)
        case order(RuleOperator, Node, Node)
        case member(Node, of: Node, negated: Bool)
        case text(RuleOperator, Node, Node)
        case arithmetic(RuleOperator, Node, Node)
        /// `empty`: the result for a missing or empty list.
        case collection(RuleFunction, Node, each: Node?, empty: RuleValue)
        case call(RuleFunction, [Node])
    }
}
