/// Splits a rule's source into tokens, each with where it starts.
struct RuleToken: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case identifier(String)
        case number(String)
        case string(String)
        case symbol(String)
        case end
    }

    let kind: Kind
    let position: RulePosition
}

enum RuleLexer {
    static let symbols = ["==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "(", ")", "[", "]", ",", "."]

    static func tokens(_ source: String) throws(RuleError) -> [RuleToken] {
        guard source.utf8.count <= RuleLimits.maximumSourceLength else {
            throw RuleError(.tooComplex, "a rule is at most \(RuleLimits.maximumSourceLength) bytes", at: RulePosition(line: 1, column: 1))
        }
        let characters = Array(source.unicodeScalars)
        var tokens: [RuleToken] = []
        var index = 0, line = 1, lineStart = 0
        func position(_ at: Int) -> RulePosition { RulePosition(line: line, column: at - lineStart + 1) }
        while index < characters.count {
            let character = characters[index]
            let start = index
            switch character {
            case "\n":
                index += 1
                line += 1
                lineStart = index
            case " ", "\t", "\r":
                index += 1
            case "a"..."z", "A"..."Z", "_":
                while index < characters.count, isIdentifierPart(characters[index]) { index += 1 }
                tokens.append(RuleToken(kind: .identifier(String(String.UnicodeScalarView(characters[start..<index]))), position: position(start)))
            case "0"..."9":
                while index < characters.count, ("0"..."9").contains(characters[index]) || characters[index] == "." && index + 1 < characters.count
                    && ("0"..."9").contains(characters[index + 1]) && !characters[start..<index].contains(".")
                {
                    index += 1
                }
                tokens.append(RuleToken(kind: .number(String(String.UnicodeScalarView(characters[start..<index]))), position: position(start)))
            case "\"":
                index += 1
                var text = String.UnicodeScalarView()
                while true {
                    guard index < characters.count, characters[index] != "\n" else {
                        throw RuleError(.syntaxError, "this string is not closed with \"", at: position(start))
                    }
                    let scalar = characters[index]
                    index += 1
                    if scalar == "\"" { break }
                    if scalar == "\\" {
                        guard index < characters.count else { throw RuleError(.syntaxError, "this string is not closed with \"", at: position(start)) }
                        switch characters[index] {
                        case "\"": text.append("\"")
                        case "\\": text.append("\\")
                        case "n": text.append("\n")
                        case "t": text.append("\t")
                        default: throw RuleError(.syntaxError, "unknown escape \\\(characters[index]) (use \\\", \\\\, \\n or \\t)", at: position(index - 1))
                        }
                        index += 1
                    } else {
                        text.append(scalar)
                    }
                }
                tokens.append(RuleToken(kind: .string(String(text)), position: position(start)))
            default:
                guard let symbol = symbols.first(where: { matches($0, characters, at: index) }) else {
                    throw RuleError(.syntaxError, "unexpected character '\(character)'", at: position(start))
                }
                index += symbol.unicodeScalars.count
                tokens.append(RuleToken(kind: .symbol(symbol), position: position(start)))
            }
        }
        tokens.append(RuleToken(kind: .end, position: position(index)))
        return tokens
    }

    static func isIdentifierPart(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "_"
    }

    private static func matches(_ symbol: String, _ characters: [Unicode.Scalar], at index: Int) -> Bool {
        let scalars = Array(symbol.unicodeScalars)
        guard index + scalars.count <= characters.count else { return false }
        return characters[index..<index + scalars.count].elementsEqual(scalars)
    }
}
