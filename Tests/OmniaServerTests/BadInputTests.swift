import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
@testable import OmniaServer
import Testing

/// Every kind of bad input gets a precise 4xx problem and changes nothing.
@Suite("Bad input")
struct BadInputTests {
    /// Sends `body` to `POST /v1/locations` and checks it is refused with `status`/`code` and that no row or event was written.
    private func expectRejected(
        _ client: any TestClientProtocol, _ app: TestApp, rawBody: String? = nil, json: [String: any Sendable]? = nil,
        contentType: String = "application/json", status: HTTPResponse.Status = .badRequest, code: String, field: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> TestResponse {
        let eventsBefore = try await app.count("events")
        let response = try await client.call(.post, "/v1/locations", key: app.adminKey, json: json, rawBody: rawBody,
                                             headers: [.contentType: contentType])
        #expect(response.status == status, sourceLocation: sourceLocation)
        #expect(response.problemCode == code, "\(response.text)", sourceLocation: sourceLocation)
        #expect(response.headers[.contentType] == "application/problem+json", sourceLocation: sourceLocation)
        if let field {
            let fields = (response.object["errors"] as? [[String: Any]])?.compactMap { $0["field"] as? String } ?? []
            #expect(fields.contains(field), "errors name \(field): \(fields)", sourceLocation: sourceLocation)
        }
        #expect(try await app.count("locations") == 0, sourceLocation: sourceLocation)
        #expect(try await app.count("events") == eventsBefore, sourceLocation: sourceLocation)
        return response
    }

    private let valid: [String: any Sendable] = ["code": "bcn-1", "name": "Barcelona", "kind": "store", "country": "ES"]

    @Test("malformed JSON is a 400 that says where", arguments: TestBackend.available)
    func malformedJSON(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let response = try await expectRejected(client, app, rawBody: "{\"code\": \"x\",\n  \"name\" \"y\"}", code: "malformed_json")
            #expect((response.object["detail"] as? String)?.contains("line 2, column 10") == true, "\(response.object["detail"] ?? "")")
            _ = try await expectRejected(client, app, rawBody: "", code: "malformed_json")
            _ = try await expectRejected(client, app, rawBody: "[1, 2]", code: "expected_object")
            _ = try await expectRejected(client, app, rawBody: String(repeating: "[", count: 100_000), code: "malformed_json")
        }
    }

    @Test("wrong types, missing fields and unknown fields name the field", arguments: TestBackend.available)
    func fieldErrors(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            var wrongType = valid
            wrongType["name"] = 42
            _ = try await expectRejected(client, app, json: wrongType, code: "validation_failed", field: "name")

            var missing = valid
            missing["name"] = nil
            _ = try await expectRejected(client, app, json: missing, code: "validation_failed", field: "name")

            var unknown = valid
            unknown["colour"] = "red"
            let response = try await expectRejected(client, app, json: unknown, code: "unknown_field", field: "colour")
            #expect((response.object["detail"] as? String)?.contains("colour") == true)

            var camel = valid
            camel["addressLine1"] = "Gran Vía 1"
            _ = try await expectRejected(client, app, json: camel, code: "unknown_field", field: "addressLine1")

            var nullName = valid
            nullName["name"] = NSNull()
            _ = try await expectRejected(client, app, json: nullName, code: "validation_failed", field: "name")
        }
    }

    @Test("invalid values are reported all at once", arguments: TestBackend.available)
    func invalidValues(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let response = try await expectRejected(client, app, json: [
                "code": "Not A Code!", "name": String(repeating: "n", count: 121), "kind": "shop",
                "country": "Spain", "timezone": "Mars/Olympus", "city": "Bad\u{0007}City",
            ], code: "validation_failed")
            let fields = Set((response.object["errors"] as? [[String: Any]])?.compactMap { $0["field"] as? String } ?? [])
            #expect(fields == ["code", "name", "kind", "country", "timezone", "city"])
        }
    }

    @Test("invalid UTF-8, a wrong content type and an oversized body are refused", arguments: TestBackend.available)
    func transportErrors(backend: TestBackend) async throws {
        try await TestApp.run(backend, configure: { $0.maxBodyBytes = 4096 }) { app, client in
            var bytes = Array("{\"code\": \"x\", \"name\": \"".utf8)
            bytes += [0xC3, 0x28]
            bytes += Array("\"}".utf8)
            let invalidUTF8 = try await client.execute(
                uri: "/v1/locations", method: .post,
                headers: [.authorization: "Bearer \(app.adminKey)", .contentType: "application/json"], body: ByteBuffer(bytes: bytes))
            #expect(invalidUTF8.status == .badRequest)
            #expect(invalidUTF8.problemCode == "invalid_utf8")

            _ = try await expectRejected(client, app, rawBody: "code=x", contentType: "application/x-www-form-urlencoded",
                                         status: .unsupportedMediaType, code: "unsupported_media_type")
            let huge = "{\"name\": \"\(String(repeating: "a", count: 10_000))\"}"
            _ = try await expectRejected(client, app, rawBody: huge, status: .contentTooLarge, code: "body_too_large")
            #expect(try await app.count("locations") == 0)
        }
    }

    @Test("SQL metacharacters in every string field are stored verbatim", arguments: TestBackend.available)
    func sqlMetacharacters(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let hostile = "O'Brien\"; DROP TABLE channels; -- \\ %_ ' OR '1'='1"
            let response = try await client.call(.post, "/v1/locations", key: app.adminKey, json: [
                "code": "safe", "name": hostile, "kind": "store", "address_line1": hostile, "address_line2": hostile,
                "city": hostile, "postcode": String(hostile.prefix(20)), "region": hostile, "country": "ES",
            ])
            #expect(response.status == .created)
            let id = try #require(response.object["id"] as? String)
            let fetched = try await client.call(.get, "/v1/locations/\(id)", key: app.adminKey)
            #expect(fetched.object["name"] as? String == hostile)
            #expect(fetched.object["region"] as? String == hostile)
            #expect(try await app.count("channels") == 0, "the channels table still exists")

            let inCode = try await client.call(.post, "/v1/channels", key: app.adminKey, json: ["code": "x'; DROP TABLE x; --", "name": hostile, "kind": "web"])
            #expect(inCode.status == .badRequest)
            let inQuery = try await client.call(.get, "/v1/channels?starting_after=%27%20OR%201%3D1--", key: app.adminKey)
            #expect(inQuery.status == .badRequest, "a cursor is an id, checked before any SQL")
            let inEventType = try await client.call(.get, "/v1/events?type=%27%20OR%201%3D1--", key: app.adminKey)
            #expect(inEventType.status == .badRequest)
            // PostgreSQL refuses NUL bytes in text: they must be rejected before any SQL, not become a 500.
            let nulCursor = try await client.call(.get, "/v1/api_keys?starting_after=chn_%00x", key: app.adminKey)
            #expect(nulCursor.status == .badRequest)
            #expect(nulCursor.problemCode == "validation_failed")
            let nulReference = try await client.call(.post, "/v1/channels", key: app.adminKey,
                                                     json: ["code": "nul", "name": "N", "kind": "store", "location_id": "loc_\u{0000}"])
            #expect(nulReference.status == .badRequest)
            let nulKey = try await client.call(.post, "/v1/api_keys", key: app.adminKey, json: ["name": "N", "scopes": ["pos"], "channel_id": "\u{0000}"])
            #expect(nulKey.status == .badRequest)
        }
    }

    @Test("unknown routes are 404 and wrong methods 405 with Allow, as problems", arguments: [TestBackend.sqlite])
    func routing(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let unknown = try await client.call(.get, "/v1/nothing-here", key: app.adminKey)
            #expect(unknown.status == .notFound)
            #expect(unknown.problemCode == "route_not_found")
            let wrongMethod = try await client.call(.put, "/v1/channels", key: app.adminKey)
            #expect(wrongMethod.status == .methodNotAllowed)
            #expect(wrongMethod.problemCode == "method_not_allowed")
            #expect(wrongMethod.headers[.allow]?.contains("GET") == true)
            #expect(wrongMethod.headers[.allow]?.contains("POST") == true)
            let onItem = try await client.call(.patch, "/v1/api_keys/key_01m84262mqg2xt5dz0s43d6wfs", key: app.adminKey)
            #expect(onItem.status == .methodNotAllowed)
        }
    }

    @Test("the request id is echoed when sane and generated otherwise", arguments: [TestBackend.sqlite])
    func requestID(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let echoed = try await client.call(.get, "/v1/channels", key: app.adminKey, headers: [.xRequestID: "till-42-abc"])
            #expect(echoed.headers[.xRequestID] == "till-42-abc")
            let generated = try await client.call(.get, "/v1/channels", key: nil, headers: [.xRequestID: "bad id with spaces"])
            #expect(generated.headers[.xRequestID]?.hasPrefix("req_") == true)
            #expect(generated.object["request_id"] as? String == generated.headers[.xRequestID])
        }
    }
}
