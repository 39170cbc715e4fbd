/// A strict JSON (RFC 8259) syntax check that reports where the text goes wrong, so a client
/// sees "line 3, column 14: expected ',' or '}'" instead of a generic parse failure. It also
/// bounds nesting depth, so a hostile body cannot exhaust the stack of a recursive decoder.
public enum JSONSyntax {
    public struct Failure: Error, Equatable, Sendable {
        public let line: Int
        public let column: Int
        /// Zero-based byte offset of the offending byte.
        public let offset: Int
        public let reason: String
    }

    public static let maximumDepth = 64

    /// Returns nil when `bytes` hold exactly one valid JSON value (with optional surrounding whitespace).
    public static func check(_ bytes: [UInt8]) -> Failure? {
        var scanner = Scanner(bytes: bytes)
        do throws(Failure) {
            scanner.skipWhitespace()
            try scanner.value(depth: 0)
            scanner.skipWhitespace()
            if scanner.index < bytes.count { throw scanner.failure("unexpected text after the JSON value") }
            return nil
        } catch {
            return error
        }
    }

    /// What a request body that must be one JSON object turned out to be.
    public enum ObjectCheck: Equatable, Sendable {
        /// A valid object, with its top-level keys in order (escapes decoded), for unknown-field checks.
        case object(keys: [String])
        /// Valid JSON, but not an object.
        case notObject
        case malformed(Failure)
    }

    /// Checks `bytes` like `check` and, when they hold an object, collects its top-level keys on the
    /// way — so a request body is scanned once here and decoded once, not parsed twice.
    public static func checkObject(_ bytes: [UInt8]) -> ObjectCheck {
        var scanner = Scanner(bytes: bytes)
        scanner.collectsTopLevelKeys = true
        do throws(Failure) {
            scanner.skipWhitespace()
            let isObject = scanner.current == UInt8(ascii: "{")
            try scanner.value(depth: 0)
            scanner.skipWhitespace()
            if scanner.index < bytes.count { throw scanner.failure("unexpected text after the JSON value") }
            return isObject ? .object(keys: scanner.topLevelKeys) : .notObject
        } catch {
            return .malformed(error)
        }
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0
        var collectsTopLevelKeys = false
        var topLevelKeys: [String] = []

        func failure(_ reason: String) -> Failure {
            var line = 1
            var column = 1
            for byte in bytes[0..<min(index, bytes.count)] {
                if byte == UInt8(ascii: "\n") {
                    line += 1
                    column = 1
                } else if byte & 0xC0 != 0x80 {
                    column += 1
                }
            }
            return Failure(line: line, column: column, offset: index, reason: reason)
        }

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipWhitespace() {
            while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
        }

        mutating func expect(_ byte: UInt8, _ reason: String) throws(Failure) {
            guard current == byte else { throw failure(reason) }
            index += 1
        }

        mutating func value(depth: Int) throws(Failure) {
            guard depth < JSONSyntax.maximumDepth else { throw failure("nesting deeper than \(JSONSyntax.maximumDepth) levels") }
            guard let byte = current else { throw failure("unexpected end of input, expected a value") }
            switch byte {
            case UInt8(ascii: "{"): try object(depth: depth)
            case UInt8(ascii: "["): try array(depth: depth)
            case UInt8(ascii: "\""): try string()
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            case UInt8(ascii: "n"): try literal("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
            default: throw failure("unexpected character, expected a value")
            }
        }

        mutating func literal(_ word: String) throws(Failure) {
            for expected in word.utf8 {
                guard current == expected else { throw failure("invalid literal, expected '\(word)'") }
                index += 1
            }
        }

        mutating func object(depth: Int) throws(Failure) {
            index += 1
            skipWhitespace()
            if current == UInt8(ascii: "}") {
                index += 1
                return
            }
            while true {
                skipWhitespace()
                guard current == UInt8(ascii: "\"") else { throw failure("expected a string key") }
                let keyStart = index + 1
                try string()
                if collectsTopLevelKeys && depth == 0 { topLevelKeys.append(Self.unescaped(bytes[keyStart..<index - 1])) }
                skipWhitespace()
                try expect(UInt8(ascii: ":"), "expected ':' after a key")
                skipWhitespace()
                try value(depth: depth + 1)
                skipWhitespace()
                if current == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                try expect(UInt8(ascii: "}"), "expected ',' or '}'")
                return
            }
        }

        mutating func array(depth: Int) throws(Failure) {
            index += 1
            skipWhitespace()
            if current == UInt8(ascii: "]") {
                index += 1
                return
            }
            while true {
                skipWhitespace()
                try value(depth: depth + 1)
                skipWhitespace()
                if current == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                try expect(UInt8(ascii: "]"), "expected ',' or ']'")
                return
            }
        }

        mutating func string() throws(Failure) {
            index += 1
            while let byte = current {
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    return
                case UInt8(ascii: "\\"):
                    index += 1
                    guard let escaped = current else { throw failure("unterminated escape") }
                    if escaped == UInt8(ascii: "u") {
                        for _ in 0..<4 {
                            index += 1
                            guard let hex = current, isHexDigit(hex) else { throw failure("invalid \\u escape") }
                        }
                    } else if !Array("\"\\/bfnrt".utf8).contains(escaped) {
                        throw failure("invalid escape character")
                    }
                    index += 1
                case 0..<0x20:
                    throw failure("control character in a string")
                default:
                    index += 1
                }
            }
            throw failure("unterminated string")
        }

        /// The text of a string already checked by `string()`, escapes decoded.
        static func unescaped(_ raw: ArraySlice<UInt8>) -> String {
            guard raw.contains(UInt8(ascii: "\\")) else { return String(decoding: raw, as: UTF8.self) }
            var scalars = String.UnicodeScalarView()
            var utf8: [UInt8] = []
            func flush() {
                scalars.append(contentsOf: String(decoding: utf8, as: UTF8.self).unicodeScalars)
                utf8.removeAll()
            }
            var index = raw.startIndex
            var pendingHighSurrogate: UInt32?
            while index < raw.endIndex {
                let byte = raw[index]
                guard byte == UInt8(ascii: "\\") else {
                    utf8.append(byte)
                    index += 1
                    continue
                }
                flush()
                let escaped = raw[index + 1]
                index += 2
                guard escaped == UInt8(ascii: "u") else {
                    let simple: [UInt8: UInt8] = [
                        UInt8(ascii: "b"): 0x08, UInt8(ascii: "f"): 0x0C, UInt8(ascii: "n"): 0x0A, UInt8(ascii: "r"): 0x0D, UInt8(ascii: "t"): 0x09,
                    ]
                    scalars.append(Unicode.Scalar(simple[escaped] ?? escaped))
                    continue
                }
                let code = UInt32(String(decoding: raw[index..<index + 4], as: UTF8.self), radix: 16) ?? 0xFFFD
                index += 4
                if (0xD800...0xDBFF).contains(code) {
                    pendingHighSurrogate = code
                    continue
                }
                if let high = pendingHighSurrogate, (0xDC00...0xDFFF).contains(code) {
                    scalars.append(Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00)) ?? "\u{FFFD}")
                } else {
                    scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                }
                pendingHighSurrogate = nil
            }
            flush()
            return String(scalars)
        }

        func isHexDigit(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
        }

        mutating func digits() throws(Failure) {
            guard let byte = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { throw failure("expected a digit") }
            while let byte = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { index += 1 }
        }

        mutating func number() throws(Failure) {
            if current == UInt8(ascii: "-") { index += 1 }
            if current == UInt8(ascii: "0") {
                index += 1
            } else {
                try digits()
            }
            if current == UInt8(ascii: ".") {
                index += 1
                try digits()
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                index += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
                try digits()
            }
        }
    }
}
