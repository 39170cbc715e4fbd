/// A hold or redemption read by `JSONScanner`: every till's payment with a card or points sends
/// one, and `JSONDecoder` took 5–7 % of the server's time under redemptions. Anything the scanner
/// does not read plainly (nil) is decoded by `JSONDecoder` instead.
extension CreateHoldRequest: ScannableRequestBody {
    static func scan(_ bytes: [UInt8]) -> CreateHoldRequest? {
        var scanner = JSONScanner(bytes)
        let request = scanner.members(of: CreateHoldRequest()) { scanner, request, seen, key in
            switch key {
            case "channel": return seen.insert(0) && scanner.read(\.channel, into: &request) { $0.string() }
            case "currency": return seen.insert(1) && scanner.read(\.currency, into: &request) { $0.string() }
            case "country": return seen.insert(2) && scanner.read(\.country, into: &request) { $0.string() }
            case "customer_id": return seen.insert(3) && scanner.read(\.customerId, into: &request) { $0.string() }
            case "reference": return seen.insert(4) && scanner.read(\.reference, into: &request) { $0.string() }
            case "expires_in": return seen.insert(5) && scanner.read(\.expiresIn, into: &request) { $0.int() }
            case "instruments": return seen.insert(6) && scanner.read(\.instruments, into: &request) { $0.list { $0.instrument() } }
            case "occurred_at": return seen.insert(7) && scanner.read(\.occurredAt, into: &request) { $0.string() }
            case "offline": return seen.insert(8) && scanner.read(\.offline, into: &request) { $0.bool() }
            default: return false
            }
        }
        guard let request, scanner.isAtEnd else { return nil }
        return request
    }
}

private extension JSONScanner {
    mutating func instrument() -> InstrumentInput? {
        members(of: InstrumentInput()) { scanner, instrument, seen, key in
            switch key {
            case "type": return seen.insert(0) && scanner.read(\.type, into: &instrument) { $0.string() }
            case "id": return seen.insert(1) && scanner.read(\.id, into: &instrument) { $0.string() }
            case "code": return seen.insert(2) && scanner.read(\.code, into: &instrument) { $0.string() }
            case "pin": return seen.insert(3) && scanner.read(\.pin, into: &instrument) { $0.string() }
            case "amount": return seen.insert(4) && scanner.read(\.amount, into: &instrument) { $0.int64() }
            default: return false
            }
        }
    }
}
