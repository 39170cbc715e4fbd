import Foundation
import OmniaCore
import SQLKit

/// Records a chunk of a bulk import in a few statements instead of a dozen per sale: the chunk's
/// channels, external ids and customers are looked up once, its sales inserted with multi-row
/// statements and its customers' aggregates added in one upsert per table.
///
/// Every record gets exactly what `TransactionService.record` would give it, in file order, with
/// the same refusals decided before anything is written. What the shared lookups cannot answer
/// takes the per-record path at its place in the file: returns (they read the lines of a sale that
/// may be earlier in the same chunk, so the sales before them are written first), customers whose
/// identifiers are new or lead to several customers (`identify` creates, attaches or merges), and
/// an external id met again after such a record.
struct TransactionBatch: Sendable {
    let services: AppServices
    let caller: Caller
    let actor: Actor

    private var tenantID: String { caller.tenantID }

    /// A chunk's records read and checked on their own, needing no database: an import prepares
    /// the next chunk while the writer commits this one.
    struct Prepared: Sendable {
        /// The records refused already (unreadable, invalid), and how many were received.
        let report: ImportReport
        let items: [(line: Int, draft: TransactionDraft)]
    }

    func prepare(_ records: [ImportRecord]) throws -> Prepared {
        var report = ImportReport()
        report.received = records.count
        var items: [(line: Int, draft: TransactionDraft)] = []
        for record in records {
            do {
                if let problem = record.problem { throw problem }
                let request = try decodeJSONObject(RecordTransactionRequest.self, from: record.json)
                items.append((record.line, try services.transactions.validate(request, caller: caller)))
            } catch {
                try report.reject(error, line: record.line)
            }
        }
        return Prepared(report: report, items: items)
    }

    func record(on sql: any SQLDatabase, _ prepared: Prepared) async throws -> (ImportReport, [String]) {
        let transactions = services.transactions
        var report = prepared.report
        let items = prepared.items

        // 1. Channels and locations, once per distinct pair named.
        var places: [String: Result<(channelID: String, locationID: String?), any Error>] = [:]
        for (_, draft) in items where places[Self.placeKey(draft)] == nil {
            do {
                places[Self.placeKey(draft)] = .success(try await transactions.place(of: draft, on: sql, caller: caller))
            } catch {
                places[Self.placeKey(draft)] = .failure(error)
            }
        }

        // 2. Sales already recorded under the chunk's external ids, one query per channel.
        var externalIDs: [String: [String]] = [:]
        for (_, draft) in items {
            if case .success(let place) = places[Self.placeKey(draft)] { externalIDs[place.channelID, default: []].append(draft.externalID) }
        }
        var known: [String: (id: String, contentHash: String)] = [:]
        let store = TransactionStore(tenantID: tenantID)
        for (channelID, ids) in externalIDs {
            for (externalID, found) in try await store.existing(on: sql, channelID: channelID, externalIDs: ids) {
                known[Self.externalKey(channelID, externalID)] = found
            }
        }

        // 3. The customers the sales name: by id, or by identifiers all already known.
        let customers = CustomerStore(tenantID: tenantID)
        let sales = items.filter { $0.draft.kind == .sale }
        let canonical = try await customers.canonicalIDs(on: sql, Set(sales.compactMap { $0.draft.customerID }
            .filter { IDGenerator.isWellFormed($0, prefix: .customer) }))
        // The same locks a single sale or return takes, all at once and in one order (PostgreSQL).
        let identifiers = Set(items.filter { $0.draft.customerID == nil }.flatMap(\.draft.identifiers))
        try await customers.lockIdentifiers(on: sql, dialect: services.database.dialect, Array(identifiers))
        var matches = try await customers.matches(on: sql, distinct: identifiers)

        // 4. Each record in file order; sales wait in `pending` until a return needs them written.
        var pending: [(row: TransactionRow, lines: [TransactionLine])] = []
        var deltas: [String: CustomerStatsDelta] = [:]
        var created: [String] = []
        /// External ids recorded by the per-record path in this chunk: met again, they take it too.
        var recordedOneByOne = Set<String>()
        /// Set once a merge may have moved customers the chunk's lookups had found.
        var matchesStale = false

        func flush() async throws {
            try await store.insert(on: sql, pending)
            pending.removeAll(keepingCapacity: true)
        }

        for (line, draft) in items {
            do {
                let place = try places[Self.placeKey(draft)]!.get()
                let key = Self.externalKey(place.channelID, draft.externalID)
                if draft.kind == .return || recordedOneByOne.contains(key) {
                    try await flush()
                    recordedOneByOne.insert(key)
                    let recorded = try await transactions.record(on: sql, caller: caller, draft: draft, actor: actor, emitEvents: false)
                    if recorded.created { created.append(recorded.transaction.id) } else { report.matched += 1 }
                    continue
                }
                let contentHash = try draft.contentHash(channelID: place.channelID, locationID: place.locationID)
                if let existing = known[key] {
                    guard existing.contentHash == contentHash else {
                        throw TransactionError.externalIDTaken(externalID: draft.externalID, transactionID: existing.id)
                    }
                    report.matched += 1
                    continue
                }
                let plan = try transactions.salePlan(draft)
                var customerID: String?
                if let id = draft.customerID {
                    let root = matchesStale ? try await customers.resolvedRow(on: sql, id: id)?.id : canonical[id]
                    guard let root else { throw IdentityService.unknownCustomer(field: "customer.id") }
                    customerID = root
                } else if !draft.identifiers.isEmpty {
                    if !matchesStale, case .attach(let id, let new) = IdentityResolution.resolve(
                        draft.identifiers, matches: draft.identifiers.compactMap { matches[$0] }, policy: caller.identityPolicy), new.isEmpty {
                        customerID = id
                    } else {
                        let result = try await services.identity.identify(
                            on: sql, tenantID: tenantID, policy: caller.identityPolicy, identifiers: draft.identifiers, traits: .empty,
                            channelID: place.channelID, actor: actor)
                        customerID = result.customer.id
                        if !result.merged.isEmpty { matchesStale = true }
                        for identifier in draft.identifiers {
                            matches[identifier] = IdentifierMatch(identifier: identifier, holderID: result.customer.id, canonicalID: result.customer.id)
                        }
                    }
                }
                let row = try transactions.makeRow(draft, plan: plan, tenantID: tenantID, channelID: place.channelID, locationID: place.locationID,
                                                   customerID: customerID, contentHash: contentHash)
                pending.append((row, plan.lines))
                known[key] = (row.id, contentHash)
                created.append(row.id)
                if let customerID { deltas[customerID, default: CustomerStatsDelta()].add(row, lines: plan.lines) }
            } catch {
                try report.reject(error, line: line)
            }
        }
        try await flush()
        try await CustomerStatsStore(tenantID: tenantID, dialect: services.database.dialect).record(on: sql, deltas)
        report.created = created.count
        report.rejections.sort { $0.line < $1.line }
        return (report, created)
    }

    private static func placeKey(_ draft: TransactionDraft) -> String { "\(draft.channel ?? "")\u{1F}\(draft.location ?? "")" }

    private static func externalKey(_ channelID: String, _ externalID: String) -> String { "\(channelID)\u{1F}\(externalID)" }
}
