import Foundation
import OmniaCore
import SQLKit

extension IdentityPolicy {
    /// The policy stored on a tenant row (JSON), or the defaults when the tenant never set one.
    static func stored(_ text: String?, tenantCountry: String?) -> IdentityPolicy {
        guard let text, let policy = try? JSONCoding.decoder.decode(IdentityPolicy.self, from: Data(text.utf8)) else {
            return .defaults(country: tenantCountry)
        }
        return policy
    }
}

extension IdentityService {
    /// The tenant's identity policy, read from its row (the API has it from the caller; the CLI reads it here).
    func policy(on sql: any SQLDatabase, tenantID: String) async throws -> IdentityPolicy {
        guard let row = try await sql.raw("SELECT country, identity_policy FROM tenants WHERE id = \(bind: tenantID)").first() else {
            throw PlatformError.tenantNotFound(tenantID)
        }
        return IdentityPolicy.stored(try row.decode(column: "identity_policy", as: String?.self),
                                     tenantCountry: try row.decode(column: "country", as: String?.self))
    }

    /// Changes the policy. Identifiers already stored keep their normalized form: a change of
    /// `canonical_gmail` or `default_country` applies to values sent from now on.
    func updatePolicy(on sql: any SQLDatabase, tenantID: String, _ request: UpdateIdentityPolicyRequest, actor: Actor) async throws -> IdentityPolicy {
        var policy = try await self.policy(on: sql, tenantID: tenantID)
        var validator = Validator()
        if let mergeOn = request.mergeOn { policy.mergeOn = mergeOn }
        if let customKinds = request.customKinds { policy.customKinds = customKinds }
        if let gmail = request.canonicalGmail { policy.canonicalGmail = gmail }
        switch request.defaultCountry {
        case .unchanged: break
        case .clear: policy.defaultCountry = nil
        case .set(let country): policy.defaultCountry = validator.country(country, field: "default_country")
        }
        for problem in policy.problems() { validator.fail(problem.field, problem.code, problem.detail) }
        guard validator.isValid else { throw Problem.validation(validator.errors) }
        let text = try JSONCoding.text(policy)
        try await sql.raw("UPDATE tenants SET identity_policy = \(bind: text) WHERE id = \(bind: tenantID)").run()
        try await services.events.append(on: sql, tenantID: tenantID, type: "identity_policy.updated", data: policy, requestID: actor.requestID)
        try await services.audit.record(on: sql, tenantID: tenantID, actor: actor.id, action: "identity_policy.update", targetType: "tenant",
                                        targetID: tenantID, details: ["policy": (try? JSONCoding.decoder.decode(JSONValue.self, from: Data(text.utf8))) ?? .null],
                                        requestID: actor.requestID)
        return policy
    }
}
