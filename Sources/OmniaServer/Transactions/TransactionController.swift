import Foundation
import Hummingbird
import OmniaCore

/// Sales and returns from every channel, and claiming anonymous receipts.
///
/// | route | scope |
/// | --- | --- |
/// | `POST /v1/transactions` (201 recorded, 200 a retry of the same external id) | pos, ecommerce, service |
/// | `GET /v1/transactions/{id}` | pos, ecommerce, service, analytics:read |
/// | `GET /v1/customers/{id}/transactions` (newest first, `?channel_id=`) | pos, ecommerce, service, analytics:read |
/// | `POST /v1/transactions/bulk` (NDJSON, up to 10,000; `?atomic=true`) | pos, ecommerce, service |
/// | `POST /v1/receipts/claim` | pos, ecommerce, service |
struct TransactionController {
    let services: AppServices

    /// A single sale's route, whose `Idempotency-Key` the handler claims itself: a sale written in a
    /// group writes its key completed with it, in the group's transaction (PostgreSQL).
    static let singleSalePath = "/v1/transactions"

    func addRoutes(to routes: Routes) {
        let transactions = TransactionService(services: services)
        routes.post("transactions", scopes: CustomerController.writeScopes) { request, context, caller in
            let body = try await request.decode(RecordTransactionRequest.self, maxBytes: services.config.maxBodyBytes)
            let draft = try transactions.validate(body, caller: caller)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            let alone: @Sendable () async throws -> Response = {
                try await context.claimingIdempotencyKey { context in
                    try await services.mutation(context, status: { $0.created ? .created : .ok }) { sql in
                        try await transactions.record(on: sql, caller: caller, draft: draft, actor: actor)
                    }
                }
            }
            // Returns read the sale they take back, which a group's earlier sale may be: they go alone.
            guard draft.kind == .sale else { return try await alone() }
            return try await services.saleGroups.record(.init(caller: caller, draft: draft, actor: actor, claim: context.idempotencyClaim,
                                                              unclaimedKey: context.unclaimedIdempotencyKey, services: services),
                                                        ordinary: alone)
        }
        routes.post("transactions/bulk", scopes: CustomerController.writeScopes) { request, context, caller in
            let (records, atomic) = try await Self.bulkRecords(&request, maxBytes: services.config.bodyLimit(path: request.uri.path))
            let importer = TransactionImport(services: services, caller: caller, actor: Actor(id: caller.keyID, requestID: context.requestID))
            // Read and checked before the database transaction, off the writer.
            let prepared = try await importer.batch.prepare(records, directory: try await importer.batch.directory())
            return try await services.mutation(context, status: .ok) { sql in
                let (report, ids) = try await importer.batch.record(on: sql, prepared)
                if atomic && report.rejected > 0 {
                    throw Problem(.unprocessableContent, code: "import_rejected",
                                  detail: "\(report.rejected) of \(report.received) records were rejected; with atomic=true nothing was recorded",
                                  extensions: ["report": try JSONCoding.decoder.decode(JSONValue.self, from: JSONCoding.encode(report.refused()))])
                }
                try await importer.finish(sql, ids)
                return report
            }
        }
        routes.get("transactions/:id", scopes: CustomerController.readScopes) { request, context, caller in
            let id = try request.id("id", .transaction, context: context, what: "transaction")
            let transaction = try await services.database.read { sql in
                let store = TransactionStore(tenantID: caller.tenantID)
                return try await store.row(on: sql, id: id).asyncMap { try await store.views(on: sql, [$0])[0] }
            }
            guard let transaction else { throw Problem.notFound("transaction") }
            return try JSONResponse.make(transaction)
        }
        routes.get("customers/:id/transactions", scopes: CustomerController.readScopes) { request, context, caller in
            let id = try request.id("id", .customer, context: context, what: "customer")
            let page = try PageRequest(request)
            let channelID = request.uri.queryParameters["channel_id"].map(String.init)
            if let channelID, !IDGenerator.isWellFormed(channelID, prefix: .channel) {
                throw Problem.validation([FieldError(field: "channel_id", code: "unknown_channel", detail: "channel_id does not name a channel of this tenant")])
            }
            let transactions = try await services.database.read { sql in
                guard let root = try await CustomerStore(tenantID: caller.tenantID).resolvedRow(on: sql, id: id) else { throw Problem.notFound("customer") }
                let store = TransactionStore(tenantID: caller.tenantID)
                return try await store.views(on: sql, store.page(on: sql, customerID: root.id, channelID: channelID, page: page))
            }
            return try JSONResponse.make(page.page(transactions, id: \.id))
        }
        routes.post("receipts/claim", scopes: CustomerController.writeScopes) { request, context, caller in
            let body = try await request.decode(ClaimReceiptRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context, status: .ok) { sql in
                try await transactions.claim(on: sql, caller: caller, body, actor: actor)
            }
        }
    }
}

extension TransactionController {
    /// An NDJSON body's records (at most `TransactionImport.maximumRecords`) and `?atomic=`.
    static func bulkRecords(_ request: inout Request, maxBytes: Int) async throws -> ([ImportRecord], Bool) {
        let contentType = request.headers[.contentType]?.split(separator: ";").first?.trimmingWhitespace().lowercased()
        guard contentType == "application/x-ndjson" || contentType == "application/jsonl" else {
            throw Problem(.unsupportedMediaType, code: "unsupported_media_type",
                          detail: "send one JSON object per line as application/x-ndjson (got \(contentType ?? "no Content-Type"))")
        }
        var atomic = false
        if let value = request.uri.queryParameters["atomic"] {
            guard value == "true" || value == "false" else {
                throw Problem.validation([FieldError(field: "atomic", code: "invalid_value", detail: "atomic must be true or false")])
            }
            atomic = value == "true"
        }
        let body = try await request.collectBody(upTo: maxBytes)
        let reader = ImportRecordReader(format: .ndjson, lines: .bytes(Array(body.readableBytesView)), mapRow: { _ in [:] })
        var records: [ImportRecord] = []
        while let record = try reader.next() {
            records.append(record)
            guard records.count <= TransactionImport.maximumRecords else {
                throw Problem(.contentTooLarge, code: "too_many_records", detail: "at most \(TransactionImport.maximumRecords) records per call")
            }
        }
        guard !records.isEmpty else { throw Problem.validation([FieldError(field: "", code: "required", detail: "the body holds no records")]) }
        return (records, atomic)
    }
}

extension Optional {
    /// `map` with an asynchronous transform.
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
