import Foundation
import Hummingbird
import OmniaCore
import SQLKit

/// What a customer agreed to be contacted by, per channel of contact: a campaign's message goes
/// only by a channel the customer granted (and has an identifier for). Changes are audited.
///
/// | route | scope |
/// | --- | --- |
/// | `GET /v1/customers/{id}/consents` | pos, ecommerce, service, analytics:read |
/// | `PATCH /v1/customers/{id}/consents` (each channel sent replaces its answer) | pos, ecommerce, service |
struct ConsentService: Sendable {
    let services: AppServices
    static let channels = ["email", "sms", "whatsapp", "push"]

    /// `PATCH /v1/customers/{id}/consents`: `{"email": true, "sms": false}`, and where it was given.
    struct Request: RequestBody {
        var email: Bool?
        var sms: Bool?
        var whatsapp: Bool?
        var push: Bool?
        /// Where the customer said so: `web_signup`, `store_till`, `preference_centre`…
        var source: String?

        typealias Field = CodingKeys
        enum CodingKeys: String, CodingKey, CaseIterable {
            case email, sms, whatsapp, push, source
        }

        var answers: [(channel: String, granted: Bool)] {
            [("email", email), ("sms", sms), ("whatsapp", whatsapp), ("push", push)].compactMap { channel, granted in granted.map { (channel, $0) } }
        }
    }

    struct Consent: Codable, Sendable {
        let channel: String
        let granted: Bool
        let source: String?
        let updatedAt: StoredTime
    }

    struct Consents: Codable, Sendable {
        let customerId: String
        /// Every channel of contact; one never answered is not granted.
        let consents: [Consent]
    }

    func set(on sql: any SQLDatabase, tenantID: String, customerID requested: String, _ request: Request, actor: Actor) async throws -> Consents {
        var validator = Validator()
        if request.answers.isEmpty { validator.fail("", "required", "send at least one of email, sms, whatsapp, push (true or false)") }
        let source = validator.text(request.source, field: "source", required: false, maxLength: 100)
        guard validator.isValid else { throw Problem.validation(validator.errors) }
        let customer = try await CustomerStore(tenantID: tenantID).requiredResolvedRow(on: sql, id: requested)
        let now = services.nowMilliseconds
        for (channel, granted) in request.answers {
            try await sql.raw("""
                INSERT INTO customer_consents (tenant_id, customer_id, channel, granted, source, updated_at)
                VALUES (\(bind: tenantID), \(bind: customer.id), \(bind: channel), \(bind: granted ? 1 : 0), \(bind: source), \(bind: now))
                ON CONFLICT (tenant_id, customer_id, channel) DO UPDATE SET granted = excluded.granted, source = excluded.source,
                  updated_at = excluded.updated_at
                """).run()
        }
        let consents = try await self.consents(on: sql, tenantID: tenantID, customerID: customer.id)
        try await services.events.append(on: sql, tenantID: tenantID, type: "customer.consents_changed", data: consents, requestID: actor.requestID)
        try await services.audit.record(on: sql, tenantID: tenantID, actor: actor.id, action: "customer.consents_changed", targetType: "customer",
                                        targetID: customer.id, details: Dictionary(uniqueKeysWithValues: request.answers.map { ($0.channel, JSONValue.bool($0.granted)) }),
                                        requestID: actor.requestID)
        return consents
    }

    func consents(on sql: any SQLDatabase, tenantID: String, customerID: String) async throws -> Consents {
        let rows = try await sql.raw("""
            SELECT channel, granted, source, updated_at FROM customer_consents WHERE tenant_id = \(bind: tenantID) AND customer_id = \(bind: customerID)
            """).all()
        var answered: [String: Consent] = [:]
        for row in rows {
            let channel = try row.decode(column: "channel", as: String.self)
            answered[channel] = Consent(channel: channel, granted: try row.decode(column: "granted", as: Int64.self) != 0,
                                        source: try row.decode(column: "source", as: String?.self),
                                        updatedAt: StoredTime(milliseconds: try row.decode(column: "updated_at", as: Int64.self)))
        }
        return Consents(customerId: customerID, consents: Self.channels.map { answered[$0] ?? Consent(channel: $0, granted: false, source: nil,
                                                                                                       updatedAt: StoredTime(milliseconds: 0)) })
    }

    /// The channels each of `customerIDs` granted.
    func granted(on sql: any SQLDatabase, tenantID: String, customerIDs: [String]) async throws -> [String: Set<String>] {
        guard !customerIDs.isEmpty else { return [:] }
        return try await sql.raw("""
            SELECT customer_id, channel FROM customer_consents WHERE tenant_id = \(bind: tenantID) AND customer_id IN (\(binds: customerIDs)) AND granted = 1
            """).all().reduce(into: [:]) { $0[try $1.decode(column: "customer_id", as: String.self), default: []].insert(try $1.decode(column: "channel", as: String.self)) }
    }

    func addRoutes(to routes: Routes) {
        routes.get("customers/:id/consents", scopes: CustomerController.readScopes) { request, context, caller in
            let id = try request.id("id", .customer, context: context, what: "customer")
            let consents = try await services.database.read { sql in
                let customer = try await CustomerStore(tenantID: caller.tenantID).requiredResolvedRow(on: sql, id: id)
                return try await self.consents(on: sql, tenantID: caller.tenantID, customerID: customer.id)
            }
            return try JSONResponse.make(consents)
        }
        routes.patch("customers/:id/consents", scopes: CustomerController.writeScopes) { request, context, caller in
            let id = try request.id("id", .customer, context: context, what: "customer")
            let body = try await request.decode(Request.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context, status: .ok) { sql in
                try await set(on: sql, tenantID: caller.tenantID, customerID: id, body, actor: actor)
            }
        }
    }
}
