import Foundation
import HTTPTypes
import OmniaCore
import SQLKit

/// `POST /v1/profile_attributes` and `PATCH /v1/profile_attributes/{code}`.
struct ProfileAttributeRequest: RequestBody {
    var code: String?
    /// `bool`, `number`, `string`, `money` or `date`: what the rule gives.
    var type: String?
    /// A rule over `customer` and `context` (the profile without `attributes`).
    var rule: String?
    var description: String?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable { case code, type, rule, description }
}

/// A tenant-defined profile attribute: a rule over the profile, read as `customer.attributes.<code>`.
struct ProfileAttribute: Codable, Sendable, Equatable {
    let code: String
    let type: String
    let rule: String
    let description: String?
    let createdAt: StoredTime
    let updatedAt: StoredTime
}

/// The tenant's computed attributes: defined by rule over the live profile, evaluated whenever a
/// profile is read (so they are as live as it is), and readable by segment rules.
struct ProfileAttributes: Sendable {
    static let maximumCount = 50

    /// The attributes of a tenant, in code order, compiled for evaluation.
    struct Compiled: Sendable {
        let definitions: [ProfileAttribute]
        let programs: [RuleProgram]
        /// The record type of `customer.attributes`.
        let record: RuleRecordType

        var fields: [RuleRecordType.Field] { record.fields }

        /// Fills `profile.attributes` on the day `day`; an attribute that fails to evaluate (a step budget, a currency mismatch) is null.
        func apply(to profile: inout LiveProfile, on day: Int32) {
            guard !programs.isEmpty else { return }
            let input = ProfileSchema.value(of: profile, attributes: RuleRecordType("attributes", []), on: day)
            for (definition, program) in zip(definitions, programs) {
                profile.attributes[definition.code] = (try? program.value(for: input)) ?? .null
            }
        }
    }

    /// What an attribute's rule is checked against: the profile with no computed attributes (one cannot read another).
    static let ruleSchema = ProfileSchema.segment(attributes: [])

    static func load(on sql: any SQLDatabase, tenantID: String) async throws -> Compiled {
        let definitions = try await sql.raw("SELECT * FROM profile_attributes WHERE tenant_id = \(bind: tenantID) ORDER BY code").rows(ProfileAttribute.self)
        var programs: [RuleProgram] = []
        var fields: [RuleRecordType.Field] = []
        for definition in definitions {
            // Stored rules were checked when saved against this same schema; one that no longer compiles is left out, not fatal.
            guard let type = ProfileSchema.attributeTypes[definition.type],
                let program = try? RuleProgram(definition.rule, schema: ruleSchema, type: type) else { continue }
            programs.append(program)
            fields.append(.init(definition.code, type, definition.description ?? ""))
        }
        let kept = definitions.filter { definition in fields.contains { $0.name == definition.code } }
        return Compiled(definitions: kept, programs: programs, record: RuleRecordType("attributes", fields))
    }

    // MARK: Changes

    func create(on sql: any SQLDatabase, tenantID: String, _ request: ProfileAttributeRequest, now: Int64) async throws -> ProfileAttribute {
        var validator = Validator()
        let code = request.code ?? ""
        if request.code == nil {
            validator.fail("code", "required", "code is required: the attribute's name in rules, customer.attributes.<code>")
        } else if !ProfileSchema.isName(code) {
            validator.fail("code", "invalid_code", "code must be lower case letters, digits and _, starting with a letter, at most 40 characters")
        }
        let (type, rule) = checked(request, base: nil, into: &validator)
        let description = request.description.flatMap { $0.isEmpty ? nil : validator.text($0, field: "description", maxLength: 500) }
        guard validator.isValid, let type, let rule else { throw Problem.validation(validator.errors) }
        if try await sql.raw("SELECT code FROM profile_attributes WHERE tenant_id = \(bind: tenantID) AND code = \(bind: code)").first() != nil {
            throw Problem(.conflict, code: "attribute_exists", detail: "an attribute \(code) exists; change it with PATCH /v1/profile_attributes/\(code)")
        }
        let count = try await sql.raw("SELECT COUNT(*) AS n FROM profile_attributes WHERE tenant_id = \(bind: tenantID)").first()?.decode(column: "n", as: Int.self) ?? 0
        if count >= Self.maximumCount {
            throw Problem(.conflict, code: "too_many_attributes", detail: "a tenant has at most \(Self.maximumCount) computed attributes")
        }
        try await sql.raw("""
            INSERT INTO profile_attributes (tenant_id, code, type, rule, description, created_at, updated_at)
            VALUES (\(bind: tenantID), \(bind: code), \(bind: type), \(bind: rule), \(bind: description), \(bind: now), \(bind: now))
            """).run()
        return ProfileAttribute(code: code, type: type, rule: rule, description: description, createdAt: StoredTime(milliseconds: now),
                                updatedAt: StoredTime(milliseconds: now))
    }

    func update(on sql: any SQLDatabase, tenantID: String, code: String, _ request: ProfileAttributeRequest, now: Int64) async throws -> ProfileAttribute {
        guard let current = try await sql.raw("SELECT * FROM profile_attributes WHERE tenant_id = \(bind: tenantID) AND code = \(bind: code)")
            .row(ProfileAttribute.self) else { throw Problem.notFound("profile attribute") }
        var validator = Validator()
        if let given = request.code, given != code { validator.fail("code", "immutable", "an attribute's code does not change; segment rules name it") }
        let (type, rule) = checked(request, base: current, into: &validator)
        let description = request.description == nil ? current.description
            : request.description!.isEmpty ? nil : validator.text(request.description, field: "description", maxLength: 500)
        guard validator.isValid, let type, let rule else { throw Problem.validation(validator.errors) }
        try await sql.raw("""
            UPDATE profile_attributes SET type = \(bind: type), rule = \(bind: rule), description = \(bind: description), updated_at = \(bind: now)
            WHERE tenant_id = \(bind: tenantID) AND code = \(bind: code)
            """).run()
        return ProfileAttribute(code: code, type: type, rule: rule, description: description, createdAt: current.createdAt, updatedAt: StoredTime(milliseconds: now))
    }

    /// The type and the rule's canonical text, checked against each other.
    private func checked(_ request: ProfileAttributeRequest, base: ProfileAttribute?, into validator: inout Validator) -> (String?, String?) {
        let type = request.type ?? base?.type
        guard let type, let ruleType = ProfileSchema.attributeTypes[type] else {
            validator.fail("type", type == nil ? "required" : "invalid_enum", "type must be one of: \(ProfileSchema.attributeTypes.keys.sorted().joined(separator: ", "))")
            return (nil, nil)
        }
        guard let source = request.rule ?? base?.rule else {
            validator.fail("rule", "required", "rule is required: what the attribute is, e.g. customer.lifetime_spend >= 500.00 EUR")
            return (type, nil)
        }
        return (type, PromotionTerms.rule(source, schema: Self.ruleSchema, type: ruleType, field: "rule", into: &validator))
    }
}
