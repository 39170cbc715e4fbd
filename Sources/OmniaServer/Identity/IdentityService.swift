import Foundation
import OmniaCore
import SQLKit

/// Customers and identity resolution: create, update, identify, merge and unmerge, with events and
/// audit written in the caller's transaction. Shared by the API and the command-line imports.
struct IdentityService: Sendable {
    let services: AppServices

    private var dialect: SQLDialectKind { services.database.dialect }

    // MARK: Reads

    /// The customer `id` resolves to, with `merged_into` set when `id` itself was merged away.
    func customer(on sql: any SQLDatabase, tenantID: String, id: String) async throws -> Customer? {
        let store = CustomerStore(tenantID: tenantID)
        guard let root = try await store.resolvedRow(on: sql, id: id) else { return nil }
        return try await store.views(on: sql, [root], redirectedFrom: id).first
    }

    func page(on sql: any SQLDatabase, tenantID: String, query: String?, policy: IdentityPolicy, page: PageRequest) async throws -> [Customer] {
        let store = CustomerStore(tenantID: tenantID)
        let rows = try await store.page(on: sql, query: query, defaultCountry: policy.defaultCountry, page: page)
        return try await store.views(on: sql, rows)
    }

    // MARK: Create and update

    func create(on sql: any SQLDatabase, tenantID: String, policy: IdentityPolicy, _ request: CreateCustomerRequest, actor: Actor) async throws -> Customer {
        var validator = Validator()
        let profile = CustomerValidation.profile(request.profile, now: services.now(), into: &validator)
        let identifiers = CustomerValidation.identifiers(request.identifiers, field: "identifiers", policy: policy, into: &validator)
        try await checkChannel(on: sql, tenantID: tenantID, request.channelId, into: &validator)
        guard validator.isValid else { throw Problem.validation(validator.errors) }

        let store = CustomerStore(tenantID: tenantID)
        try await store.lockIdentifiers(on: sql, dialect: dialect, identifiers)
        if let taken = try await store.matches(on: sql, identifiers).first {
            throw IdentityError.identifierTaken(taken.identifier, customerID: taken.canonicalID, field: field(of: taken.identifier, in: identifiers, "identifiers"))
        }
        let customer = try await insertCustomer(on: sql, store: store, profile: profile, identifiers: identifiers, channelID: request.channelId)
        try await services.events.append(on: sql, tenantID: tenantID, type: "customer.created", data: customer, requestID: actor.requestID)
        return customer
    }

    func update(on sql: any SQLDatabase, tenantID: String, policy: IdentityPolicy, id: String, _ request: UpdateCustomerRequest, actor: Actor) async throws -> Customer {
        let store = CustomerStore(tenantID: tenantID)
        guard let root = try await store.resolvedRow(on: sql, id: id) else { throw Problem.notFound("customer") }
        var validator = Validator()
        var profile = root.profile
        for (column, path) in CustomerProfile.textFields {
            switch request.textFields[column] ?? .unchanged {
            case .unchanged: break
            case .clear: profile[keyPath: path] = nil
            case .set(let value): profile[keyPath: path] = CustomerValidation.text(value, column: column, field: column, now: services.now(), into: &validator)
            }
        }
        if let attributes = request.attributes {
            profile = profile.applying(CustomerProfile(attributes: attributes))
            _ = CustomerValidation.attributes(profile.attributes, field: "attributes", into: &validator)
        }
        let added = CustomerValidation.identifiers(request.addIdentifiers, field: "add_identifiers", policy: policy, into: &validator)
        let removed = CustomerValidation.identifiers(request.removeIdentifiers, field: "remove_identifiers", policy: policy, into: &validator)
        try await checkChannel(on: sql, tenantID: tenantID, request.channelId, into: &validator)
        guard validator.isValid else { throw Problem.validation(validator.errors) }

        try await store.lockIdentifiers(on: sql, dialect: dialect, added + removed)
        let matches = try await store.matches(on: sql, added + removed)
        for identifier in added {
            if let match = matches.first(where: { $0.identifier == identifier }), match.canonicalID != root.id {
                throw IdentityError.identifierTaken(identifier, customerID: match.canonicalID, field: field(of: identifier, in: added, "add_identifiers"))
            }
        }
        for (index, identifier) in removed.enumerated() where !matches.contains(where: { $0.identifier == identifier && $0.canonicalID == root.id }) {
            validator.fail("remove_identifiers[\(index)]", "not_held", "customer \(root.id) does not hold \(identifier.kind) '\(identifier.value)'")
        }
        guard validator.isValid else { throw Problem.validation(validator.errors) }

        let now = services.nowMilliseconds
        let known = Set(matches.map(\.identifier))
        try await store.attach(on: sql, added.filter { !known.contains($0) }, to: root.id, channelID: request.channelId, now: now)
        try await store.detach(on: sql, removed)
        try await store.updateProfile(on: sql, id: root.id, profile: profile, now: now)
        guard let customer = try await self.customer(on: sql, tenantID: tenantID, id: root.id) else { throw Problem.notFound("customer") }
        try await services.events.append(on: sql, tenantID: tenantID, type: "customer.updated", data: customer, requestID: actor.requestID)
        return customer
    }

    // MARK: Identify

    /// Finds the customer behind a set of identifiers — creating one when none is known, attaching
    /// the unknown identifiers, and merging the customers they lead to when the policy allows.
    func identify(on sql: any SQLDatabase, tenantID: String, policy: IdentityPolicy, _ request: IdentifyRequest, actor: Actor) async throws -> IdentifyResult {
        let (identifiers, traits) = try await validate(request, on: sql, tenantID: tenantID, policy: policy)
        var result = try await identify(on: sql, tenantID: tenantID, policy: policy, identifiers: identifiers, traits: traits,
                                        channelID: request.channelId, actor: actor)
        if let anonymousID = request.anonymousId?.trimmingWhitespace(), !anonymousID.isEmpty {
            result.stitchedEvents = try await JourneyService(services: services).stitch(on: sql, tenantID: tenantID, anonymousID: anonymousID,
                                                                                         customerID: result.customer.id)
        }
        return result
    }

    /// The customer a request names — by id, as it resolves after merges (an unknown id is a
    /// validation error on `field`), or by identifiers, as `identify` finds or creates it — or nil
    /// when it names neither. Shared by sales, receipt claims and journey events.
    func namedCustomer(on sql: any SQLDatabase, tenantID: String, policy: IdentityPolicy, id: String?, identifiers: [NormalizedIdentifier],
                       field: String, channelID: String?, actor: Actor) async throws -> String? {
        if let id {
            guard IDGenerator.isWellFormed(id, prefix: .customer), let root = try await CustomerStore(tenantID: tenantID).resolvedRow(on: sql, id: id) else {
                throw Self.unknownCustomer(field: field)
            }
            return root.id
        }
        guard !identifiers.isEmpty else { return nil }
        return try await customerID(on: sql, tenantID: tenantID, policy: policy, identifiers: identifiers, channelID: channelID, actor: actor)
    }

    static func unknownCustomer(field: String) -> Problem {
        Problem.validation([FieldError(field: field, code: "unknown_customer", detail: "\(field) does not name a customer of this tenant")])
    }

    /// The id of the customer `identifiers` identify, as `identify` would find, create, attach or
    /// merge — but a returning customer whose identifiers are all known already costs one lookup and
    /// no customer view (the common case of a sale at a till).
    func customerID(on sql: any SQLDatabase, tenantID: String, policy: IdentityPolicy, identifiers: [NormalizedIdentifier],
                    channelID: String?, actor: Actor) async throws -> String {
        let store = CustomerStore(tenantID: tenantID)
        // No lock when every identifier is known and leads to one customer: nothing is created or
        // attached, and a merge committing meanwhile leaves the sale on a member of the merged
        // cluster, which every read gathers. (On PostgreSQL the read may then run before BEGIN.)
        let known = try await store.matches(on: sql, identifiers, independent: true)
        if case .attach(let customerID, let newIdentifiers) = IdentityResolution.resolve(identifiers, matches: known, policy: policy),
           newIdentifiers.isEmpty {
            return customerID
        }
        return try await identify(on: sql, tenantID: tenantID, policy: policy, identifiers: identifiers, traits: .empty, channelID: channelID,
                                  actor: actor).customer.id
    }

    /// Identify with identifiers already normalized (and a channel already checked): shared with
    /// sales that name their customer by identifiers, and with receipt claims.
    func identify(on sql: any SQLDatabase, tenantID: String, policy: IdentityPolicy, identifiers: [NormalizedIdentifier], traits: CustomerProfile,
                  channelID: String?, actor: Actor) async throws -> IdentifyResult {
        let store = CustomerStore(tenantID: tenantID)
        try await store.lockIdentifiers(on: sql, dialect: dialect, identifiers)
        let matches = try await store.matches(on: sql, identifiers)
        switch IdentityResolution.resolve(identifiers, matches: matches, policy: policy) {
        case .create(let identifiers):
            let customer = try await insertCustomer(on: sql, store: store, profile: CustomerProfile.empty.applying(traits), identifiers: identifiers,
                                                    channelID: channelID)
            try await services.events.append(on: sql, tenantID: tenantID, type: "customer.created", data: customer, requestID: actor.requestID)
            return IdentifyResult(customer: customer, created: true, attached: identifiers, merged: [])
        case .attach(let customerID, let newIdentifiers):
            let customer = try await attach(on: sql, store: store, customerID: customerID, newIdentifiers: newIdentifiers, traits: traits,
                                            channelID: channelID, merged: false, actor: actor)
            return IdentifyResult(customer: customer, created: false, attached: newIdentifiers, merged: [])
        case .merge(let survivorID, let mergedIDs, let linking, let newIdentifiers):
            try await store.lockRoots(on: sql, dialect: dialect, [survivorID] + mergedIDs)
            // The roots are still roots, but an unmerge may have moved an identifier's holder to another cluster meanwhile.
            if dialect == .postgres, try await store.matches(on: sql, identifiers).map(\.canonicalID).sorted() != matches.map(\.canonicalID).sorted() {
                throw IdentityRaceLost()
            }
            let reason = "identify: shared " + Set(linking.map(\.kind)).sorted().joined(separator: ", ")
            for mergedID in mergedIDs {
                try await merge(on: sql, store: store, survivorID: survivorID, mergedID: mergedID, reason: reason, identifiers: linking,
                                channelID: channelID, actor: actor)
            }
            let customer = try await attach(on: sql, store: store, customerID: survivorID, newIdentifiers: newIdentifiers, traits: traits,
                                            channelID: channelID, merged: true, actor: actor)
            return IdentifyResult(customer: customer, created: false, attached: newIdentifiers, merged: mergedIDs)
        case .forbidden(let customerIDs, let weak):
            throw IdentityError.mergeForbidden(customerIDs: customerIDs, weakIdentifiers: weak)
        }
    }

    private func validate(_ request: IdentifyRequest, on sql: any SQLDatabase, tenantID: String,
                          policy: IdentityPolicy) async throws -> (identifiers: [NormalizedIdentifier], traits: CustomerProfile) {
        var validator = Validator()
        let identifiers = CustomerValidation.identifiers(request.identifiers, field: "identifiers", policy: policy, into: &validator)
        if request.identifiers?.isEmpty ?? true { validator.fail("identifiers", "required", "identify needs at least one identifier") }
        let traits = CustomerValidation.profile(request.traits, field: "traits.", now: services.now(), into: &validator)
        validator.text(request.anonymousId, field: "anonymous_id", required: false, maxLength: 100)
        try await checkChannel(on: sql, tenantID: tenantID, request.channelId, into: &validator)
        guard validator.isValid else { throw Problem.validation(validator.errors) }
        return (identifiers, traits)
    }

    /// Attaches new identifiers and applies traits to an existing customer; writes nothing when
    /// nothing changes (the common case of a returning customer), so a repeat identify is a read.
    private func attach(on sql: any SQLDatabase, store: CustomerStore, customerID: String, newIdentifiers: [NormalizedIdentifier],
                        traits: CustomerProfile, channelID: String?, merged: Bool, actor: Actor) async throws -> Customer {
        guard let root = try await store.row(on: sql, id: customerID) else { throw IdentityRaceLost() }
        let profile = root.profile.applying(traits)
        let now = services.nowMilliseconds
        try await store.attach(on: sql, newIdentifiers, to: customerID, channelID: channelID, now: now)
        let profileChanged = profile != root.profile
        if profileChanged { try await store.updateProfile(on: sql, id: customerID, profile: profile, now: now) }
        guard var customer = try await store.views(on: sql, [root]).first else { throw IdentityRaceLost() }
        if profileChanged {
            customer = Customer(id: customer.id, profile: profile, identifiers: customer.identifiers, mergedIds: customer.mergedIds,
                                mergedInto: nil, createdAt: customer.createdAt, updatedAt: StoredTime(milliseconds: now))
        }
        if profileChanged || !newIdentifiers.isEmpty || merged {
            try await services.events.append(on: sql, tenantID: store.tenantID, type: "customer.updated", data: customer, requestID: actor.requestID)
        }
        return customer
    }

    // MARK: Merge and unmerge

    /// Merges `mergedID` (and everything already merged into it) into `survivorID` (both roots,
    /// locked by the caller). Nothing is rewritten but `canonical_id`; the survivor's empty profile
    /// fields are filled from the merged customer, and the record says which, for unmerge.
    @discardableResult
    func merge(on sql: any SQLDatabase, store: CustomerStore, survivorID: String, mergedID: String, reason: String,
               identifiers: [NormalizedIdentifier], channelID: String?, actor: Actor) async throws -> CustomerMerge {
        guard let survivor = try await store.row(on: sql, id: survivorID), let merged = try await store.row(on: sql, id: mergedID) else {
            throw IdentityRaceLost()
        }
        let tenantID = store.tenantID
        let now = services.nowMilliseconds
        try await sql.raw("""
            UPDATE customers SET canonical_id = \(bind: survivorID) WHERE tenant_id = \(bind: tenantID) AND canonical_id = \(bind: mergedID)
            """).run()
        try await sql.raw("""
            UPDATE customers SET merged_into = \(bind: survivorID), updated_at = \(bind: now) WHERE tenant_id = \(bind: tenantID) AND id = \(bind: mergedID)
            """).run()

        var profile = survivor.profile
        var filled: [String: JSONValue] = [:]
        for (column, path) in CustomerProfile.textFields where profile[keyPath: path] == nil {
            if let value = merged.profile[keyPath: path] {
                profile[keyPath: path] = value
                filled[column] = .string(value)
            }
        }
        var filledAttributes: [String: JSONValue] = [:]
        for (name, value) in merged.profile.attributes where profile.attributes[name] == nil {
            profile.attributes[name] = value
            filledAttributes[name] = value
        }
        if !filledAttributes.isEmpty { filled["attributes"] = .object(filledAttributes) }
        if !filled.isEmpty { try await store.updateProfile(on: sql, id: survivorID, profile: profile, now: now) }

        let record = CustomerMerge(
            id: services.ids.make(.customerMerge), survivorId: survivorID, mergedId: mergedID, reason: reason,
            identifiers: StoredJSON(.array(identifiers.map { .object(["kind": .string($0.kind), "value": .string($0.value)]) })),
            filledFields: StoredJSON(.object(filled)), actor: actor.id, channelId: channelID, requestId: actor.requestID,
            createdAt: StoredTime(milliseconds: now), unmergedAt: nil, unmergedBy: nil)
        try await sql.runDeferrable("""
            INSERT INTO customer_merges (tenant_id, id, survivor_id, merged_id, reason, identifiers, filled_fields, actor, channel_id, request_id, created_at)
            VALUES (\(bind: tenantID), \(bind: record.id), \(bind: survivorID), \(bind: mergedID), \(bind: reason),
                    \(bind: try JSONCoding.text(record.identifiers)), \(bind: try JSONCoding.text(record.filledFields)), \(bind: actor.id),
                    \(bind: channelID), \(bind: actor.requestID), \(bind: now))
            """)
        try await LoyaltyService(services: services).merge(on: sql, tenantID: tenantID, survivorID: survivorID, mergedID: mergedID, mergeID: record.id,
                                                           requestID: actor.requestID)
        try await services.events.append(on: sql, tenantID: tenantID, type: "customer.merged", data: record, requestID: actor.requestID)
        try await services.audit.record(on: sql, tenantID: tenantID, actor: actor.id, action: "customer.merge", targetType: "customer",
                                        targetID: survivorID, details: ["merged_id": .string(mergedID), "merge_id": .string(record.id),
                                                                        "reason": .string(reason)], requestID: actor.requestID)
        return record
    }

    /// Merges the customer `otherID` resolves to into the one `id` resolves to, on an agent's decision.
    func mergeManually(on sql: any SQLDatabase, tenantID: String, id: String, _ request: MergeCustomersRequest, actor: Actor) async throws -> Customer {
        var validator = Validator()
        let reason = validator.text(request.reason, field: "reason", required: false, maxLength: 500)
        if request.customerId == nil { validator.fail("customer_id", "required", "customer_id is required") }
        guard validator.isValid, let otherID = request.customerId else { throw Problem.validation(validator.errors) }
        let store = CustomerStore(tenantID: tenantID)
        guard let survivor = try await store.resolvedRow(on: sql, id: id) else { throw Problem.notFound("customer") }
        guard IDGenerator.isWellFormed(otherID, prefix: .customer), let merged = try await store.resolvedRow(on: sql, id: otherID) else {
            throw Problem.validation([FieldError(field: "customer_id", code: "unknown_customer", detail: "customer_id does not name a customer of this tenant")])
        }
        guard survivor.id != merged.id else { throw IdentityError.alreadyOneCustomer(survivor.id) }
        try await store.lockRoots(on: sql, dialect: dialect, [survivor.id, merged.id])
        try await merge(on: sql, store: store, survivorID: survivor.id, mergedID: merged.id, reason: "manual: " + (reason ?? "merged by an agent"),
                        identifiers: [], channelID: nil, actor: actor)
        guard let customer = try await self.customer(on: sql, tenantID: tenantID, id: survivor.id) else { throw IdentityRaceLost() }
        return customer
    }

    /// Undoes the merge that absorbed `id`: it and every customer merged into it since resolve to it
    /// again, with their identifiers and history; fields the merge filled on the survivor are cleared
    /// if nobody has changed them since.
    func unmerge(on sql: any SQLDatabase, tenantID: String, id: String, actor: Actor) async throws -> Customer {
        let store = CustomerStore(tenantID: tenantID)
        guard let row = try await store.row(on: sql, id: id) else { throw Problem.notFound("customer") }
        guard row.mergedInto != nil else { throw IdentityError.notMerged(id) }
        try await store.lockRoots(on: sql, dialect: dialect, [row.canonicalId])
        // A concurrent unmerge may have moved `id` to another cluster between the read and the lock.
        guard try await store.row(on: sql, id: id)?.canonicalId == row.canonicalId else { throw IdentityRaceLost() }
        guard let record = try await sql.raw("""
            SELECT * FROM customer_merges WHERE tenant_id = \(bind: tenantID) AND merged_id = \(bind: id) AND unmerged_at IS NULL
            ORDER BY id DESC LIMIT 1
            """).row(CustomerMerge.self) else { throw IdentityError.notMerged(id) }

        // The part of the survivor's cluster that hangs below `id` in the merge tree goes back to `id`.
        let members = try await sql.raw("""
            SELECT id, merged_into FROM customers WHERE tenant_id = \(bind: tenantID) AND canonical_id = \(bind: row.canonicalId)
            """).all().map { (id: try $0.decode(column: "id", as: String.self), parent: try $0.decode(column: "merged_into", as: String?.self)) }
        let parents = Dictionary(members.map { ($0.id, $0.parent) }, uniquingKeysWith: { first, _ in first })
        let subtree = members.map(\.id).filter { member in
            var current: String? = member
            for _ in 0...members.count {
                guard let node = current else { return false }
                if node == id { return true }
                current = parents[node] ?? nil
            }
            return false
        }
        guard !subtree.isEmpty else { throw IdentityRaceLost() }
        let now = services.nowMilliseconds
        try await sql.raw("""
            UPDATE customers SET canonical_id = \(bind: id) WHERE tenant_id = \(bind: tenantID) AND id IN (\(binds: subtree))
            """).run()
        try await sql.raw("""
            UPDATE customers SET merged_into = NULL, updated_at = \(bind: now) WHERE tenant_id = \(bind: tenantID) AND id = \(bind: id)
            """).run()
        if case .object(let filled) = record.filledFields.value, !filled.isEmpty, let survivor = try await store.row(on: sql, id: record.survivorId) {
            var profile = survivor.profile
            for (column, path) in CustomerProfile.textFields where filled[column] != nil && filled[column] == profile[keyPath: path].map(JSONValue.string) {
                profile[keyPath: path] = nil
            }
            if case .object(let attributes)? = filled["attributes"] {
                for (name, value) in attributes where profile.attributes[name] == value { profile.attributes[name] = nil }
            }
            if profile != survivor.profile { try await store.updateProfile(on: sql, id: survivor.id, profile: profile, now: now) }
        }
        try await LoyaltyService(services: services).unmerge(on: sql, tenantID: tenantID, mergeID: record.id, restoredIDs: subtree,
                                                             requestID: actor.requestID)
        try await sql.raw("""
            UPDATE customer_merges SET unmerged_at = \(bind: now), unmerged_by = \(bind: actor.id)
            WHERE tenant_id = \(bind: tenantID) AND id = \(bind: record.id)
            """).run()
        guard let customer = try await self.customer(on: sql, tenantID: tenantID, id: id) else { throw IdentityRaceLost() }
        let data: JSONValue = .object(["merge_id": .string(record.id), "survivor_id": .string(record.survivorId), "restored_id": .string(id),
                                       "restored_ids": .array(subtree.sorted().map(JSONValue.string))])
        try await services.events.append(on: sql, tenantID: tenantID, type: "customer.unmerged", data: data, requestID: actor.requestID)
        try await services.audit.record(on: sql, tenantID: tenantID, actor: actor.id, action: "customer.unmerge", targetType: "customer",
                                        targetID: id, details: ["merge_id": .string(record.id), "survivor_id": .string(record.survivorId)],
                                        requestID: actor.requestID)
        return customer
    }

    /// The merges a customer took part in (as survivor or as merged), newest first.
    func merges(on sql: any SQLDatabase, tenantID: String, id: String) async throws -> [CustomerMerge] {
        try await sql.raw("""
            SELECT * FROM customer_merges WHERE tenant_id = \(bind: tenantID) AND (survivor_id = \(bind: id) OR merged_id = \(bind: id))
            ORDER BY id DESC LIMIT 100
            """).rows(CustomerMerge.self)
    }

    // MARK: Helpers

    private func insertCustomer(on sql: any SQLDatabase, store: CustomerStore, profile: CustomerProfile, identifiers: [NormalizedIdentifier],
                                channelID: String?) async throws -> Customer {
        let id = services.ids.make(.customer)
        let now = services.nowMilliseconds
        try await store.insert(on: sql, id: id, profile: profile, now: now)
        try await store.attach(on: sql, identifiers, to: id, channelID: channelID, now: now)
        let created = StoredTime(milliseconds: now)
        return Customer(id: id, profile: profile,
                        identifiers: identifiers.map { CustomerIdentifier(kind: $0.kind, value: $0.value, channelId: channelID, createdAt: created) },
                        mergedIds: [], mergedInto: nil, createdAt: created, updatedAt: created)
    }

    private func checkChannel(on sql: any SQLDatabase, tenantID: String, _ channelID: String?, into validator: inout Validator) async throws {
        guard let channelID else { return }
        if try await !services.platform.exists(on: sql, table: "channels", prefix: .channel, tenantID: tenantID, id: channelID) { validator.fail("channel_id", "unknown_channel", "channel_id does not name a channel of this tenant") }
    }

    private func field(of identifier: NormalizedIdentifier, in list: [NormalizedIdentifier], _ name: String) -> String {
        list.firstIndex(of: identifier).map { "\(name)[\($0)]" } ?? name
    }
}
