/// The sale or return of a POST or an import line read by `JSONScanner`: the body every till and
/// every import sends thousands of times, where `JSONDecoder` took a fifth of an import's CPU.
/// Anything the scanner does not read plainly (nil) is decoded by `JSONDecoder` instead.
extension RecordTransactionRequest: ScannableRequestBody {
    static func scan(_ bytes: [UInt8]) -> RecordTransactionRequest? {
        var scanner = JSONScanner(bytes)
        let request = scanner.members(of: RecordTransactionRequest()) { scanner, request, seen, key in
            switch key {
            case "external_id": return seen.insert(0) && scanner.read(\.externalId, into: &request) { $0.string() }
            case "kind": return seen.insert(1) && scanner.read(\.kind, into: &request) { $0.string() }
            case "channel": return seen.insert(2) && scanner.read(\.channel, into: &request) { $0.string() }
            case "location": return seen.insert(3) && scanner.read(\.location, into: &request) { $0.string() }
            case "occurred_at": return seen.insert(4) && scanner.read(\.occurredAt, into: &request) { $0.string() }
            case "currency": return seen.insert(5) && scanner.read(\.currency, into: &request) { $0.string() }
            case "customer": return seen.insert(6) && scanner.read(\.customer, into: &request) { $0.stringDictionary() }
            case "original": return seen.insert(7) && scanner.read(\.original, into: &request) { $0.originalReference() }
            case "lines": return seen.insert(8) && scanner.read(\.lines, into: &request) { $0.list { $0.line() } }
            case "discounts": return seen.insert(9) && scanner.read(\.discounts, into: &request) { $0.list { $0.discount() } }
            case "taxes": return seen.insert(10) && scanner.read(\.taxes, into: &request) { $0.list { $0.tax() } }
            case "taxes_included": return seen.insert(11) && scanner.read(\.taxesIncluded, into: &request) { $0.bool() }
            case "tenders": return seen.insert(12) && scanner.read(\.tenders, into: &request) { $0.list { $0.tender() } }
            case "total": return seen.insert(13) && scanner.read(\.total, into: &request) { $0.int64() }
            default: return false
            }
        }
        guard let request, scanner.isAtEnd else { return nil }
        return request
    }
}

private extension JSONScanner {
    mutating func originalReference() -> OriginalReference? {
        members(of: OriginalReference()) { scanner, reference, seen, key in
            switch key {
            case "id": return seen.insert(0) && scanner.read(\.id, into: &reference) { $0.string() }
            case "channel": return seen.insert(1) && scanner.read(\.channel, into: &reference) { $0.string() }
            case "external_id": return seen.insert(2) && scanner.read(\.externalId, into: &reference) { $0.string() }
            default: return false
            }
        }
    }

    mutating func line() -> LineInput? {
        members(of: LineInput()) { scanner, line, seen, key in
            switch key {
            case "sku": return seen.insert(0) && scanner.read(\.sku, into: &line) { $0.string() }
            case "name": return seen.insert(1) && scanner.read(\.name, into: &line) { $0.string() }
            case "category": return seen.insert(2) && scanner.read(\.category, into: &line) { $0.string() }
            case "quantity": return seen.insert(3) && scanner.read(\.quantity, into: &line) { $0.int64() }
            case "unit_price": return seen.insert(4) && scanner.read(\.unitPrice, into: &line) { $0.int64() }
            case "discount": return seen.insert(5) && scanner.read(\.discount, into: &line) { $0.int64() }
            case "original_line": return seen.insert(6) && scanner.read(\.originalLine, into: &line) { $0.int() }
            case "reason": return seen.insert(7) && scanner.read(\.reason, into: &line) { $0.string() }
            default: return false
            }
        }
    }

    mutating func discount() -> DiscountInput? {
        members(of: DiscountInput()) { scanner, discount, seen, key in
            switch key {
            case "code": return seen.insert(0) && scanner.read(\.code, into: &discount) { $0.string() }
            case "description": return seen.insert(1) && scanner.read(\.description, into: &discount) { $0.string() }
            case "amount": return seen.insert(2) && scanner.read(\.amount, into: &discount) { $0.int64() }
            default: return false
            }
        }
    }

    mutating func tax() -> TaxInput? {
        members(of: TaxInput()) { scanner, tax, seen, key in
            switch key {
            case "name": return seen.insert(0) && scanner.read(\.name, into: &tax) { $0.string() }
            case "rate": return seen.insert(1) && scanner.read(\.rate, into: &tax) { $0.int64() }
            case "amount": return seen.insert(2) && scanner.read(\.amount, into: &tax) { $0.int64() }
            default: return false
            }
        }
    }

    mutating func tender() -> TenderInput? {
        members(of: TenderInput()) { scanner, tender, seen, key in
            switch key {
            case "kind": return seen.insert(0) && scanner.read(\.kind, into: &tender) { $0.string() }
            case "amount": return seen.insert(1) && scanner.read(\.amount, into: &tender) { $0.int64() }
            case "reference": return seen.insert(2) && scanner.read(\.reference, into: &tender) { $0.string() }
            default: return false
            }
        }
    }
}
