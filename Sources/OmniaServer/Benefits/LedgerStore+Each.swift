import Synchronization
import OmniaCore
import SQLKit

extension LedgerStore {
    /// Posts each of `transfers` that the accounts' limits allow, in order, and refuses the others;
    /// one result per transfer. However many transfers, it costs a handful of statements: every
    /// account they name is locked and read in one statement (in id order, the order `apply` locks
    /// them in), the transfers are checked one after another in memory by the same rules
    /// (`LedgerBalance.changing`) against the sums the earlier ones left, and the accepted ones are
    /// applied as one update of all the accounts and one insert of all the transfers. That is how
    /// many checkouts redeeming at the same instant — one company card, or many cards — are written
    /// with one commit for all (`RedemptionGroupCommit`).
    ///
    /// The locks are what keeps the limits here: on PostgreSQL the rows are read `FOR UPDATE`, so no
    /// other transaction changes them before this one commits; SQLite has one writer.
    func postEach(on sql: any SQLDatabase, _ transfers: [LedgerTransferRequest], reasons: [String?], requestIDs: [String?], ids: IDGenerator,
                  now: Int64) async throws -> [Result<LedgerTransfer, LedgerRefused>] {
        precondition(transfers.count == reasons.count && transfers.count == requestIDs.count)
        let accountIDs = Array(Set(transfers.flatMap { [$0.debitAccountID, $0.creditAccountID] })).sorted()
        var controlUnits: [String: LedgerUnit] = [:]
        for transfer in transfers {
            for id in [transfer.debitAccountID, transfer.creditAccountID] where id.hasPrefix(Self.controlPrefix) { controlUnits[id] = transfer.unit }
        }
        // Control accounts are opened by the first transfer that names them; once seen open, they
        // cost no statement here again (they are never closed).
        let unopened = controlUnits.filter { !Self.knownOpen(tenantID: tenantID, $0.key) }
        try await openControlAccounts(on: sql, unopened, now: now)
        var accounts = try await lockedAccounts(on: sql, accountIDs)
        // One remembered whose opening was rolled back after all: open it now.
        let missing = controlUnits.filter { accounts[$0.key] == nil }
        if !missing.isEmpty {
            try await openControlAccounts(on: sql, missing, now: now)
            accounts = try await lockedAccounts(on: sql, accountIDs)
        }
        Self.rememberOpen(tenantID: tenantID, unopened.keys.filter { accounts[$0] != nil })
        let before = accounts.mapValues(\.balance)
        var balances = before
        var results: [Result<LedgerTransfer, LedgerRefused>] = []
        var accepted: [(transfer: LedgerTransfer, requestID: String?)] = []
        for (index, request) in transfers.enumerated() {
            do {
                try Self.validate(request)
                var next: [(String, LedgerBalance)] = []
                for (id, change) in [(request.debitAccountID, LedgerChange(debitsPosted: request.amount)),
                                     (request.creditAccountID, LedgerChange(creditsPosted: request.amount))] {
                    guard let account = accounts[id] else { throw LedgerRefused(refusal: .unknownAccount, accountID: id) }
                    guard account.unit == request.unit else { throw LedgerRefused(refusal: .unitMismatch, accountID: id) }
                    do { next.append((id, try balances[id]!.changing(change, flags: account.flags))) } catch {
                        throw LedgerRefused(refusal: error, accountID: id)
                    }
                }
                for (id, balance) in next { balances[id] = balance }
                let transfer = LedgerTransfer(id: ids.make(.ledgerTransfer), kind: "posted", debitAccountId: request.debitAccountID,
                                              creditAccountId: request.creditAccountID, amount: request.amount, unit: request.unit, pendingId: nil,
                                              expiresAt: nil, reason: reasons[index], createdAt: StoredTime(milliseconds: now))
                accepted.append((transfer, requestIDs[index]))
                results.append(.success(transfer))
            } catch let refused as LedgerRefused {
                results.append(.failure(refused))
            }
        }
        guard !accepted.isEmpty else { return results }
        let changed = accountIDs.compactMap { id -> (String, Int64, Int64)? in
            guard let old = before[id], let new = balances[id], old != new else { return nil }
            return (id, new.debitsPosted - old.debitsPosted, new.creditsPosted - old.creditsPosted)
        }
        try await addPosted(on: sql, changed)
        try await insert(on: sql, accepted)
        return results
    }

    /// Posts transfers no account's limit can refuse — each from an account without limits (a
    /// control account) — with no read: the points a batch of sales earns. Nothing needs checking,
    /// so the sums and the transfers are writes nobody reads back in the transaction: on
    /// PostgreSQL they are held and sent with the commit (`runDeferrable`), the control accounts
    /// first, then the others in id order, as every other write takes them.
    ///
    /// A control account is opened by the write that adds to it (an upsert), not from the
    /// process's memory of accounts seen open: with nothing read here, an opening rolled back with
    /// its transaction would otherwise leave the sums of a later transfer added to no row.
    func postUnrefusable(on sql: any SQLDatabase, _ transfers: [LedgerTransferRequest], reason: String?, requestID: String?, ids: IDGenerator,
                         now: Int64) async throws {
        guard !transfers.isEmpty else { return }
        var units: [String: LedgerUnit] = [:]
        var sums: [String: (debits: Int64, credits: Int64)] = [:]
        for transfer in transfers {
            try Self.validate(transfer)
            precondition(transfer.debitAccountID.hasPrefix(Self.controlPrefix), "only a control account's debits are never refused")
            units[transfer.debitAccountID] = transfer.unit
            if transfer.creditAccountID.hasPrefix(Self.controlPrefix) { units[transfer.creditAccountID] = transfer.unit }
            sums[transfer.debitAccountID, default: (0, 0)].debits += transfer.amount
            sums[transfer.creditAccountID, default: (0, 0)].credits += transfer.amount
        }
        let changes = sums.sorted { $0.key < $1.key }.map { ($0.key, $0.value.debits, $0.value.credits) }
        try await addPostedOpening(on: sql, changes.filter { $0.0.hasPrefix(Self.controlPrefix) }, units: units, now: now)
        try await addPosted(on: sql, changes.filter { !$0.0.hasPrefix(Self.controlPrefix) }, deferrable: true)
        try await insert(on: sql, transfers.map { transfer in
            (LedgerTransfer(id: ids.make(.ledgerTransfer), kind: "posted", debitAccountId: transfer.debitAccountID, creditAccountId: transfer.creditAccountID,
                            amount: transfer.amount, unit: transfer.unit, pendingId: nil, expiresAt: nil, reason: reason,
                            createdAt: StoredTime(milliseconds: now)), requestID)
        })
    }

    /// Adds to control accounts' posted sums, opening any not open yet with them, in one held statement.
    private func addPostedOpening(on sql: any SQLDatabase, _ changes: [(String, Int64, Int64)], units: [String: LedgerUnit], now: Int64) async throws {
        guard !changes.isEmpty else { return }
        var rows: SQLQueryString = ""
        for (index, (id, debits, credits)) in changes.enumerated() {
            rows += "\(unsafeRaw: index == 0 ? "" : ", ")(\(bind: tenantID), \(bind: id), \(bind: units[id]?.rawValue ?? ""), 'control', NULL, 0, "
            rows += "0, \(bind: debits), 0, \(bind: credits), \(bind: now))"
        }
        try await sql.runDeferrable("""
            INSERT INTO ledger_accounts (tenant_id, id, unit, kind, customer_id, flags, debits_pending, debits_posted, credits_pending,
                                         credits_posted, created_at)
            VALUES \(rows)
            ON CONFLICT (tenant_id, id) DO UPDATE SET debits_posted = ledger_accounts.debits_posted + excluded.debits_posted,
                credits_posted = ledger_accounts.credits_posted + excluded.credits_posted
            """)
    }

    /// The accounts of `ids` that exist, each locked until the transaction ends (PostgreSQL, in id
    /// order). A write that changes several instruments locks them all first with this: changed one
    /// by one, two checkouts over the same cards in another order could each wait for the other.
    func lockedAccounts(on sql: any SQLDatabase, _ ids: [String]) async throws -> [String: LedgerAccount] {
        guard !ids.isEmpty else { return [:] }
        let lock = sql.dialect.name == "sqlite" ? "" : " FOR UPDATE"
        let rows = try await sql.raw("""
            SELECT * FROM ledger_accounts WHERE tenant_id = \(bind: tenantID) AND id IN (\(binds: ids)) ORDER BY id\(unsafeRaw: lock)
            """).all()
        return Dictionary(uniqueKeysWithValues: try rows.map(Self.account).map { ($0.id, $0) })
    }

    /// Opens the control accounts of `units` not open yet, in id order and in one statement, before
    /// anything is locked: an account being opened by a transaction still running makes the next to
    /// open it wait, and two transactions opening two accounts in opposite orders would wait on each other.
    func openControlAccounts(on sql: any SQLDatabase, _ units: [String: LedgerUnit], now: Int64) async throws {
        try await openAccounts(on: sql, units.map { ($0.key, $0.value, "control", nil, []) }, now: now)
    }

    /// Control accounts this process has seen committed, by tenant: a set that only grows, bounded
    /// by the tenants' control accounts (a few hundred each).
    private static let openControls = Mutex<Set<String>>([])

    private static func knownOpen(tenantID: String, _ id: String) -> Bool {
        openControls.withLock { $0.contains(tenantID + "/" + id) }
    }

    private static func rememberOpen(tenantID: String, _ ids: [String]) {
        guard !ids.isEmpty else { return }
        openControls.withLock { known in for id in ids { known.insert(tenantID + "/" + id) } }
    }

    /// Opens accounts with zero sums in id order and one statement; an id already open is left as it is.
    func openAccounts(on sql: any SQLDatabase, _ accounts: [(id: String, unit: LedgerUnit, kind: String, customerID: String?, flags: LedgerAccountFlags)],
                      now: Int64) async throws {
        let sorted = accounts.sorted { $0.id < $1.id }
        guard !sorted.isEmpty else { return }
        var rows: SQLQueryString = ""
        for (index, account) in sorted.enumerated() {
            rows += "\(unsafeRaw: index == 0 ? "" : ", ")(\(bind: tenantID), \(bind: account.id), \(bind: account.unit.rawValue), \(bind: account.kind), "
            rows += "\(bind: account.customerID), \(bind: account.flags.rawValue), 0, 0, 0, 0, \(bind: now))"
        }
        try await sql.raw("""
            INSERT INTO ledger_accounts (tenant_id, id, unit, kind, customer_id, flags, debits_pending, debits_posted, credits_pending,
                                         credits_posted, created_at)
            VALUES \(rows) ON CONFLICT (tenant_id, id) DO NOTHING
            """).run()
    }

    /// Adds to each account's posted sums in one statement: (account, debits, credits).
    private func addPosted(on sql: any SQLDatabase, _ changes: [(String, Int64, Int64)], deferrable: Bool = false) async throws {
        var values: SQLQueryString = ""
        for (index, (id, debits, credits)) in changes.enumerated() {
            values += "\(unsafeRaw: index == 0 ? "" : ", ")(\(bind: id), \(bind: debits), \(bind: credits))"
        }
        // `column1…` are the names both databases give the columns of a VALUES list.
        let update: SQLQueryString = """
            UPDATE ledger_accounts SET debits_posted = debits_posted + v.column2, credits_posted = credits_posted + v.column3
            FROM (VALUES \(values)) AS v WHERE ledger_accounts.tenant_id = \(bind: tenantID) AND ledger_accounts.id = v.column1
            """
        if deferrable { try await sql.runDeferrable(update) } else { try await sql.raw(update).run() }
    }
}
