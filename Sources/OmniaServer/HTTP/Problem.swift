import Foundation
import HTTPTypes
import Hummingbird
import OmniaCore

/// An RFC 9457 problem: what every error response of Omnia carries, with a stable machine `code`.
public struct Problem: Error, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var title: String
    public var detail: String
    public var errors: [FieldError]
    /// Extra headers, e.g. `Retry-After` on 429 or `Allow` on 405.
    public var headers: HTTPFields
    /// RFC 9457 extension members a client acts on, e.g. the `customer_ids` of a refused merge.
    public var extensions: [String: JSONValue]

    public init(_ status: HTTPResponse.Status, code: String, detail: String, errors: [FieldError] = [], headers: HTTPFields = [:],
                extensions: [String: JSONValue] = [:]) {
        self.status = status
        self.code = code
        self.title = status.reasonPhrase
        self.detail = detail
        self.errors = errors
        self.headers = headers
        self.extensions = extensions
    }

    /// 400 with one entry per invalid field.
    public static func validation(_ errors: [FieldError]) -> Problem {
        let summary = errors.prefix(3).map(\.detail).joined(separator: "; ")
        return Problem(.badRequest, code: "validation_failed", detail: summary, errors: errors)
    }

    public static func notFound(_ what: String) -> Problem {
        Problem(.notFound, code: "not_found", detail: "no \(what) with that id")
    }
}

/// A domain error that knows its problem. Each capability's error enum conforms, so handlers
/// throw domain errors and one middleware renders them.
public protocol ProblemConvertible: Error {
    var problem: Problem { get }
}

extension Problem: ProblemConvertible {
    public var problem: Problem { self }
}

/// The JSON body of a problem response.
struct ProblemBody: Encodable {
    let type: String
    let title: String
    let status: Int
    let code: String
    let detail: String
    let instance: String?
    let requestId: String?
    let errors: [FieldError]?
    let extensions: [String: JSONValue]

    enum CodingKeys: String, CodingKey {
        case type, title, status, code, detail, instance, requestId, errors
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        try container.encode(title, forKey: .title)
        try container.encode(status, forKey: .status)
        try container.encode(code, forKey: .code)
        try container.encode(detail, forKey: .detail)
        try container.encodeIfPresent(instance, forKey: .instance)
        try container.encodeIfPresent(requestId, forKey: .requestId)
        try container.encodeIfPresent(errors, forKey: .errors)
        if !extensions.isEmpty { try JSONValue.object(extensions).encode(to: encoder) }
    }
}

extension Problem {
    static let contentType = "application/problem+json"

    func body(instance: String?, requestID: String?) -> ProblemBody {
        ProblemBody(
            type: "urn:omnia:problem:\(code)", title: title, status: status.code, code: code, detail: detail,
            instance: instance, requestId: requestID, errors: errors.isEmpty ? nil : errors, extensions: extensions
        )
    }

    func response(instance: String?, requestID: String?) -> Response {
        let data = (try? JSONCoding.encode(body(instance: instance, requestID: requestID))) ?? Data()
        var fields = headers
        fields[.contentType] = Problem.contentType
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// The API's one JSON encoding, so every response, stored event and replayed answer has the same shape.
enum JSONCoding {
    static func encode(_ value: some Encodable) throws -> Data {
        Data(try JSONWriter.encode(value))
    }

    /// The encoding as text, for a JSON column.
    static func text(_ value: some Encodable) throws -> String {
        String(decoding: try JSONWriter.encode(value), as: UTF8.self)
    }
}
