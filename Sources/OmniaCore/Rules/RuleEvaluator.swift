/// Walks a compiled rule over one input. Every node visited and every element a collection operator
/// looks at spends a step; a rule that runs out of steps fails with `budgetExceeded` instead of
/// holding the engine. Null spreads through arithmetic and functions and makes comparisons false
/// (except `== null`); `and`, `or` and `not` read null as false.
struct RuleEvaluator {
    typealias Node = RuleProgram.Node
    let root: RuleValue
    var stepsLeft: Int
    private var elements: [RuleValue] = []

    init(root: RuleValue, stepsLeft: Int) {
        self.root = root
        self.stepsLeft = stepsLeft
    }

    private mutating func spend() throws(RuleEvaluationError) {
        stepsLeft -= 1
        guard stepsLeft >= 0 else { throw .budgetExceeded }
    }

    mutating func evaluate(_ node: Node) throws(RuleEvaluationError) -> RuleValue {
        try spend()
        switch node {
        case .constant(let value): return value
        case .field(let path): return Self.follow(path, from: root)
        case .element(let path): return Self.follow(path, from: elements.last ?? .null)
        case .list(let items):
            var values: [RuleValue] = []
            values.reserveCapacity(items.count)
            for item in items { values.append(try evaluate(item)) }
            return .list(values)
        case .not(let operand): return .bool(!(try truth(operand)))
        // Short-circuit: the right side is not evaluated (nor its steps spent) when the left decides.
        case .and(let left, let right):
            guard try truth(left) else { return .bool(false) }
            return .bool(try truth(right))
        case .or(let left, let right):
            if try truth(left) { return .bool(true) }
            return .bool(try truth(right))
        case .negate(let operand):
            switch try evaluate(operand) {
            case .number(let number): return .number(try RuleDecimal(scaled: 0).subtracting(number))
            case .money(let minorUnits, let currency):
                guard minorUnits != .min else { throw .overflow }
                return .money(minorUnits: -minorUnits, currency: currency)
            default: return .null
            }
        case .equal(let left, let right, let negated):
            let a = try evaluate(left), b = try evaluate(right)
            if case .money(_, let x) = a, case .money(_, let y) = b, x != y { throw .currencyMismatch(x.code, y.code) }
            return .bool((a == b) != negated)
        case .order(let operation, let left, let right):
            guard let order = try Self.compare(try evaluate(left), try evaluate(right)) else { return .bool(false) }
            switch operation {
            case .less: return .bool(order < 0)
            case .lessOrEqual: return .bool(order <= 0)
            case .greater: return .bool(order > 0)
            default: return .bool(order >= 0)
            }
        case .member(let value, let list, let negated):
            let needle = try evaluate(value)
            guard case .list(let values) = try evaluate(list) else { return .bool(negated) }
            stepsLeft -= values.count
            guard stepsLeft >= 0 else { throw .budgetExceeded }
            return .bool(needle != .null && values.contains(needle) != negated)
        case .text(let operation, let left, let right):
            guard case .string(let text) = try evaluate(left), case .string(let part) = try evaluate(right) else { return .bool(false) }
            switch operation {
            case .startsWith: return .bool(text.hasPrefix(part))
            case .endsWith: return .bool(text.hasSuffix(part))
            default: return .bool(part.isEmpty || text.contains(part))
            }
        case .arithmetic(let operation, let left, let right):
            return try Self.arithmetic(operation, try evaluate(left), try evaluate(right))
        case .collection(let function, let list, let each, let empty):
            return try collection(function, list, each, empty: empty)
        case .call(let function, let arguments):
            var values: [RuleValue] = []
            for argument in arguments { values.append(try evaluate(argument)) }
            return try Self.call(function, values)
        }
    }

    private mutating func truth(_ node: Node) throws(RuleEvaluationError) -> Bool { try evaluate(node) == .bool(true) }

    private static func follow(_ path: [Int], from start: RuleValue) -> RuleValue {
        var value = start
        for index in path {
            guard case .record(let fields) = value, index < fields.count else { return .null }
            value = fields[index]
        }
        return value
    }

    /// -1, 0 or 1 for two values of one ordered type; nil when either is null or they cannot be ordered.
    private static func compare(_ a: RuleValue, _ b: RuleValue) throws(RuleEvaluationError) -> Int? {
        func sign<T: Comparable>(_ x: T, _ y: T) -> Int { x < y ? -1 : x == y ? 0 : 1 }
        switch (a, b) {
        case (.number(let x), .number(let y)): return sign(x, y)
        case (.string(let x), .string(let y)): return sign(x, y)
        case (.date(let x), .date(let y)): return sign(x, y)
        case (.time(let x), .time(let y)): return sign(x, y)
        case (.money(let x, let c), .money(let y, let d)):
            guard c == d else { throw .currencyMismatch(c.code, d.code) }
            return sign(x, y)
        default: return nil
        }
    }

    private static func arithmetic(_ operation: RuleOperator, _ a: RuleValue, _ b: RuleValue) throws(RuleEvaluationError) -> RuleValue {
        func checked(_ result: (partialValue: Int64, overflow: Bool)) throws(RuleEvaluationError) -> Int64 {
            guard !result.overflow else { throw .overflow }
            return result.partialValue
        }
        switch (operation, a, b) {
        case (.plus, .number(let x), .number(let y)): return .number(try x.adding(y))
        case (.minus, .number(let x), .number(let y)): return .number(try x.subtracting(y))
        case (.times, .number(let x), .number(let y)): return .number(try x.multiplied(by: y))
        case (.dividedBy, .number(let x), .number(let y)): return .number(try x.divided(by: y))
        case (.plus, .money(let x, let c), .money(let y, let d)), (.minus, .money(let x, let c), .money(let y, let d)):
            guard c == d else { throw .currencyMismatch(c.code, d.code) }
            return .money(minorUnits: try checked(operation == .plus ? x.addingReportingOverflow(y) : x.subtractingReportingOverflow(y)), currency: c)
        case (.times, .money(let x, let c), .number(let y)), (.times, .number(let y), .money(let x, let c)):
            return .money(minorUnits: try y.multiplying(minorUnits: x), currency: c)
        case (.dividedBy, .money(let x, let c), .number(let y)):
            return .money(minorUnits: try y.dividing(minorUnits: x), currency: c)
        case (.plus, .date(let day), .number(let days)), (.minus, .date(let day), .number(let days)):
            let whole = days.scaled / RuleDecimal.scale
            let moved = operation == .plus ? Int64(day) + whole : Int64(day) - whole
            guard let result = Int32(exactly: moved) else { throw .overflow }
            return .date(result)
        case (.minus, .date(let x), .date(let y)):
            return .number(RuleDecimal(Int64(x) - Int64(y))!)
        default:
            return .null
        }
    }

    /// `empty` is the answer for a missing or empty list: false for any, true for all, 0 for count
    /// and a sum of numbers, null for a sum of money (no currency) and for min and max.
    private mutating func collection(_ function: RuleFunction, _ listNode: Node, _ each: Node?, empty: RuleValue) throws(RuleEvaluationError) -> RuleValue {
        guard case .list(let values) = try evaluate(listNode), !values.isEmpty else { return empty }
        guard let each else { return .number(RuleDecimal(Int64(values.count))!) }
        var count: Int64 = 0
        var total: RuleValue?
        for value in values {
            try spend()
            elements.append(value)
            let result = try evaluate(each)
            elements.removeLast()
            switch function {
            case .any: if result == .bool(true) { return .bool(true) }
            case .all: if result != .bool(true) { return .bool(false) }
            case .count: if result == .bool(true) { count += 1 }
            case .sum:
                guard result != .null else { continue }
                total = try total.map { running throws(RuleEvaluationError) in try Self.arithmetic(.plus, running, result) } ?? result
            default:
                guard result != .null else { continue }
                if let current = total, let order = try Self.compare(result, current) {
                    if (function == .min && order < 0) || (function == .max && order > 0) { total = result }
                } else if total == nil {
                    total = result
                }
            }
        }
        switch function {
        case .any: return .bool(false)
        case .all: return .bool(true)
        case .count: return .number(RuleDecimal(count)!)
        default: return total ?? empty
        }
    }

    private static func call(_ function: RuleFunction, _ values: [RuleValue]) throws(RuleEvaluationError) -> RuleValue {
        switch (function, values.first) {
        case (.lower, .string(let text)): return .string(text.lowercased())
        case (.upper, .string(let text)): return .string(text.uppercased())
        case (.abs, .number(let number)): return number.scaled < 0 ? .number(try RuleDecimal(scaled: 0).subtracting(number)) : .number(number)
        case (.abs, .money(let minorUnits, let currency)):
            guard minorUnits != .min else { throw .overflow }
            return .money(minorUnits: Swift.abs(minorUnits), currency: currency)
        case (.daysBetween, .date(let from)):
            guard case .date(let to) = values[1] else { return .null }
            return .number(RuleDecimal(Int64(to) - Int64(from))!)
        default: return .null
        }
    }
}
