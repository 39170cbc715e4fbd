/// Type-checks a parsed rule against a schema and compiles it into a `RuleProgram.Node` tree.
struct RuleChecker {
    typealias Node = RuleProgram.Node
    let schema: RuleRecordType
    /// The element types of the collection operators around the expression being checked, innermost last.
    private var elements: [RuleType] = []

    init(schema: RuleRecordType) { self.schema = schema }

    mutating func check(_ expression: RuleExpression) throws(RuleError) -> (RuleType, Node) {
        let at = expression.position
        switch expression.kind {
        case .literal(let literal):
            return Self.constant(literal)
        case .field(let path):
            return try resolve(path, in: .record(schema), from: path.joined(separator: "."), at: at, element: false)
        case .element(let path):
            guard let element = elements.last else {
                throw RuleError(.typeMismatch, "'.\(path.joined(separator: "."))' names a field of the element of any, all, count, sum, min or max, and is used outside them", at: at)
            }
            return try resolve(path, in: element, from: "." + path.joined(separator: "."), at: at, element: true)
        case .list(let items):
            var elementType = RuleType.unknown
            var nodes: [Node] = []
            for item in items {
                let (type, node) = try check(item)
                guard type.fits(elementType) else {
                    throw RuleError(.typeMismatch, "a list holds values of one type: this is a \(type) among \(elementType) values", at: item.position)
                }
                elementType = elementType.unified(with: type)
                nodes.append(node)
            }
            return (.list(elementType), .list(nodes))
        case .not(let operand):
            return (.bool, .not(try expect(operand, .bool, "'not' needs a condition")))
        case .negate(let operand):
            let (type, node) = try check(operand)
            guard [.number, .money, .unknown].contains(type) else { throw RuleError(.typeMismatch, "'-' needs a number or money, not a \(type)", at: at) }
            return (type, .negate(node))
        case .binary(let operation, let left, let right):
            return try binary(operation, left, right, at: at)
        case .call(let name, let arguments):
            return try call(name, arguments, at: at)
        }
    }

    private static func constant(_ literal: RuleLiteral) -> (RuleType, Node) {
        switch literal {
        case .bool(let value): (.bool, .constant(.bool(value)))
        case .number(let value): (.number, .constant(.number(value)))
        case .string(let value): (.string, .constant(.string(value)))
        case .money(let minorUnits, let currency): (.money, .constant(.money(minorUnits: minorUnits, currency: currency)))
        case .null: (.unknown, .constant(.null))
        }
    }

    private func resolve(_ path: [String], in start: RuleType, from text: String, at: RulePosition, element: Bool) throws(RuleError) -> (RuleType, Node) {
        var type = start
        var indices: [Int] = []
        for name in path {
            guard case .record(let record) = type else {
                let hint = if case .list = type { ": it is a list; look inside it with any, all, count, sum, min or max" } else { "" }
                throw RuleError(.unknownField, "'\(text)' goes past a \(type), which has no field '\(name)'\(hint)", at: at)
            }
            guard let index = record.index(of: name) else {
                let known = record.fields.map(\.name).joined(separator: ", ")
                throw RuleError(.unknownField, "\(record.name) has no field '\(name)' (it has \(known))", at: at)
            }
            indices.append(index)
            type = record.fields[index].type
        }
        return (type, element ? .element(indices) : .field(indices))
    }

    private mutating func expect(_ expression: RuleExpression, _ type: RuleType, _ message: String) throws(RuleError) -> Node {
        let (found, node) = try check(expression)
        guard found.fits(type) else { throw RuleError(.typeMismatch, "\(message), not a \(found)", at: expression.position) }
        return node
    }

    private mutating func binary(_ operation: RuleOperator, _ left: RuleExpression, _ right: RuleExpression, at: RulePosition) throws(RuleError) -> (RuleType, Node) {
        switch operation {
        case .and, .or:
            let a = try expect(left, .bool, "'\(operation.rawValue)' joins conditions"), b = try expect(right, .bool, "'\(operation.rawValue)' joins conditions")
            return (.bool, operation == .and ? .and(a, b) : .or(a, b))
        default: break
        }
        let (leftType, a) = try check(left)
        let (rightType, b) = try check(right)
        func mismatch(_ detail: String) -> RuleError {
            RuleError(.typeMismatch, "'\(operation.rawValue)' \(detail); here a \(leftType) and a \(rightType)", at: at)
        }
        switch operation {
        case .equal, .notEqual:
            guard leftType.fits(rightType) else {
                throw mismatch(leftType == .money || rightType == .money ? "compares values of one type (write money with its currency: 50.00 EUR)" : "compares values of one type")
            }
            return (.bool, .equal(a, b, negated: operation == .notEqual))
        case .less, .lessOrEqual, .greater, .greaterOrEqual:
            guard leftType.fits(rightType), leftType.isOrdered || rightType.isOrdered || (leftType == .unknown && rightType == .unknown) else {
                throw mismatch(leftType == .money || rightType == .money ? "orders values of one type (write money with its currency: 50.00 EUR)" : "orders two numbers, amounts, texts, dates or times")
            }
            return (.bool, .order(operation, a, b))
        case .in, .notIn:
            let element: RuleType
            switch rightType {
            case .list(let type): element = type
            case .unknown: element = .unknown
            default: throw mismatch("looks for a value in a list of its type")
            }
            guard leftType.fits(element) else { throw mismatch("looks for a value in a list of its type") }
            return (.bool, .member(a, of: b, negated: operation == .notIn))
        case .startsWith, .endsWith:
            guard leftType.fits(.string), rightType.fits(.string) else { throw mismatch("compares two texts") }
            return (.bool, .text(operation, a, b))
        case .contains:
            if leftType.fits(.string), rightType.fits(.string), leftType != .unknown || rightType == .string {
                return (.bool, .text(.contains, a, b))
            }
            guard case .list(let element) = leftType, rightType.fits(element) else { throw mismatch("looks for a text in a text or a value in a list") }
            return (.bool, .member(b, of: a, negated: false))
        case .plus, .minus, .times, .dividedBy:
            return (try Self.arithmeticType(operation, leftType, rightType, mismatch: mismatch), .arithmetic(operation, a, b))
        case .and, .or:
            preconditionFailure("handled above")
        }
    }

    /// number ± × ÷ number, money ± money, money × ÷ number, number × money, date ± number (days), date − date (days).
    private static func arithmeticType(_ operation: RuleOperator, _ left: RuleType, _ right: RuleType,
                                       mismatch: (String) -> RuleError) throws(RuleError) -> RuleType {
        switch (operation, left, right) {
        case (_, .number, .number): return .number
        case (.plus, .money, .money), (.minus, .money, .money): return .money
        case (.times, .money, .number), (.times, .number, .money), (.dividedBy, .money, .number): return .money
        case (.plus, .date, .number), (.minus, .date, .number): return .date
        case (.minus, .date, .date): return .number
        case (_, .unknown, let other), (_, let other, .unknown): return other == .unknown ? .unknown : other
        default:
            throw mismatch("works on numbers, money (+ and − with money, × and ÷ by a number), or dates (± days, a date − a date)")
        }
    }

    private mutating func call(_ name: String, _ arguments: [RuleExpression], at: RulePosition) throws(RuleError) -> (RuleType, Node) {
        guard let function = RuleFunction(rawValue: name) else {
            let known = RuleFunction.allCases.map(\.rawValue).joined(separator: ", ")
            throw RuleError(.unknownFunction, "there is no function '\(name)' (there are \(known))", at: at)
        }
        func wrong() -> RuleError { RuleError(.wrongArguments, "\(name) is called as \(function.signature)", at: at) }
        if function.isCollection {
            guard arguments.count == 2 || (function == .count && arguments.count == 1) else { throw wrong() }
            let (listType, list) = try check(arguments[0])
            let element: RuleType
            switch listType {
            case .list(let type): element = type
            case .unknown: element = .unknown
            default: throw RuleError(.typeMismatch, "\(name) looks through a list, not a \(listType)", at: arguments[0].position)
            }
            let zero = RuleValue.number(RuleDecimal(scaled: 0))
            guard arguments.count == 2 else { return (.number, .collection(.count, list, each: nil, empty: zero)) }
            elements.append(element)
            let (eachType, each) = try check(arguments[1])
            elements.removeLast()
            switch function {
            case .any, .all, .count:
                guard eachType.fits(.bool) else {
                    throw RuleError(.typeMismatch, "\(name)'s second argument is a condition on each element, not a \(eachType)", at: arguments[1].position)
                }
                let empty: RuleValue = function == .count ? zero : .bool(function == .all)
                return (function == .count ? .number : .bool, .collection(function, list, each: each, empty: empty))
            default:
                let allowed: [RuleType] = function == .sum ? [.number, .money, .unknown] : [.number, .money, .string, .date, .time, .unknown]
                guard allowed.contains(eachType) else {
                    throw RuleError(.typeMismatch, "\(name) of a \(eachType) is not defined", at: arguments[1].position)
                }
                return (eachType, .collection(function, list, each: each, empty: function == .sum && eachType == .number ? zero : .null))
            }
        }
        switch function {
        case .date, .time:
            guard arguments.count == 1, case .literal(.string(let text)) = arguments[0].kind else { throw wrong() }
            if function == .date {
                guard let day = RuleCalendar.day(text) else { throw RuleError(.invalidLiteral, "'\(text)' is not a day written YYYY-MM-DD", at: arguments[0].position) }
                return (.date, .constant(.date(day)))
            }
            guard let minute = RuleCalendar.minute(text) else { throw RuleError(.invalidLiteral, "'\(text)' is not a time of day written HH:MM", at: arguments[0].position) }
            return (.time, .constant(.time(minute)))
        case .lower, .upper:
            guard arguments.count == 1 else { throw wrong() }
            return (.string, .call(function, [try expect(arguments[0], .string, "\(name) changes a text")]))
        case .daysBetween:
            guard arguments.count == 2 else { throw wrong() }
            let from = try expect(arguments[0], .date, "days_between counts from a date"), to = try expect(arguments[1], .date, "days_between counts to a date")
            return (.number, .call(function, [from, to]))
        case .abs:
            guard arguments.count == 1 else { throw wrong() }
            let (type, node) = try check(arguments[0])
            guard [.number, .money, .unknown].contains(type) else { throw RuleError(.typeMismatch, "abs needs a number or money, not a \(type)", at: arguments[0].position) }
            return (type, .call(function, [node]))
        default:
            preconditionFailure("collection functions are handled above")
        }
    }
}
