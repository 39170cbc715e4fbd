import Foundation
import Hummingbird
import OmniaCore
import Synchronization

/// A JSON request body. `Field` lists the accepted keys, so an unknown key is rejected by name
/// instead of being silently ignored (a typo like `curency` must not fall back to a default).
protocol RequestBody: Decodable, Sendable {
    associatedtype Field: CodingKey & CaseIterable
}

extension RequestBody {
    /// The body's JSON field names, worked out once per type (it is on the path of every POST).
    static var acceptedFields: Set<String> {
        acceptedFieldsByType.withLock { cache in
            if let fields = cache[ObjectIdentifier(Self.self)] { return fields }
            let fields = Set(Field.allCases.map { snakeCase($0.stringValue) })
            cache[ObjectIdentifier(Self.self)] = fields
            return fields
        }
    }
}

private let acceptedFieldsByType = Mutex<[ObjectIdentifier: Set<String>]>([:])

/// A body that can also be read by `JSONScanner`, far cheaper than `JSONDecoder`; `scan` returns
/// nil for anything it does not read plainly, and `JSONDecoder` decodes that instead.
protocol ScannableRequestBody: RequestBody {
    static func scan(_ bytes: [UInt8]) -> Self?
}

extension Request {
    /// Reads, checks and decodes a JSON body: 415 for another content type, 413 past `maxBytes`,
    /// 400 with the line and column of malformed JSON, the name of each unknown field, or the path
    /// of each value of the wrong type.
    mutating func decode<Body: RequestBody>(_: Body.Type, maxBytes: Int) async throws -> Body {
        let contentType = headers[.contentType]?.split(separator: ";").first?.trimmingWhitespace().lowercased()
        guard contentType == "application/json" else {
            throw Problem(.unsupportedMediaType, code: "unsupported_media_type",
                          detail: "send the body as application/json (got \(contentType ?? "no Content-Type"))")
        }
        let buffer = try await collectBody(upTo: maxBytes)
        let bytes = Array(buffer.readableBytesView)
        return try decodeJSONObject(Body.self, from: bytes)
    }
}

/// Decodes `bytes` as a JSON object of `Body`, with the precise errors `Request.decode` promises.
func decodeJSONObject<Body: RequestBody>(_: Body.Type, from bytes: [UInt8]) throws -> Body {
    guard String(validating: bytes, as: UTF8.self) != nil else {
        throw Problem(.badRequest, code: "invalid_utf8", detail: "the body is not valid UTF-8")
    }
    let keys: [String]
    switch JSONSyntax.checkObject(bytes) {
    case .malformed(let failure):
        throw Problem(.badRequest, code: "malformed_json",
                      detail: "malformed JSON at line \(failure.line), column \(failure.column): \(failure.reason)")
    case .notObject:
        throw Problem(.badRequest, code: "expected_object", detail: "the body must be a JSON object")
    case .object(let topLevelKeys):
        keys = topLevelKeys
    }
    let unknown = Set(keys).subtracting(Body.acceptedFields).sorted()
    if !unknown.isEmpty {
        throw Problem(.badRequest, code: "unknown_field", detail: "unknown field\(unknown.count > 1 ? "s" : ""): \(unknown.joined(separator: ", "))",
                      errors: unknown.map { FieldError(field: $0, code: "unknown_field", detail: "\($0) is not a field of this request") })
    }
    if let scannable = Body.self as? any ScannableRequestBody.Type, let body = scannable.scan(bytes) as? Body { return body }
    do {
        return try JSONCoding.decoder.decode(Body.self, from: Data(bytes))
    } catch let error as DecodingError {
        throw Problem.validation([fieldError(for: error)])
    }
}

private func fieldError(for error: DecodingError) -> FieldError {
    func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.reduce(into: "") { text, key in
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += (text.isEmpty ? "" : ".") + snakeCase(key.stringValue)
            }
        }
    }
    switch error {
    case .typeMismatch(let type, let context):
        let field = path(context.codingPath)
        return FieldError(field: field, code: "invalid_type", detail: "\(field) must be \(describe(type))")
    case .valueNotFound(let type, let context):
        let field = path(context.codingPath)
        return FieldError(field: field, code: "invalid_type", detail: "\(field) must be \(describe(type)), not null")
    case .keyNotFound(let key, let context):
        let field = path(context.codingPath + [key])
        return FieldError(field: field, code: "required", detail: "\(field) is required")
    case .dataCorrupted(let context):
        let field = path(context.codingPath)
        return FieldError(field: field, code: "invalid_value", detail: "\(field) is not a valid value (\(context.debugDescription))")
    @unknown default:
        return FieldError(field: "", code: "invalid_value", detail: "the body does not match the request schema")
    }
}

private func describe(_ type: Any.Type) -> String {
    switch type {
    case is String.Type: "a string"
    case is Int.Type, is Int64.Type, is Int32.Type: "an integer"
    case is Double.Type: "a number"
    case is Bool.Type: "true or false"
    case is [Any].Type: "an array"
    default: String(describing: type).contains("Array") ? "an array" : "an object"
    }
}

extension JSONCoding {
    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }()
}
