import HTTPTypes
import OmniaCore
import SQLKit

/// What the `omnia` command line does to tenants and keys, as whole operations (audited as `cli`).
public struct OperatorTools: Sendable {
    let services: AppServices

    public init(services: AppServices) {
        self.services = services
    }

    public func createTenant(name: String, currency: String, timezone: String, country: String?) async throws -> (Tenant, CreatedAPIKey) {
        try await services.platform.createTenant(name: name, currency: currency, timezone: timezone, country: country)
    }

    /// Creates a key; `channel` may be a channel id or code.
    public func createKey(tenant: String, name: String?, scopes: [String], channel: String?, location: String?) async throws -> CreatedAPIKey {
        let tenantID = try await resolveTenantID(tenant)
        let platform = services.platform
        return try await services.database.transaction { sql in
            var channelID: String?
            if let channel {
                guard let row = try await platform.resolveChannel(on: sql, tenantID: tenantID, channel) else {
                    throw Problem.validation([FieldError(field: "channel", code: "unknown_channel", detail: "no channel '\(channel)' in this tenant")])
                }
                channelID = row.id
            }
            let request = CreateAPIKeyRequest(name: name ?? "Key for \(scopes.joined(separator: ", "))", scopes: scopes,
                                              channelId: channelID, locationId: location)
            return try await platform.createAPIKey(on: sql, tenantID: tenantID, request, actor: .cli).created
        }
    }

    public func revokeKey(tenant: String, keyID: String) async throws {
        let tenantID = try await resolveTenantID(tenant)
        let platform = services.platform
        _ = try await services.database.transaction { sql in
            try await platform.revokeAPIKey(on: sql, tenantID: tenantID, keyID: keyID, actor: .cli)
        }
    }

    /// What `omnia import` loads.
    public enum ImportKind: String, Sendable, CaseIterable {
        case transactions
        case customers
    }

    /// Imports an NDJSON or CSV file into a tenant, reporting progress after each chunk.
    public func importFile(_ kind: ImportKind, path: String, format: ImportFormat, tenant: String, atomic: Bool,
                           progress: @escaping @Sendable (ImportReport) -> Void) async throws -> ImportReport {
        let tenantID = try await resolveTenantID(tenant)
        let caller = try await services.database.read { sql in try await Caller.operatorCaller(tenantID: tenantID, on: sql) }
        let importer = BulkImport(services: services)
        switch kind {
        case .transactions:
            let reader = ImportRecordReader(format: format, lines: try .file(path), mapRow: TransactionImport.csvMapper(policy: caller.identityPolicy))
            let transactions = TransactionImport(services: services, caller: caller, actor: .cli)
            let batch = transactions.batch
            let directory = try await batch.directory()
            let report = try await importer.run(reader, atomic: atomic, progress: progress, prepare: { try await batch.prepare($0, directory: directory) },
                                                apply: { sql, prepared in try await batch.record(on: sql, prepared) }, finish: transactions.finish)
            await services.database.refreshPlannerStatistics(["transactions", "transaction_lines", "customers", "customer_identifiers",
                                                              "customer_channel_stats", "customer_categories", "customer_location_stats"],
                                                             vacuum: true, logger: services.logger)
            return report
        case .customers:
            let reader = ImportRecordReader(format: format, lines: try .file(path), mapRow: CustomerImport.csvMapper(policy: caller.identityPolicy))
            let customers = CustomerImport(services: services, caller: caller)
            let report = try await importer.run(reader, atomic: atomic, progress: progress, apply: BulkImport.perRecord(customers.apply), finish: customers.finish)
            await services.database.refreshPlannerStatistics(["customers", "customer_identifiers", "customer_merges"], logger: services.logger)
            return report
        }
    }

    /// A tenant id (`ten_…`) or an exact tenant name.
    func resolveTenantID(_ reference: String) async throws -> String {
        if reference.hasPrefix("ten_"), try await services.platform.fetchTenant(reference) != nil { return reference }
        if let tenant = try await services.platform.findTenant(named: reference) { return tenant.id }
        throw Problem(.notFound, code: "not_found", detail: "no tenant '\(reference)'")
    }
}
