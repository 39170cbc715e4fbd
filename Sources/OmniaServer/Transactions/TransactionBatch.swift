import Foundation
import OmniaCore
import SQLKit

/// Records a chunk of a bulk import in a few statements instead of a dozen per sale: the chunk's
/// channels, external ids and customers are looked up once, its sales inserted with multi-row
/// statements and its customers' aggregates added in one upsert per table.
///
/// Every record gets exactly what `TransactionService.record` would give it, in file order, with
/// the same refusals decided before anything is written. Most of a sale's own work — decoding,
/// checks, its channel from the import's `PlaceDirectory`, content hash, plan and row — is done
/// in `prepare`, on another thread while the writer commits the previous chunk. What the shared
/// lookups cannot answer takes the per-record path at its place in the file: returns (they read
/// the lines of a sale that may be earlier in the same chunk, so the sales before them are written
/// first), customers whose identifiers are new or lead to several customers (`identify` creates,
/// attaches or merges), and an external id met again after such a record.
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
        let items: [Item]
    }

    /// A class: the writer passes items around by the thousand, and a struct of this size is
    /// copied field by field (a retain per string and array).
    final class Item: Sendable {
        let line: Int
        let draft: TransactionDraft
        /// A sale whose channel and location the directory knew: what the writer would otherwise work out.
        let ready: ReadySale?
        /// Who records this item when it is not the batch's actor: each POST of a group of single
        /// sales (`SaleGroupCommit`) keeps its own request id in its audit entries and events.
        let actor: Actor?

        init(line: Int, draft: TransactionDraft, ready: ReadySale?, actor: Actor? = nil) {
            self.line = line
            self.draft = draft
            self.ready = ready
            self.actor = actor
        }
    }

    struct ReadySale: Sendable {
        let place: (channelID: String, locationID: String?)
        let contentHash: String
        /// The plan, or the refusal it raises — reported only after the external-id check, as a single POST does.
        let plan: Result<TransactionService.Plan, any Error>
        /// The row to insert, with its customer still to fill in; nil when the plan was refused.
        let row: TransactionRow?
    }

    /// The tenant's channels and locations, read once for a whole import. Neither can be changed
    /// or deleted, so what it finds stays true; a name it does not know (created meanwhile, or
    /// wrong) is left to the writer, which looks in the database.
    struct PlaceDirectory: Sendable {
        let channelsByID: [String: Channel]
        let channelsByCode: [String: Channel]
        let locationsByID: Set<String>
        let locationsByCode: [String: String]

        var lookup: TransactionService.PlaceLookup {
            TransactionService.PlaceLookup(
                channel: { reference in
                    if IDGenerator.isWellFormed(reference, prefix: .channel), let channel = channelsByID[reference] { return channel }
                    return channelsByCode[reference]
                },
                location: { reference in
                    IDGenerator.isWellFormed(reference, prefix: .location) ? (locationsByID.contains(reference) ? reference : nil) : locationsByCode[reference]
                })
        }
    }

    func directory() async throws -> PlaceDirectory {
        try await services.database.read { sql in
            let channels = try await sql.raw("SELECT * FROM channels WHERE tenant_id = \(bind: tenantID)").rows(Channel.self)
            let locations = try await sql.raw("SELECT id, code FROM locations WHERE tenant_id = \(bind: tenantID)").all()
            var locationsByCode: [String: String] = [:]
            var locationsByID = Set<String>()
            for row in locations {
                let id = try row.decode(column: "id", as: String.self)
                locationsByID.insert(id)
                if let code = try row.decode(column: "code", as: String?.self) { locationsByCode[code] = id }
            }
            return PlaceDirectory(channelsByID: Dictionary(channels.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first }),
                                  channelsByCode: Dictionary(channels.map { ($0.code, $0) }, uniquingKeysWith: { first, _ in first }),
                                  locationsByID: locationsByID, locationsByCode: locationsByCode)
        }
    }

    func prepare(_ records: [ImportRecord], directory: PlaceDirectory?) async throws -> Prepared {
        let transactions = services.transactions
        var report = ImportReport()
        report.received = records.count
        var items: [Item] = []
        for record in records {
            do {
                if let problem = record.problem { throw problem }
                let request = try decodeJSONObject(RecordTransactionRequest.self, from: record.json)
                let draft = try transactions.validate(request, caller: caller)
                var ready: ReadySale?
                if draft.kind == .sale, let directory, let place = try? await transactions.place(of: draft, caller: caller, lookup: directory.lookup) {
                    let contentHash = try draft.contentHash(channelID: place.channelID, locationID: place.locationID)
                    let plan = Result { try transactions.salePlan(draft) }
                    // A sale's customer is nil only when it names none; the row's claim code follows from that.
                    let row = try (try? plan.get()).map { plan in
                        try transactions.makeRow(draft, plan: plan, tenantID: tenantID, channelID: place.channelID, locationID: place.locationID,
                                                 customerID: draft.isAnonymous ? nil : "", contentHash: contentHash)
                    }
                    ready = ReadySale(place: place, contentHash: contentHash, plan: plan, row: row)
                }
                items.append(Item(line: record.line, draft: draft, ready: ready))
            } catch {
                try report.reject(error, line: record.line)
            }
        }
        return Prepared(report: report, items: items)
    }

    /// A bulk import's chunk: its report and the ids of the transactions it created.
    func record(on sql: any SQLDatabase, _ prepared: Prepared) async throws -> (ImportReport, [String]) {
        var outcomes = ImportOutcomes(report: prepared.report)
        let loyaltyEvents = try await record(on: sql, prepared.items, into: &outcomes)
        try await services.events.append(on: sql, tenantID: caller.tenantID, loyaltyEvents)
        outcomes.report.created = outcomes.created.count
        outcomes.report.rejections.sort { $0.line < $1.line }
        return (outcomes.report, outcomes.created)
    }

    /// Records the items in order, telling `outcomes` what became of each; writes nothing for a refused one.
    /// Returns the loyalty events of the sales' earnings, for the caller to append with its own.
    @discardableResult
    func record<Outcomes: TransactionBatchOutcomes>(on sql: any SQLDatabase, _ items: [Item],
                                                    into outcomes: inout Outcomes) async throws -> [LoyaltyService.PendingEvent] {
        let transactions = services.transactions

        // 1. Channels and locations, once per distinct pair named.
        var places: [String: Result<(channelID: String, locationID: String?), any Error>] = [:]
        for item in items where item.ready == nil && places[Self.placeKey(item.draft)] == nil {
            let draft = item.draft
            do {
                places[Self.placeKey(draft)] = .success(try await transactions.place(of: draft, on: sql, caller: caller))
            } catch {
                places[Self.placeKey(draft)] = .failure(error)
            }
        }

        // 2. Sales already recorded under the chunk's external ids, one query per channel.
        var externalIDs: [String: [String]] = [:]
        for item in items {
            if let place = try? item.ready?.place ?? places[Self.placeKey(item.draft)]?.get() {
                externalIDs[place.channelID, default: []].append(item.draft.externalID)
            }
        }
        var known: [ExternalKey: (id: String, contentHash: String)] = [:]
        let store = TransactionStore(tenantID: tenantID)
        for (channelID, ids) in externalIDs {
            for (externalID, found) in try await store.existing(on: sql, channelID: channelID, externalIDs: ids) {
                known[ExternalKey(channelID: channelID, externalID: externalID)] = found
            }
        }

        // 3. The customers the sales name: by identifiers all already known, or by id. Read before
        // any lock — on PostgreSQL before BEGIN: when every record is a sale whose identifiers are
        // all known and lead to one customer (returning customers, the usual till and chunk),
        // nothing is created or attached, and no lock is needed, as for a single sale
        // (`IdentityService.customerID`). Otherwise the same locks a single sale or return takes,
        // all at once and in one order, and the identifiers read again under them.
        let customers = CustomerStore(tenantID: tenantID)
        let sales = items.filter { $0.draft.kind == .sale }
        let identifiers = Set(items.filter { $0.draft.customerID == nil }.flatMap(\.draft.identifiers))
        var matches = try await customers.matches(on: sql, distinct: identifiers, independent: true)
        if services.database.dialect == .postgres, !identifiers.isEmpty, items.contains(where: { item in
            item.draft.kind != .sale
                || (item.draft.customerID == nil && !item.draft.identifiers.isEmpty && Self.soleCustomer(item.draft.identifiers, matches) == nil)
        }) {
            try await customers.lockIdentifiers(on: sql, dialect: services.database.dialect, Array(identifiers))
            matches = try await customers.matches(on: sql, distinct: identifiers)
        }
        let canonical = try await customers.canonicalIDs(on: sql, Set(sales.compactMap { $0.draft.customerID }
            .filter { IDGenerator.isWellFormed($0, prefix: .customer) }))
        let loyalty = LoyaltyService(services: services)
        // The loyalty members of the customers found, read now with the lookups above, not after
        // the sales are written (on PostgreSQL that read would open the transaction).
        var prefetched = try await loyalty.prefetchMembers(on: sql, tenantID: tenantID, customerIDs: Set(sales.compactMap { item in
            item.draft.customerID.flatMap { canonical[$0] } ?? Self.soleCustomer(item.draft.identifiers, matches)
        }))

        // 4. Each record in file order; sales wait in `pending` until a return needs them written.
        var pending: [(row: TransactionRow, lines: [TransactionLine])] = []
        var delta = CustomerStatsDelta(reservingCapacityForSales: sales.count)
        var earning: [LoyaltyService.EarningSale] = []
        var loyaltyEvents: [LoyaltyService.PendingEvent] = []
        /// External ids recorded by the per-record path in this chunk: met again, they take it too.
        var recordedOneByOne = Set<ExternalKey>()
        /// Set once a merge may have moved customers the chunk's lookups had found.
        var matchesStale = false

        func flush() async throws {
            try await store.insert(on: sql, pending)
            pending.removeAll(keepingCapacity: true)
        }

        for item in items {
            let (draft, ready) = (item.draft, item.ready)
            do {
                let place = try ready?.place ?? places[Self.placeKey(draft)]!.get()
                let key = ExternalKey(channelID: place.channelID, externalID: draft.externalID)
                if draft.kind == .return || recordedOneByOne.contains(key) {
                    try await flush()
                    // A return takes back what its sale earned: the earnings so far first. What
                    // was read before them is stale after them (their qualifying points).
                    loyaltyEvents += try await loyalty.earn(on: sql, tenantID: tenantID, earning, requestID: actor.requestID, prefetched: prefetched)
                    earning.removeAll(keepingCapacity: true)
                    prefetched = [:]
                    recordedOneByOne.insert(key)
                    let recorded = try await transactions.record(on: sql, caller: caller, draft: draft, actor: item.actor ?? actor, emitEvents: false)
                    if recorded.created { outcomes.created(item, id: recorded.transaction.id, recorded.transaction) } else { outcomes.matched(item) }
                    continue
                }
                let contentHash = try ready?.contentHash ?? draft.contentHash(channelID: place.channelID, locationID: place.locationID)
                if let existing = known[key] {
                    guard existing.contentHash == contentHash else {
                        throw TransactionError.externalIDTaken(externalID: draft.externalID, transactionID: existing.id)
                    }
                    outcomes.matched(item)
                    continue
                }
                let plan = try ready?.plan.get() ?? transactions.salePlan(draft)
                var customerID: String?
                if let id = draft.customerID {
                    let root = matchesStale ? try await customers.resolvedRow(on: sql, id: id)?.id : canonical[id]
                    guard let root else { throw IdentityService.unknownCustomer(field: "customer.id") }
                    customerID = root
                } else if !draft.identifiers.isEmpty {
                    // Anything but known identifiers of one customer (new ones to attach, several
                    // customers to merge or refuse) is `identify`'s, at its place in the file.
                    if !matchesStale, let id = Self.soleCustomer(draft.identifiers, matches) {
                        customerID = id
                    } else {
                        let result = try await services.identity.identify(
                            on: sql, tenantID: tenantID, policy: caller.identityPolicy, identifiers: draft.identifiers, traits: .empty,
                            channelID: place.channelID, actor: item.actor ?? actor)
                        customerID = result.customer.id
                        if !result.merged.isEmpty {
                            matchesStale = true
                            // A merge moves memberships too.
                            prefetched = [:]
                        }
                        for identifier in draft.identifiers {
                            matches[identifier] = IdentifierMatch(identifier: identifier, holderID: result.customer.id, canonicalID: result.customer.id)
                        }
                    }
                }
                let row = try ready?.row?.with(customerID: customerID)
                    ?? transactions.makeRow(draft, plan: plan, tenantID: tenantID, channelID: place.channelID, locationID: place.locationID,
                                            customerID: customerID, contentHash: contentHash)
                pending.append((row, plan.lines))
                known[key] = (row.id, contentHash)
                outcomes.created(item, id: row.id, SalesTransaction(row: row, lines: plan.lines, discounts: draft.discounts, taxes: plan.taxes,
                                                                    tenders: draft.tenders ?? []))
                if let customerID {
                    delta.add(row, lines: plan.lines, customerID: customerID)
                    earning.append(LoyaltyService.EarningSale(row: row, lines: plan.lines, customerID: customerID))
                }
            } catch {
                try outcomes.refused(item, error)
            }
        }
        try await flush()
        try await CustomerStatsStore(tenantID: tenantID, dialect: services.database.dialect).record(on: sql, delta)
        return loyaltyEvents + (try await loyalty.earn(on: sql, tenantID: tenantID, earning, requestID: actor.requestID, prefetched: prefetched))
    }

    private static func placeKey(_ draft: TransactionDraft) -> String { "\(draft.channel ?? "")\u{1F}\(draft.location ?? "")" }

    /// A sale's identity: its external id within its channel. Hashed as two strings, not joined into a new one per record.
    private struct ExternalKey: Hashable {
        let channelID: String
        let externalID: String
    }

    /// The customer all of a sale's identifiers lead to when every one is known and they agree — the
    /// usual returning customer, whom `IdentityResolution.resolve` would attach with nothing new;
    /// nil otherwise.
    private static func soleCustomer(_ identifiers: [NormalizedIdentifier], _ matches: [NormalizedIdentifier: IdentifierMatch]) -> String? {
        var customer: String?
        for identifier in identifiers {
            guard let match = matches[identifier], customer == nil || customer == match.canonicalID else { return nil }
            customer = match.canonicalID
        }
        return customer
    }
}

/// What `TransactionBatch.record` tells about each item, in order.
protocol TransactionBatchOutcomes {
    /// A new transaction; `transaction` (its whole view) is built only if asked for.
    mutating func created(_ item: TransactionBatch.Item, id: String, _ transaction: @autoclosure () -> SalesTransaction)
    /// The channel already had this external id with the same content (a retry or a re-import).
    mutating func matched(_ item: TransactionBatch.Item)
    /// The item was refused before anything of it was written. Throwing aborts the whole batch.
    mutating func refused(_ item: TransactionBatch.Item, _ error: any Error) throws
}

/// A bulk import's outcomes: counted, with every refusal reported by its line.
struct ImportOutcomes: TransactionBatchOutcomes {
    var report: ImportReport
    var created: [String] = []

    mutating func created(_ item: TransactionBatch.Item, id: String, _ transaction: @autoclosure () -> SalesTransaction) { created.append(id) }
    mutating func matched(_ item: TransactionBatch.Item) { report.matched += 1 }
    mutating func refused(_ item: TransactionBatch.Item, _ error: any Error) throws { try report.reject(error, line: item.line) }
}
