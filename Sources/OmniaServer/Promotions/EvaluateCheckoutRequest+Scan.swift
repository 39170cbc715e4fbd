/// A cart read by `JSONScanner`: every channel sends one each time its cart changes, and
/// `JSONDecoder` took ~8 % of the server's time on them. Anything the scanner does not read
/// plainly (nil) is decoded by `JSONDecoder` instead, with its precise errors.
extension EvaluateCheckoutRequest: ScannableRequestBody {
    static func scan(_ bytes: [UInt8]) -> EvaluateCheckoutRequest? {
        var scanner = JSONScanner(bytes)
        let request = scanner.members(of: EvaluateCheckoutRequest()) { scanner, request, seen, key in
            switch key {
            case "channel": return seen.insert(0) && scanner.read(\.channel, into: &request) { $0.string() }
            case "currency": return seen.insert(1) && scanner.read(\.currency, into: &request) { $0.string() }
            case "customer_id": return seen.insert(2) && scanner.read(\.customerId, into: &request) { $0.string() }
            case "lines": return seen.insert(3) && scanner.read(\.lines, into: &request) { $0.list { $0.evaluatedLine() } }
            case "codes": return seen.insert(4) && scanner.read(\.codes, into: &request) { $0.list { $0.string() } }
            case "at": return seen.insert(5) && scanner.read(\.at, into: &request) { $0.string() }
            case "explain": return seen.insert(6) && scanner.read(\.explain, into: &request) { $0.bool() }
            case "country": return seen.insert(7) && scanner.read(\.country, into: &request) { $0.string() }
            case "wallet": return seen.insert(8) && scanner.read(\.wallet, into: &request) { $0.bool() }
            default: return false
            }
        }
        guard let request, scanner.isAtEnd else { return nil }
        return request
    }
}

private extension JSONScanner {
    mutating func evaluatedLine() -> EvaluateLineInput? {
        members(of: EvaluateLineInput()) { scanner, line, seen, key in
            switch key {
            case "sku": return seen.insert(0) && scanner.read(\.sku, into: &line) { $0.string() }
            case "category": return seen.insert(1) && scanner.read(\.category, into: &line) { $0.string() }
            case "brand": return seen.insert(2) && scanner.read(\.brand, into: &line) { $0.string() }
            case "quantity": return seen.insert(3) && scanner.read(\.quantity, into: &line) { $0.int64() }
            case "unit_price": return seen.insert(4) && scanner.read(\.unitPrice, into: &line) { $0.int64() }
            case "tags": return seen.insert(5) && scanner.read(\.tags, into: &line) { $0.list { $0.string() } }
            case "name": return seen.insert(6) && scanner.read(\.name, into: &line) { $0.string() }
            default: return false
            }
        }
    }
}
