/// The JSON form of a rule, for rule editors: one object per node.
///
///     {"op": "and", "args": [
///       {"op": ">=", "args": [{"field": "cart.subtotal"}, {"money": "50.00 EUR"}]},
///       {"call": "any", "args": [{"field": "cart.lines"},
///                                {"op": "startsWith", "args": [{"element": "category"}, {"string": "women/"}]}]}]}
///
/// Literals: `{"bool": true}`, `{"number": "2.5"}` (text, so no digit is lost), `{"string": "…"}`,
/// `{"money": "50.00 EUR"}`, `{"null": true}`. Paths: `{"field": "cart.subtotal"}`, `{"element":
/// "category"}` (`""` is the element itself). `{"list": […]}`, `{"not": …}`, `{"negate": …}`,
/// `{"op": OPERATOR, "args": [left, right]}` (`and` and `or` take two or more), `{"call": NAME,
/// "args": […]}`. A rule's JSON form and its text describe the same expression.
public enum RuleJSON {
    public static func json(_ expression: RuleExpression) -> JSONValue {
        switch expression.kind {
        case .literal(.bool(let value)): return .object(["bool": .bool(value)])
        case .literal(.number(let number)): return .object(["number": .string(number.description)])
        case .literal(.string(let text)): return .object(["string": .string(text)])
        case .literal(.money(let minorUnits, let currency)): return .object(["money": .string(RuleMoney.text(minorUnits, currency))])
        case .literal(.null): return .object(["null": .bool(true)])
        case .field(let path): return .object(["field": .string(path.joined(separator: "."))])
        case .element(let path): return .object(["element": .string(path.joined(separator: "."))])
        case .list(let items): return .object(["list": .array(items.map(json))])
        case .not(let operand): return .object(["not": json(operand)])
        case .negate(let operand): return .object(["negate": json(operand)])
        case .call(let name, let arguments): return .object(["call": .string(name), "args": .array(arguments.map(json))])
        case .binary(let operation, let left, let right):
            // A left-leaning chain of and/or becomes one list of arguments.
            var arguments = [json(right)]
            var rest = left
            while operation == .and || operation == .or, case .binary(operation, let nextLeft, let nextRight) = rest.kind {
                arguments.append(json(nextRight))
                rest = nextLeft
            }
            arguments.append(json(rest))
            return .object(["op": .string(operation.rawValue), "args": .array(arguments.reversed())])
        }
    }

    public static func expression(_ json: JSONValue) throws(RuleError) -> RuleExpression {
        var nodes = 0
        let expression = try decode(json, at: "$", depth: 0, nodes: &nodes)
        return expression
    }

    private static func error(_ path: String, _ message: String, _ code: RuleError.Code = .syntaxError) -> RuleError {
        RuleError(code, "\(path): \(message)", at: .none)
    }

    private static func decode(_ json: JSONValue, at path: String, depth: Int, nodes: inout Int) throws(RuleError) -> RuleExpression {
        nodes += 1
        guard depth <= RuleLimits.maximumDepth, nodes <= RuleLimits.maximumNodes else {
            throw error(path, "a rule nests at most \(RuleLimits.maximumDepth) levels and has at most \(RuleLimits.maximumNodes) parts", .tooComplex)
        }
        guard case .object(let members) = json, let key = ["bool", "number", "string", "money", "null", "field", "element", "list", "not", "negate", "op", "call"]
            .first(where: { members[$0] != nil })
        else { throw error(path, "expected an object with one of bool, number, string, money, null, field, element, list, not, negate, op, call") }
        let allowed: Set<String> = key == "op" || key == "call" ? [key, "args"] : [key]
        if let extra = members.keys.sorted().first(where: { !allowed.contains($0) }) { throw error(path, "unexpected member '\(extra)' beside '\(key)'") }
        let value = members[key]!
        func text() throws(RuleError) -> String {
            guard case .string(let text) = value else { throw error("\(path).\(key)", "expected a string") }
            return text
        }
        func names(_ text: String, allowEmpty: Bool) throws(RuleError) -> [String] {
            if text.isEmpty && allowEmpty { return [] }
            let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard parts.allSatisfy(RuleParser.isName) else { throw error("\(path).\(key)", "'\(text)' is not a path of field names") }
            return parts
        }
        func arguments() throws(RuleError) -> [RuleExpression] {
            guard case .array(let items) = members["args"] ?? .null else { throw error("\(path).args", "expected an array") }
            var expressions: [RuleExpression] = []
            for (index, item) in items.enumerated() { expressions.append(try decode(item, at: "\(path).args[\(index)]", depth: depth + 1, nodes: &nodes)) }
            return expressions
        }
        switch key {
        case "bool":
            guard case .bool(let flag) = value else { throw error("\(path).bool", "expected true or false") }
            return RuleExpression(.literal(.bool(flag)))
        case "null":
            return RuleExpression(.literal(.null))
        case "string":
            return RuleExpression(.literal(.string(try text())))
        case "number", "money":
            let literal = try text()
            let negative = literal.hasPrefix("-")
            let parsed: RuleExpression
            do {
                parsed = try RuleParser.parse(negative ? String(literal.dropFirst()) : literal)
            } catch {
                throw Self.error("\(path).\(key)", "'\(literal)' is not a \(key == "number" ? "number" : "money amount such as \"50.00 EUR\""): \(error.message)", .invalidLiteral)
            }
            switch (key, parsed.kind) {
            case ("number", .literal(.number)), ("money", .literal(.money)):
                return negative ? RuleExpression(.negate(RuleExpression(parsed.kind))) : RuleExpression(parsed.kind)
            default:
                throw error("\(path).\(key)", "'\(literal)' is not a \(key == "number" ? "number" : "money amount such as \"50.00 EUR\"")", .invalidLiteral)
            }
        case "field":
            return RuleExpression(.field(try names(try text(), allowEmpty: false)))
        case "element":
            return RuleExpression(.element(try names(try text(), allowEmpty: true)))
        case "list":
            guard case .array(let items) = value else { throw error("\(path).list", "expected an array") }
            var expressions: [RuleExpression] = []
            for (index, item) in items.enumerated() { expressions.append(try decode(item, at: "\(path).list[\(index)]", depth: depth + 1, nodes: &nodes)) }
            return RuleExpression(.list(expressions))
        case "not":
            return RuleExpression(.not(try decode(value, at: "\(path).not", depth: depth + 1, nodes: &nodes)))
        case "negate":
            return RuleExpression(.negate(try decode(value, at: "\(path).negate", depth: depth + 1, nodes: &nodes)))
        case "call":
            let name = try text()
            guard RuleParser.isName(name) else { throw error("\(path).call", "'\(name)' is not a function name") }
            return RuleExpression(.call(name, try arguments()))
        default:
            guard let operation = RuleOperator(rawValue: try text()) else {
                throw error("\(path).op", "unknown operator; one of \(RuleOperator.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let items = try arguments()
            let chains = operation == .and || operation == .or
            guard items.count == 2 || (chains && items.count > 2) else {
                throw error("\(path).args", "'\(operation.rawValue)' takes \(chains ? "two or more" : "two") arguments")
            }
            return items.dropFirst(2).reduce(RuleExpression(.binary(operation, items[0], items[1]))) { RuleExpression(.binary(operation, $0, $1)) }
        }
    }
}
