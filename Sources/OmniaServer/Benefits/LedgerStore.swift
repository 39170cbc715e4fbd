import OmniaCore
import SQLKit

/// One movement to post: `amount` of `unit` taken from `debitAccountID` and given to `creditAccountID`.
struct LedgerTransferRequest: Sendable, Equatable {
    let debitAccountID: String
    let creditAccountID: String
    let amount: Int64
    let unit: LedgerUnit
}

/// A transfer as stored; immutable once written. `kind`: `posted`; `pending` (a hold, open until
/// `expiresAt` unless resolved); `post_pending` (its capture, of `amount` ≤ the hold) or
/// `void_pending` (its release), each naming the hold in `pendingId`.
struct LedgerTransfer: Sendable, Equatable, Encodable {
    let id: String
    let kind: String
    let debitAccountId: String
    let creditAccountId: String
    let amount: Int64
    let unit: LedgerUnit
    let pendingId: String?
    let expiresAt: StoredTime?
    let reason: String?
    let createdAt: StoredTime
}

/// An account and its running sums.
struct LedgerAccount: Sendable, Equatable {
    let id: String
    let unit: LedgerUnit
    let kind: String
    let customerID: String?
    let flags: LedgerAccountFlags
    let balance: LedgerBalance
}

/// A transfer the ledger refused, and the account that refused it; the caller's transaction rolls back.
struct LedgerRefused: Error, Equatable {
    let refusal: LedgerRefusal
    let accountID: String?
}

/// The SQL of the ledger. Posting a transfer is one conditional update per side — the account's
/// limit is part of the `WHERE`, so two channels, processes or servers taking from one card at the
/// same instant can never take more than it holds (SQLite has one writer; PostgreSQL re-checks the
/// condition on the row once the other update commits) — then the transfer's insert, all in the
/// caller's transaction.
struct LedgerStore: Sendable {
    let tenantID: String

    /// Flag bits as stored, named once for the conditions below.
    static let debitLimit = LedgerAccountFlags.debitsMustNotExceedCredits.rawValue
    static let creditLimit = LedgerAccountFlags.creditsMustNotExceedDebits.rawValue

    /// How many accounts each control account is split into. Every sale of a card, every
    /// redemption, credits or debits the same control account; kept as one row, that row's lock
    /// would queue every checkout of a tenant behind one another on PostgreSQL. Split, a transfer
    /// uses the part its instrument's id hashes to, and the control account's balance is the sum of
    /// its parts (each an ordinary account, so `ledger verify` needs nothing more).
    static let controlShards: UInt32 = 16
    static let controlPrefix = "ctl_"

    static func isControl(_ accountID: String) -> Bool { accountID.hasPrefix(controlPrefix) }

    /// The one order every write locks accounts in (PostgreSQL), so that no two wait on each other in
    /// a cycle: instruments' accounts first, then control accounts, each in id order. Control accounts
    /// come last because every checkout shares some of them: the later a transaction takes one, the
    /// shorter the others queue behind it (a redemption group takes them in its last statement).
    static func lockOrder(_ first: String, _ second: String) -> Bool {
        let (firstIsControl, secondIsControl) = (isControl(first), isControl(second))
        return firstIsControl == secondIsControl ? first < second : secondIsControl
    }

    /// The tenant's own account for `purpose` in `unit` that transfers of `instrumentID` use
    /// (`ctl_gift_cards_issued_EUR_07`): where value comes from and goes to. Control accounts
    /// carry no limit and are opened by the first transfer that names one.
    static func controlAccountID(_ purpose: String, unit: LedgerUnit, for instrumentID: String) -> String {
        // FNV-1a: stable across processes and releases, unlike `Hasher`.
        let hash = instrumentID.utf8.reduce(UInt32(2_166_136_261)) { ($0 ^ UInt32($1)) &* 16_777_619 }
        let shard = hash % controlShards
        return "\(controlPrefix)\(purpose)_\(unit.rawValue)_\(shard < 10 ? "0" : "")\(shard)"
    }

    /// Opens an account with zero sums. Opening an id already open keeps its sums (a retry), and is
    /// refused when the account counts another unit.
    func open(on sql: any SQLDatabase, id: String, unit: LedgerUnit, kind: String, customerID: String?, flags: LedgerAccountFlags,
              now: Int64) async throws {
        try await sql.raw("""
            INSERT INTO ledger_accounts (tenant_id, id, unit, kind, customer_id, flags, debits_pending, debits_posted, credits_pending,
                                         credits_posted, created_at)
            VALUES (\(bind: tenantID), \(bind: id), \(bind: unit.rawValue), \(bind: kind), \(bind: customerID), \(bind: flags.rawValue), 0, 0, 0, 0, \(bind: now))
            ON CONFLICT (tenant_id, id) DO NOTHING
            """).run()
        guard let account = try await accounts(on: sql, ids: [id]).first, account.unit == unit else {
            throw LedgerRefused(refusal: .unitMismatch, accountID: id)
        }
    }


    /// Posts `transfers` in order, or refuses the first that breaks a rule and throws `LedgerRefused`
    /// (the caller's transaction then writes nothing of any of them).
    func post(on sql: any SQLDatabase, _ transfers: [LedgerTransferRequest], ids: IDGenerator, reason: String?, requestID: String?,
              now: Int64) async throws -> [LedgerTransfer] {
        var posted: [LedgerTransfer] = []
        for transfer in transfers {
            try Self.validate(transfer)
            try await apply(on: sql, debit: LedgerChange(debitsPosted: transfer.amount), credit: LedgerChange(creditsPosted: transfer.amount), transfer, now: now)
            posted.append(try await insert(on: sql, kind: "posted", transfer, pendingID: nil, expiresAt: nil, ids: ids, reason: reason,
                                           requestID: requestID, now: now))
        }
        return posted
    }

    // MARK: Holds

    /// Reserves `transfer.amount` on the debit account until captured, voided or `expiresAt`: what
    /// it holds is no longer available, but nothing is posted yet (TigerBeetle's pending transfer).
    func hold(on sql: any SQLDatabase, _ transfer: LedgerTransferRequest, expiresAt: Int64, ids: IDGenerator, reason: String?,
              requestID: String?, now: Int64) async throws -> LedgerTransfer {
        try Self.validate(transfer)
        try await apply(on: sql, debit: LedgerChange(debitsPending: transfer.amount), credit: LedgerChange(creditsPending: transfer.amount), transfer, now: now)
        let hold = try await insert(on: sql, kind: "pending", transfer, pendingID: nil, expiresAt: expiresAt, ids: ids, reason: reason,
                                    requestID: requestID, now: now)
        try await sql.raw("""
            INSERT INTO ledger_open_holds (tenant_id, transfer_id, expires_at) VALUES (\(bind: tenantID), \(bind: hold.id), \(bind: expiresAt))
            """).run()
        return hold
    }

    /// Posts `amount` of an open hold (all of it when nil) and releases the rest.
    func capture(on sql: any SQLDatabase, holdID: String, amount: Int64?, ids: IDGenerator, reason: String?, requestID: String?,
                 now: Int64) async throws -> LedgerTransfer {
        let hold = try await pendingTransfer(on: sql, holdID)
        // Resolved or expired first: those say more than a wrong amount does.
        if let refusal = try await closedRefusal(on: sql, hold, now: now, refuseExpired: true) { throw LedgerRefused(refusal: refusal, accountID: nil) }
        let captured = amount ?? hold.amount
        guard captured > 0 else { throw LedgerRefused(refusal: .amountNotPositive, accountID: nil) }
        guard captured <= hold.amount else { throw LedgerRefused(refusal: .exceedsHold, accountID: nil) }
        try await close(on: sql, hold, now: now, refuseExpired: true)
        let request = Self.request(hold, amount: captured)
        try await apply(on: sql, debit: LedgerChange(debitsPosted: captured, debitsPending: -hold.amount),
                        credit: LedgerChange(creditsPosted: captured, creditsPending: -hold.amount), request, now: now)
        return try await insert(on: sql, kind: "post_pending", request, pendingID: hold.id, expiresAt: nil, ids: ids, reason: reason,
                                requestID: requestID, now: now)
    }

    /// Releases an open hold whole — on request, or because it expired (`expired`: the sweep).
    func void(on sql: any SQLDatabase, holdID: String, expired: Bool = false, ids: IDGenerator, reason: String?, requestID: String?,
              now: Int64) async throws -> LedgerTransfer {
        let hold = try await pendingTransfer(on: sql, holdID)
        try await close(on: sql, hold, now: now, refuseExpired: false)
        let request = Self.request(hold, amount: hold.amount)
        try await apply(on: sql, debit: LedgerChange(debitsPending: -hold.amount), credit: LedgerChange(creditsPending: -hold.amount), request, now: now)
        return try await insert(on: sql, kind: "void_pending", request, pendingID: hold.id, expiresAt: nil, ids: ids,
                                reason: expired ? "expired" : reason, requestID: requestID, now: now)
    }

    /// The hold `holdID` names, or `hold_not_found`.
    private func pendingTransfer(on sql: any SQLDatabase, _ holdID: String) async throws -> LedgerTransfer {
        guard let hold = try await transfer(on: sql, id: holdID), hold.kind == "pending" else { throw LedgerRefused(refusal: .holdNotFound, accountID: nil) }
        return hold
    }

    /// Closes an open hold for its capture or void, after every other check. Deleting its open row
    /// is what makes a hold resolve once: a concurrent capture or void finds no row (on PostgreSQL
    /// it waits for the first to commit) and is refused. A capture leaves an expired hold open for
    /// the sweep to void.
    private func close(on sql: any SQLDatabase, _ hold: LedgerTransfer, now: Int64, refuseExpired: Bool) async throws {
        var statement: SQLQueryString = "DELETE FROM ledger_open_holds WHERE tenant_id = \(bind: tenantID) AND transfer_id = \(bind: hold.id)"
        if refuseExpired { statement += " AND expires_at > \(bind: now)" }
        guard try await sql.raw(statement + " RETURNING transfer_id").all().isEmpty else { return }
        throw LedgerRefused(refusal: try await closedRefusal(on: sql, hold, now: now, refuseExpired: refuseExpired) ?? .holdAlreadyResolved, accountID: nil)
    }

    /// Why a hold cannot be resolved now — captured or voided already, or (for a capture) expired — or nil while it can.
    private func closedRefusal(on sql: any SQLDatabase, _ hold: LedgerTransfer, now: Int64, refuseExpired: Bool) async throws -> LedgerRefusal? {
        let open = try await sql.raw("""
            SELECT expires_at FROM ledger_open_holds WHERE tenant_id = \(bind: tenantID) AND transfer_id = \(bind: hold.id)
            """).all()
        guard let expiresAt = try open.first?.decode(column: "expires_at", as: Int64.self) else { return .holdAlreadyResolved }
        return refuseExpired && now >= expiresAt ? .holdExpired : nil
    }

    /// Open holds past their expiry, oldest first, over every tenant: what the sweep voids.
    static func expiredHolds(on sql: any SQLDatabase, now: Int64, limit: Int) async throws -> [(tenantID: String, holdID: String)] {
        try await sql.raw("""
            SELECT tenant_id, transfer_id FROM ledger_open_holds WHERE expires_at <= \(bind: now) ORDER BY expires_at LIMIT \(literal: limit)
            """).all().map { (try $0.decode(column: "tenant_id", as: String.self), try $0.decode(column: "transfer_id", as: String.self)) }
    }

    func transfer(on sql: any SQLDatabase, id: String) async throws -> LedgerTransfer? {
        try await sql.raw("SELECT * FROM ledger_transfers WHERE tenant_id = \(bind: tenantID) AND id = \(bind: id)").all().first.map(Self.transfer)
    }

    // MARK: Writing

    static func validate(_ transfer: LedgerTransferRequest) throws {
        guard transfer.amount > 0 else { throw LedgerRefused(refusal: .amountNotPositive, accountID: nil) }
        guard transfer.debitAccountID != transfer.creditAccountID else { throw LedgerRefused(refusal: .sameAccount, accountID: transfer.debitAccountID) }
    }

    private static func request(_ hold: LedgerTransfer, amount: Int64) -> LedgerTransferRequest {
        LedgerTransferRequest(debitAccountID: hold.debitAccountId, creditAccountID: hold.creditAccountId, amount: amount, unit: hold.unit)
    }

    private func insert(on sql: any SQLDatabase, kind: String, _ transfer: LedgerTransferRequest, pendingID: String?, expiresAt: Int64?,
                        ids: IDGenerator, reason: String?, requestID: String?, now: Int64) async throws -> LedgerTransfer {
        let stored = LedgerTransfer(id: ids.make(.ledgerTransfer), kind: kind, debitAccountId: transfer.debitAccountID,
                                    creditAccountId: transfer.creditAccountID, amount: transfer.amount, unit: transfer.unit, pendingId: pendingID,
                                    expiresAt: expiresAt.map(StoredTime.init(milliseconds:)), reason: reason, createdAt: StoredTime(milliseconds: now))
        try await insert(on: sql, [(stored, requestID)])
        return stored
    }

    /// Writes transfers, each with the request that made it, in one statement.
    func insert(on sql: any SQLDatabase, _ transfers: [(transfer: LedgerTransfer, requestID: String?)]) async throws {
        try await sql.insertRows(into: "ledger_transfers", columns: Self.transferColumns, transfers) { entry, values in
            let transfer = entry.transfer
            values.add(tenantID)
            values.add(transfer.id)
            values.add(transfer.kind)
            values.add(transfer.debitAccountId)
            values.add(transfer.creditAccountId)
            values.add(transfer.amount)
            values.add(transfer.unit.rawValue)
            values.add(transfer.pendingId)
            values.add(transfer.expiresAt?.milliseconds)
            values.add(transfer.reason)
            values.add(entry.requestID)
            values.add(transfer.createdAt.milliseconds)
        }
    }

    private static let transferColumns = ["tenant_id", "id", "kind", "debit_account_id", "credit_account_id", "amount", "unit", "pending_id", "expires_at",
                                          "reason", "request_id", "created_at"]

    /// Applies a transfer's change to both its accounts, in `lockOrder`: two transfers between the
    /// same accounts in opposite directions then lock them in one order, never waiting on each
    /// other in a cycle (PostgreSQL).
    func apply(on sql: any SQLDatabase, debit: LedgerChange, credit: LedgerChange, _ transfer: LedgerTransferRequest, now: Int64) async throws {
        let sides = [(transfer.debitAccountID, debit), (transfer.creditAccountID, credit)].sorted { Self.lockOrder($0.0, $1.0) }
        for (accountID, change) in sides { try await apply(on: sql, change, to: accountID, unit: transfer.unit, now: now) }
    }

    /// Applies `change` to an account if its unit matches and its limits hold afterwards; otherwise
    /// reads the account to say why not. The limits are the `WHERE` of the update, evaluated on the
    /// sums it would write — `LedgerBalance.check` in SQL, written as it is so that no intermediate
    /// sum can pass Int64.max either (SQLite would turn an overflowing integer into a float,
    /// PostgreSQL raise an error).
    private func apply(on sql: any SQLDatabase, _ change: LedgerChange, to accountID: String, unit: LedgerUnit, now: Int64, openingControl: Bool = true,
                       retried: Bool = false) async throws {
        func ceiling(_ delta: Int64) -> Int64 { delta > 0 ? Int64.max - delta : Int64.max }
        let updated = try await sql.raw("""
            UPDATE ledger_accounts SET debits_posted = debits_posted + \(bind: change.debitsPosted),
                debits_pending = debits_pending + \(bind: change.debitsPending), credits_posted = credits_posted + \(bind: change.creditsPosted),
                credits_pending = credits_pending + \(bind: change.creditsPending)
            WHERE tenant_id = \(bind: tenantID) AND id = \(bind: accountID) AND unit = \(bind: unit.rawValue)
              AND debits_posted <= \(bind: ceiling(change.debitsPosted)) AND debits_pending <= \(bind: ceiling(change.debitsPending))
              AND credits_posted <= \(bind: ceiling(change.creditsPosted)) AND credits_pending <= \(bind: ceiling(change.creditsPending))
              AND ((flags & \(literal: Self.debitLimit)) = 0
                   OR debits_posted + \(bind: change.debitsPosted) <= credits_posted + \(bind: change.creditsPosted) - (debits_pending + \(bind: change.debitsPending)))
              AND ((flags & \(literal: Self.creditLimit)) = 0
                   OR credits_posted + \(bind: change.creditsPosted) <= debits_posted + \(bind: change.debitsPosted) - (credits_pending + \(bind: change.creditsPending)))
            RETURNING id
            """).all()
        guard updated.isEmpty else { return }
        guard let account = try await accounts(on: sql, ids: [accountID]).first else {
            // A control account's first transfer opens it: no statement on every later one.
            guard openingControl, Self.isControl(accountID) else { throw LedgerRefused(refusal: .unknownAccount, accountID: accountID) }
            try await open(on: sql, id: accountID, unit: unit, kind: "control", customerID: nil, flags: [], now: now)
            return try await apply(on: sql, change, to: accountID, unit: unit, now: now, openingControl: false)
        }
        guard account.unit == unit else { throw LedgerRefused(refusal: .unitMismatch, accountID: accountID) }
        do {
            _ = try account.balance.changing(change, flags: account.flags)
        } catch {
            throw LedgerRefused(refusal: error, accountID: accountID)
        }
        // The update found no row the rule accepts, yet the account read now would: it changed in
        // between (PostgreSQL) — or it did not exist yet for the update, a control account another
        // transaction was opening. Once more against the row as it is now.
        if !retried { return try await apply(on: sql, change, to: accountID, unit: unit, now: now, openingControl: false, retried: true) }
        throw LedgerRefused(refusal: change.debitsPosted + change.debitsPending > 0 ? .exceedsCredits : .exceedsDebits, accountID: accountID)
    }

    func accounts(on sql: any SQLDatabase, ids: [String]) async throws -> [LedgerAccount] {
        guard !ids.isEmpty else { return [] }
        return try await sql.raw("""
            SELECT * FROM ledger_accounts WHERE tenant_id = \(bind: tenantID) AND id IN (\(binds: ids)) ORDER BY id
            """).all().map(Self.account)
    }

    /// What each of the tenant's accounts' transfers add up to, summed in one pass over the
    /// transfers (the store keeps no index of transfers by account except for points; see
    /// `Migration012PointsTransferIndexes`). Posted: posted transfers and captures. Pending: holds
    /// neither captured nor voided. Accounts without transfers are absent. Memory: one entry per
    /// account with transfers (~150 bytes), what `ledger verify` pays for not slowing every transfer.
    func transferSums(on sql: any SQLDatabase) async throws -> [String: LedgerBalance] {
        try await sql.raw("""
            WITH amounts AS (
                SELECT t.debit_account_id, t.credit_account_id,
                    CASE WHEN t.kind IN ('posted', 'post_pending') THEN t.amount ELSE 0 END AS posted,
                    CASE WHEN t.kind = 'pending' AND NOT EXISTS (
                        SELECT 1 FROM ledger_transfers r WHERE r.tenant_id = t.tenant_id AND r.pending_id = t.id) THEN t.amount ELSE 0 END AS pending
                FROM ledger_transfers t WHERE t.tenant_id = \(bind: tenantID)),
            sides AS (
                SELECT debit_account_id AS account_id, posted AS posted_debits, pending AS pending_debits, 0 AS posted_credits, 0 AS pending_credits FROM amounts
                UNION ALL
                SELECT credit_account_id, 0, 0, posted, pending FROM amounts)
            SELECT account_id, CAST(sum(posted_debits) AS BIGINT) AS posted_debits, CAST(sum(pending_debits) AS BIGINT) AS pending_debits,
                CAST(sum(posted_credits) AS BIGINT) AS posted_credits, CAST(sum(pending_credits) AS BIGINT) AS pending_credits
            FROM sides GROUP BY account_id
            """).all().reduce(into: [:]) { sums, row in
            sums[try row.decode(column: "account_id", as: String.self)] = LedgerBalance(
                debitsPending: try row.decode(column: "pending_debits", as: Int64.self), debitsPosted: try row.decode(column: "posted_debits", as: Int64.self),
                creditsPending: try row.decode(column: "pending_credits", as: Int64.self), creditsPosted: try row.decode(column: "posted_credits", as: Int64.self))
        }
    }

    /// A page of the tenant's accounts in id order, each with what its transfers add up to
    /// (`sums`, from `transferSums`) — what `ledger verify` compares.
    func audit(on sql: any SQLDatabase, after cursor: String?, limit: Int, sums: [String: LedgerBalance]) async throws -> [LedgerAudit.Account] {
        var query: SQLQueryString = "SELECT * FROM ledger_accounts WHERE tenant_id = \(bind: tenantID)"
        if let cursor { query += " AND id > \(bind: cursor)" }
        query += " ORDER BY id LIMIT \(literal: limit)"
        return try await sql.raw(query).all().map { row in
            let account = try Self.account(row)
            return LedgerAudit.Account(id: account.id, unit: account.unit, cached: account.balance, fromTransfers: sums[account.id] ?? .zero)
        }
    }

    /// Transfers whose unit differs from one of their accounts' (the store never writes one; a hand-edited database might).
    func mismatchedTransfers(on sql: any SQLDatabase, limit: Int) async throws -> [String] {
        try await sql.raw("""
            SELECT t.id FROM ledger_transfers t
            LEFT JOIN ledger_accounts d ON d.tenant_id = t.tenant_id AND d.id = t.debit_account_id
            LEFT JOIN ledger_accounts c ON c.tenant_id = t.tenant_id AND c.id = t.credit_account_id
            WHERE t.tenant_id = \(bind: tenantID) AND (d.unit IS NULL OR c.unit IS NULL OR d.unit <> t.unit OR c.unit <> t.unit)
            ORDER BY t.id LIMIT \(literal: limit)
            """).all().map { try $0.decode(column: "id", as: String.self) }
    }

    /// Holds whose open row disagrees with their transfers: open but resolved, or unresolved with no
    /// open row (it would never expire). The store never leaves either.
    func holdsOutOfStep(on sql: any SQLDatabase, limit: Int) async throws -> [String] {
        try await sql.raw("""
            SELECT t.id FROM ledger_transfers t
            LEFT JOIN ledger_open_holds o ON o.tenant_id = t.tenant_id AND o.transfer_id = t.id
            WHERE t.tenant_id = \(bind: tenantID) AND t.kind = 'pending'
              AND (o.transfer_id IS NULL) = (NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.tenant_id = t.tenant_id AND r.pending_id = t.id))
            UNION ALL
            SELECT o.transfer_id AS id FROM ledger_open_holds o
            LEFT JOIN ledger_transfers t ON t.tenant_id = o.tenant_id AND t.id = o.transfer_id AND t.kind = 'pending'
            WHERE o.tenant_id = \(bind: tenantID) AND t.id IS NULL
            ORDER BY id LIMIT \(literal: limit)
            """).all().map { try $0.decode(column: "id", as: String.self) }
    }

    private static func unit(_ row: any SQLRow) throws -> LedgerUnit {
        let text = try row.decode(column: "unit", as: String.self)
        guard let unit = LedgerUnit(rawValue: text) else { throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "ledger unit '\(text)'")) }
        return unit
    }

    private static func transfer(_ row: any SQLRow) throws -> LedgerTransfer {
        LedgerTransfer(
            id: try row.decode(column: "id", as: String.self), kind: try row.decode(column: "kind", as: String.self),
            debitAccountId: try row.decode(column: "debit_account_id", as: String.self),
            creditAccountId: try row.decode(column: "credit_account_id", as: String.self), amount: try row.decode(column: "amount", as: Int64.self),
            unit: try unit(row), pendingId: try row.decode(column: "pending_id", as: String?.self),
            expiresAt: try row.decode(column: "expires_at", as: Int64?.self).map(StoredTime.init(milliseconds:)),
            reason: try row.decode(column: "reason", as: String?.self), createdAt: StoredTime(milliseconds: try row.decode(column: "created_at", as: Int64.self)))
    }

    static func account(_ row: any SQLRow) throws -> LedgerAccount {
        LedgerAccount(
            id: try row.decode(column: "id", as: String.self), unit: try unit(row), kind: try row.decode(column: "kind", as: String.self),
            customerID: try row.decode(column: "customer_id", as: String?.self),
            flags: LedgerAccountFlags(rawValue: try row.decode(column: "flags", as: Int.self)),
            balance: LedgerBalance(debitsPending: try row.decode(column: "debits_pending", as: Int64.self),
                                   debitsPosted: try row.decode(column: "debits_posted", as: Int64.self),
                                   creditsPending: try row.decode(column: "credits_pending", as: Int64.self),
                                   creditsPosted: try row.decode(column: "credits_posted", as: Int64.self)))
    }
}
