import OmniaCore
import SQLKit

/// One movement to post: `amount` of `unit` taken from `debitAccountID` and given to `creditAccountID`.
struct LedgerTransferRequest: Sendable, Equatable {
    let debitAccountID: String
    let creditAccountID: String
    let amount: Int64
    let unit: LedgerUnit
}

/// A posted transfer as stored; immutable once written.
struct LedgerTransfer: Sendable, Equatable, Encodable {
    let id: String
    let kind: String
    let debitAccountId: String
    let creditAccountId: String
    let amount: Int64
    let unit: LedgerUnit
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
    private static let debitLimit = LedgerAccountFlags.debitsMustNotExceedCredits.rawValue
    private static let creditLimit = LedgerAccountFlags.creditsMustNotExceedDebits.rawValue

    /// The tenant's own account for `purpose` in `unit` (`ctl_gift_cards_issued_EUR`): where value
    /// comes from and goes to. Control accounts carry no limit and are created on first use.
    static func controlAccountID(_ purpose: String, unit: LedgerUnit) -> String { "ctl_\(purpose)_\(unit.rawValue)" }

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

    /// Opens (if need be) the control account for `purpose` in `unit` and returns its id.
    func controlAccount(on sql: any SQLDatabase, _ purpose: String, unit: LedgerUnit, now: Int64) async throws -> String {
        let id = Self.controlAccountID(purpose, unit: unit)
        try await open(on: sql, id: id, unit: unit, kind: "control", customerID: nil, flags: [], now: now)
        return id
    }

    /// Posts `transfers` in order, or refuses the first that breaks a rule and throws `LedgerRefused`
    /// (the caller's transaction then writes nothing of any of them).
    func post(on sql: any SQLDatabase, _ transfers: [LedgerTransferRequest], ids: IDGenerator, reason: String?, requestID: String?,
              now: Int64) async throws -> [LedgerTransfer] {
        var posted: [LedgerTransfer] = []
        for transfer in transfers {
            guard transfer.amount > 0 else { throw LedgerRefused(refusal: .amountNotPositive, accountID: nil) }
            guard transfer.debitAccountID != transfer.creditAccountID else { throw LedgerRefused(refusal: .sameAccount, accountID: transfer.debitAccountID) }
            try await add(on: sql, transfer.amount, unit: transfer.unit, to: transfer.debitAccountID, side: .debit)
            try await add(on: sql, transfer.amount, unit: transfer.unit, to: transfer.creditAccountID, side: .credit)
            let stored = LedgerTransfer(id: ids.make(.ledgerTransfer), kind: "posted", debitAccountId: transfer.debitAccountID,
                                        creditAccountId: transfer.creditAccountID, amount: transfer.amount, unit: transfer.unit, reason: reason,
                                        createdAt: StoredTime(milliseconds: now))
            try await sql.raw("""
                INSERT INTO ledger_transfers (tenant_id, id, kind, debit_account_id, credit_account_id, amount, unit, reason, request_id, created_at)
                VALUES (\(bind: tenantID), \(bind: stored.id), \(bind: stored.kind), \(bind: stored.debitAccountId), \(bind: stored.creditAccountId),
                        \(bind: stored.amount), \(bind: stored.unit.rawValue), \(bind: reason), \(bind: requestID), \(bind: now))
                """).run()
            posted.append(stored)
        }
        return posted
    }

    private enum Side { case debit, credit }

    /// Adds a posted amount to one side of an account if its unit matches and its limit allows;
    /// otherwise reads the account to say why not. (The sum never passes Int64.max: SQLite would
    /// turn an overflowing integer into a float.)
    private func add(on sql: any SQLDatabase, _ amount: Int64, unit: LedgerUnit, to accountID: String, side: Side) async throws {
        let updated: SQLQueryString = switch side {
        case .debit: """
            UPDATE ledger_accounts SET debits_posted = debits_posted + \(bind: amount)
            WHERE tenant_id = \(bind: tenantID) AND id = \(bind: accountID) AND unit = \(bind: unit.rawValue)
              AND debits_posted <= \(bind: Int64.max - amount)
              AND ((flags & \(literal: Self.debitLimit)) = 0 OR debits_posted + debits_pending + \(bind: amount) <= credits_posted)
            RETURNING id
            """
        case .credit: """
            UPDATE ledger_accounts SET credits_posted = credits_posted + \(bind: amount)
            WHERE tenant_id = \(bind: tenantID) AND id = \(bind: accountID) AND unit = \(bind: unit.rawValue)
              AND credits_posted <= \(bind: Int64.max - amount)
              AND ((flags & \(literal: Self.creditLimit)) = 0 OR credits_posted + credits_pending + \(bind: amount) <= debits_posted)
            RETURNING id
            """
        }
        guard try await sql.raw(updated).all().isEmpty else { return }
        guard let account = try await accounts(on: sql, ids: [accountID]).first else { throw LedgerRefused(refusal: .unknownAccount, accountID: accountID) }
        guard account.unit == unit else { throw LedgerRefused(refusal: .unitMismatch, accountID: accountID) }
        do {
            _ = try side == .debit ? account.balance.debiting(amount, flags: account.flags) : account.balance.crediting(amount, flags: account.flags)
        } catch {
            throw LedgerRefused(refusal: error, accountID: accountID)
        }
        // The update found a row the rule accepts: only a concurrent change between the two reads explains it.
        throw LedgerRefused(refusal: side == .debit ? .exceedsCredits : .exceedsDebits, accountID: accountID)
    }

    func accounts(on sql: any SQLDatabase, ids: [String]) async throws -> [LedgerAccount] {
        guard !ids.isEmpty else { return [] }
        return try await sql.raw("""
            SELECT * FROM ledger_accounts WHERE tenant_id = \(bind: tenantID) AND id IN (\(binds: ids)) ORDER BY id
            """).all().map(Self.account)
    }

    /// A page of the tenant's accounts in id order, each with the sums its posted transfers give
    /// (one indexed sum per side and account) — what `ledger verify` compares.
    func audit(on sql: any SQLDatabase, after cursor: String?, limit: Int) async throws -> [LedgerAudit.Account] {
        var query: SQLQueryString = """
            SELECT a.*,
                (SELECT CAST(COALESCE(sum(t.amount), 0) AS BIGINT) FROM ledger_transfers t
                 WHERE t.tenant_id = a.tenant_id AND t.debit_account_id = a.id AND t.kind = 'posted') AS transfer_debits,
                (SELECT CAST(COALESCE(sum(t.amount), 0) AS BIGINT) FROM ledger_transfers t
                 WHERE t.tenant_id = a.tenant_id AND t.credit_account_id = a.id AND t.kind = 'posted') AS transfer_credits
            FROM ledger_accounts a WHERE a.tenant_id = \(bind: tenantID)
            """
        if let cursor { query += " AND a.id > \(bind: cursor)" }
        query += " ORDER BY a.id LIMIT \(literal: limit)"
        return try await sql.raw(query).all().map { row in
            let account = try Self.account(row)
            // No holds yet: every transfer is posted, so nothing may be pending.
            let fromTransfers = LedgerBalance(debitsPending: 0, debitsPosted: try row.decode(column: "transfer_debits", as: Int64.self),
                                              creditsPending: 0, creditsPosted: try row.decode(column: "transfer_credits", as: Int64.self))
            return LedgerAudit.Account(id: account.id, unit: account.unit, cached: account.balance, fromTransfers: fromTransfers)
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

    private static func account(_ row: any SQLRow) throws -> LedgerAccount {
        let unitText = try row.decode(column: "unit", as: String.self)
        guard let unit = LedgerUnit(rawValue: unitText) else { throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "ledger unit '\(unitText)'")) }
        return LedgerAccount(
            id: try row.decode(column: "id", as: String.self), unit: unit, kind: try row.decode(column: "kind", as: String.self),
            customerID: try row.decode(column: "customer_id", as: String?.self),
            flags: LedgerAccountFlags(rawValue: try row.decode(column: "flags", as: Int.self)),
            balance: LedgerBalance(debitsPending: try row.decode(column: "debits_pending", as: Int64.self),
                                   debitsPosted: try row.decode(column: "debits_posted", as: Int64.self),
                                   creditsPending: try row.decode(column: "credits_pending", as: Int64.self),
                                   creditsPosted: try row.decode(column: "credits_posted", as: Int64.self)))
    }
}
