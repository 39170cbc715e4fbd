import Synchronization
import OmniaCore
import SQLKit

extension LedgerStore {
    /// Posts each of `transfers` that the accounts' limits allow, in order, and refuses the others;
    /// one result per transfer. However many transfers, it costs no read and a few held writes: the
    /// transfers are checked one after another in memory by the same rules (`LedgerBalance.changing`)
    /// against `accounts` — the instruments' accounts as the caller read them, unlocked, before its
    /// transaction — and the sums the earlier ones left; the accepted ones are written as one
    /// conditional update of the instruments' accounts, one upsert of the control accounts and one
    /// insert of the transfers. That is how many checkouts redeeming at the same instant — one
    /// company card, or many cards — are written with one statement for all on PostgreSQL
    /// (`RedemptionGroupCommit`).
    ///
    /// The conditional update is what keeps the limits: each instrument's account takes the sum of
    /// its accepted transfers only where the account's limit still holds with it, on the row as it is
    /// when written (PostgreSQL re-checks a row another transaction changed once that one commits;
    /// SQLite has one writer). Should an account have changed since it was read so that its sum no
    /// longer fits — another channel spent the card meanwhile — the update changes fewer rows than
    /// it must and the caller's transaction fails with `LedgerStore.accountsChanged`, writing
    /// nothing; the caller then goes the ordinary way. Control accounts have no limit and are not read.
    func postEach(on sql: any SQLDatabase, _ transfers: [LedgerTransferRequest], accounts: [String: LedgerAccount], reasons: [String?],
                  requestIDs: [String?], ids: IDGenerator, now: Int64) async throws -> [Result<LedgerTransfer, LedgerRefused>] {
        precondition(transfers.count == reasons.count && transfers.count == requestIDs.count)
        var balances = accounts.mapValues(\.balance)
        var results: [Result<LedgerTransfer, LedgerRefused>] = []
        var accepted: [(transfer: LedgerTransfer, requestID: String?)] = []
        for (index, request) in transfers.enumerated() {
            do {
                try Self.validate(request)
                var next: [(String, LedgerBalance)] = []
                for (id, change) in [(request.debitAccountID, LedgerChange(debitsPosted: request.amount)),
                                     (request.creditAccountID, LedgerChange(creditsPosted: request.amount))] where !Self.isControl(id) {
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
        try await addPostedHeld(on: sql, accepted.map(\.transfer), now: now, checkingLimits: true)
        try await insert(on: sql, accepted)
        return results
    }

    /// What fails the transaction of `postEach` when an account changed after it was read so that
    /// what it would take no longer fits.
    static let accountsChanged = LedgerAccountsChanged()

    /// Posts transfers no account's limit can refuse — each from an account without limits (a
    /// control account) — with no read: the points a batch of sales earns. Nothing needs checking,
    /// so the sums and the transfers are writes nobody reads back in the transaction: on
    /// PostgreSQL they are held and sent with the commit (`runDeferrable`), the control accounts
    /// first, then the others in id order, as every other write takes them.
    ///
    /// A control account is opened by the write that adds to it (an upsert), not from the
    /// process's memory of accounts seen open: with nothing read here, an opening rolled back with
    /// its transaction would otherwise leave the sums of a later transfer added to no row.
    func postUnrefusable(on sql: any SQLDatabase, _ transfers: [LedgerTransferRequest], reasons: [String?], requestID: String?, ids: IDGenerator,
                         now: Int64) async throws {
        precondition(transfers.count == reasons.count)
        guard !transfers.isEmpty else { return }
        for transfer in transfers {
            try Self.validate(transfer)
            precondition(Self.isControl(transfer.debitAccountID), "only a control account's debits are never refused")
        }
        let stored = zip(transfers, reasons).map { transfer, reason in
            LedgerTransfer(id: ids.make(.ledgerTransfer), kind: "posted", debitAccountId: transfer.debitAccountID, creditAccountId: transfer.creditAccountID,
                           amount: transfer.amount, unit: transfer.unit, pendingId: nil, expiresAt: nil, reason: reason,
                           createdAt: StoredTime(milliseconds: now))
        }
        try await addPostedHeld(on: sql, stored, now: now)
        try await insert(on: sql, stored.map { ($0, requestID) })
    }

    /// Adds posted transfers to their accounts' sums as held writes (`runDeferrable`), one statement
    /// for the control accounts — opening any not open yet: the upsert that adds to it opens it, so
    /// no memory of accounts seen open can be wrong after a rollback — and one for the others.
    ///
    /// Held first, the control accounts' upsert is run last: PostgreSQL runs a statement's last
    /// write first, then the others from last to first (checked on PostgreSQL 15). So the statement
    /// takes the instruments' rows first, then the control accounts' in id order — the order
    /// `lockedAccounts` and `apply` take them in — and never waits on another writer in a cycle.
    /// With `checkingLimits`, each instrument's account takes its sum only while its limits hold with it,
    /// and the transaction fails with `accountsChanged` unless every one does (`postEach`).
    private func addPostedHeld(on sql: any SQLDatabase, _ transfers: [LedgerTransfer], now: Int64, checkingLimits: Bool = false) async throws {
        var units: [String: LedgerUnit] = [:]
        var sums: [String: (debits: Int64, credits: Int64)] = [:]
        for transfer in transfers {
            units[transfer.debitAccountId] = transfer.unit
            units[transfer.creditAccountId] = transfer.unit
            sums[transfer.debitAccountId, default: (0, 0)].debits += transfer.amount
            sums[transfer.creditAccountId, default: (0, 0)].credits += transfer.amount
        }
        let changes = sums.sorted { $0.key < $1.key }.map { ($0.key, $0.value.debits, $0.value.credits) }
        try await addPostedOpening(on: sql, changes.filter { Self.isControl($0.0) }, units: units, now: now)
        let instruments = changes.filter { !Self.isControl($0.0) }
        guard !instruments.isEmpty else { return }
        try await addPosted(on: sql, instruments, checkingLimits: checkingLimits)
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

    /// The accounts of `ids` that exist, each locked until the transaction ends (PostgreSQL, in
    /// `lockOrder`). A write that changes several instruments locks them all first with this: changed
    /// one by one, two checkouts over the same cards in another order could each wait for the other.
    func lockedAccounts(on sql: any SQLDatabase, _ ids: [String]) async throws -> [String: LedgerAccount] {
        guard !ids.isEmpty else { return [:] }
        // PostgreSQL sorts, then locks the rows in the order sorted: `lockOrder`, in SQL — ids by
        // their bytes, as Swift compares them, whatever the database's collation.
        let (collation, lock) = sql.dialect.name == "sqlite" ? ("", "") : (" COLLATE \"C\"", " FOR UPDATE")
        let rows = try await sql.raw("""
            SELECT * FROM ledger_accounts WHERE tenant_id = \(bind: tenantID) AND id IN (\(binds: ids))
            ORDER BY substr(id, 1, \(literal: Self.controlPrefix.count)) = \(bind: Self.controlPrefix), id\(unsafeRaw: collation + lock)
            """).all()
        return Dictionary(uniqueKeysWithValues: try rows.map(Self.account).map { ($0.id, $0) })
    }

    /// Opens the control accounts of `units` not open yet, in id order and in one statement, before
    /// anything is locked: an account being opened by a transaction still running makes the next to
    /// open it wait, and two transactions opening two accounts in opposite orders would wait on each other.
    func openControlAccounts(on sql: any SQLDatabase, _ units: [String: LedgerUnit], now: Int64) async throws {
        try await openAccounts(on: sql, units.map { ($0.key, $0.value, "control", nil, []) }, now: now)
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

    /// Adds to each account's posted sums in one held statement: (account, debits, credits). With
    /// `checkingLimits`, each account takes its sums only where its limits hold with them
    /// (`LedgerBalance.changing` in SQL, as `apply` writes it, so that no intermediate sum can pass
    /// Int64.max either), and the transaction fails with `accountsChanged` unless every one did.
    private func addPosted(on sql: any SQLDatabase, _ changes: [(String, Int64, Int64)], checkingLimits: Bool) async throws {
        var values: SQLQueryString = ""
        for (index, (id, debits, credits)) in changes.enumerated() {
            values += "\(unsafeRaw: index == 0 ? "" : ", ")(\(bind: id), \(bind: debits), \(bind: credits))"
        }
        // `column1…` are the names both databases give the columns of a VALUES list.
        var update: SQLQueryString = """
            UPDATE ledger_accounts SET debits_posted = debits_posted + v.column2, credits_posted = credits_posted + v.column3
            FROM (VALUES \(values)) AS v WHERE ledger_accounts.tenant_id = \(bind: tenantID) AND ledger_accounts.id = v.column1
            """
        guard checkingLimits else { return try await sql.runDeferrable(update) }
        update += """

              AND debits_posted <= \(literal: Int(Int64.max)) - v.column2 AND credits_posted <= \(literal: Int(Int64.max)) - v.column3
              AND ((flags & \(literal: Self.debitLimit)) = 0 OR debits_posted + v.column2 <= credits_posted + v.column3 - debits_pending)
              AND ((flags & \(literal: Self.creditLimit)) = 0 OR credits_posted + v.column3 <= debits_posted + v.column2 - credits_pending)
            RETURNING 1
            """
        try await sql.runDeferrable(update, expecting: RowExpectation(rows: changes.count, error: Self.accountsChanged))
    }
}

/// `LedgerStore.postEach`'s transaction failed: an account changed after it was read.
struct LedgerAccountsChanged: Error, Equatable {}
