import OmniaCore
import SQLKit

/// The SQL of sales and returns. A transaction and all its lines are written in two statements and
/// read back in two, whatever the number of lines.
struct TransactionStore: Sendable {
    let tenantID: String

    /// The transaction a channel already recorded under `externalID`, if any.
    /// An independent read (`independentRows`): a sale recorded under the id meanwhile makes the
    /// insert fail at commit, and the retry finds it.
    func existing(on sql: any SQLDatabase, channelID: String, externalID: String) async throws -> TransactionRow? {
        try await sql.independentRows("""
            SELECT * FROM transactions WHERE tenant_id = \(bind: tenantID) AND channel_id = \(bind: channelID) AND external_id = \(bind: externalID)
            """).first.map { try RowDecoder.decode(TransactionRow.self, from: $0) }
    }

    func row(on sql: any SQLDatabase, id: String) async throws -> TransactionRow? {
        try await sql.raw("SELECT * FROM transactions WHERE tenant_id = \(bind: tenantID) AND id = \(bind: id)").row(TransactionRow.self)
    }

    func row(on sql: any SQLDatabase, claimCode: String) async throws -> TransactionRow? {
        try await sql.raw("SELECT * FROM transactions WHERE tenant_id = \(bind: tenantID) AND claim_code = \(bind: claimCode)").row(TransactionRow.self)
    }

    func row(on sql: any SQLDatabase, receiptToken: String) async throws -> TransactionRow? {
        try await sql.raw("SELECT * FROM transactions WHERE tenant_id = \(bind: tenantID) AND receipt_token = \(bind: receiptToken)").row(TransactionRow.self)
    }

    /// The lines of each transaction, in line order, in one query.
    func lines(on sql: any SQLDatabase, of transactionIDs: [String]) async throws -> [String: [TransactionLine]] {
        guard !transactionIDs.isEmpty else { return [:] }
        let rows = try await sql.raw("""
            SELECT * FROM transaction_lines WHERE tenant_id = \(bind: tenantID) AND transaction_id IN (\(binds: transactionIDs))
            ORDER BY transaction_id, line_number
            """).all()
        var lines: [String: [TransactionLine]] = [:]
        for row in rows {
            lines[try row.decode(column: "transaction_id", as: String.self), default: []].append(try RowDecoder.decode(TransactionLine.self, from: row))
        }
        return lines
    }

    /// The lines of a sale a return is about to take units back from, locked on PostgreSQL until
    /// the transaction ends, so that concurrent returns of one sale are planned one after another
    /// on what the previous one left (SQLite has one writer: nothing changes under it).
    func linesForReturn(on sql: any SQLDatabase, dialect: SQLDialectKind, saleID: String) async throws -> [TransactionLine] {
        try await sql.raw("""
            SELECT * FROM transaction_lines WHERE tenant_id = \(bind: tenantID) AND transaction_id = \(bind: saleID)
            ORDER BY line_number\(unsafeRaw: dialect == .postgres ? " FOR UPDATE" : "")
            """).rows(TransactionLine.self)
    }

    /// The API view of each row, lines included, in one more query.
    func views(on sql: any SQLDatabase, _ rows: [TransactionRow]) async throws -> [SalesTransaction] {
        let lines = try await self.lines(on: sql, of: rows.map(\.id))
        return rows.map { SalesTransaction(row: $0, lines: lines[$0.id] ?? []) }
    }

    /// One page of a customer's transactions (the whole merged cluster), newest first, optionally of one channel.
    func page(on sql: any SQLDatabase, customerID: String, channelID: String?, page: PageRequest) async throws -> [TransactionRow] {
        var query: SQLQueryString = """
            SELECT * FROM transactions WHERE tenant_id = \(bind: tenantID)
            AND customer_id IN (SELECT id FROM customers WHERE tenant_id = \(bind: tenantID) AND canonical_id = \(bind: customerID))
            """
        if let channelID { query += " AND channel_id = \(bind: channelID)" }
        if let cursor = page.startingAfter { query += " AND id < \(bind: cursor)" }
        query += " ORDER BY id DESC LIMIT \(literal: page.limit + 1)"
        return try await sql.raw(query).rows(TransactionRow.self)
    }

    /// What the returns of a sale recorded so far refunded, before taxes.
    func refundedSubtotal(on sql: any SQLDatabase, saleID: String) async throws -> Int64 {
        try await sql.raw("""
            SELECT CAST(COALESCE(SUM(subtotal), 0) AS BIGINT) AS refunded FROM transactions
            WHERE tenant_id = \(bind: tenantID) AND original_id = \(bind: saleID) AND kind = 'return'
            """).first(decodingColumn: "refunded", as: Int64.self) ?? 0
    }

    /// What the returns of a sale recorded so far refunded in all, taxes included.
    func refundedTotal(on sql: any SQLDatabase, saleID: String) async throws -> Int64 {
        try await sql.raw("""
            SELECT CAST(COALESCE(SUM(total), 0) AS BIGINT) AS refunded FROM transactions
            WHERE tenant_id = \(bind: tenantID) AND original_id = \(bind: saleID) AND kind = 'return'
            """).first(decodingColumn: "refunded", as: Int64.self) ?? 0
    }

    // MARK: Writes

    /// Writes the transaction and its lines. On PostgreSQL they are held to commit; another request
    /// recording the same external id at the same instant makes this one run again and find it.
    func insert(on sql: any SQLDatabase, _ row: TransactionRow, lines: [TransactionLine]) async throws {
        try await insert(on: sql, [(row, lines)])
    }

    /// Transactions per statement, and lines per statement, for a bulk import: well under the
    /// databases' limits on bound values, and the same text (SQLite's cached statement) from one
    /// full batch to the next.
    static let rowsPerStatement = 100
    static let linesPerStatement = 400

    /// Writes many transactions and their lines, a multi-row statement per batch, and adds them to
    /// the tenant's hourly sums (`TransactionHours`).
    func insert(on sql: any SQLDatabase, _ transactions: [(row: TransactionRow, lines: [TransactionLine])]) async throws {
        for batch in transactions.chunks(of: Self.rowsPerStatement) {
            try await sql.insertRows(into: "transactions", columns: Self.transactionColumns, batch,
                                     ifDuplicate: DuplicateRule(table: "transactions", error: TransactionRaceLost())) { transaction, values in
                let row = transaction.row
                values.add(tenantID)
                values.add(row.id)
                values.add(row.kind)
                values.add(row.channelId)
                values.add(row.locationId)
                values.add(row.externalId)
                values.add(row.customerId)
                values.add(row.originalId)
                values.add(row.occurredAt)
                values.add(row.currency)
                values.add(row.subtotal)
                values.add(row.discountTotal)
                values.add(row.taxTotal)
                values.add(row.taxesIncluded)
                values.add(row.total)
                values.add(row.discounts)
                values.add(row.taxes)
                values.add(row.tenders)
                values.add(row.claimCode)
                values.add(row.claimedAt)
                values.add(row.receiptToken)
                values.add(row.contentHash)
                values.add(row.createdAt)
            }
        }
        try await TransactionHours(tenantID: tenantID).add(on: sql, transactions.map(\.row))
        let lines = transactions.flatMap { transaction in transaction.lines.map { (transactionID: transaction.row.id, line: $0) } }
        for batch in lines.chunks(of: Self.linesPerStatement) {
            try await sql.insertRows(into: "transaction_lines", columns: Self.lineColumns, batch) { entry, values in
                let line = entry.line
                values.add(tenantID)
                values.add(entry.transactionID)
                values.add(line.lineNumber)
                values.add(line.sku)
                values.add(line.name)
                values.add(line.category)
                values.add(line.quantity)
                values.add(line.unitPrice)
                values.add(line.discount)
                values.add(line.total)
                values.add(line.netTotal)
                values.add(Int64(0))
                values.add(line.originalLine)
                values.add(line.reason)
            }
        }
    }

    private static let transactionColumns = [
        "tenant_id", "id", "kind", "channel_id", "location_id", "external_id", "customer_id", "original_id", "occurred_at", "currency", "subtotal",
        "discount_total", "tax_total", "taxes_included", "total", "discounts", "taxes", "tenders", "claim_code", "claimed_at", "receipt_token",
        "content_hash", "created_at",
    ]
    private static let lineColumns = [
        "tenant_id", "transaction_id", "line_number", "sku", "name", "category", "quantity", "unit_price", "discount", "total", "net_total",
        "returned_quantity", "original_line", "reason",
    ]

    /// The transactions already recorded in `channelID` under any of `externalIDs`: id and content hash by external id.
    func existing(on sql: any SQLDatabase, channelID: String, externalIDs: [String]) async throws -> [String: (id: String, contentHash: String)] {
        var found: [String: (id: String, contentHash: String)] = [:]
        for batch in externalIDs.chunks(of: 500) {
            // Independent: a sale recorded meanwhile under one of these ids fails the insert on the unique index.
            let rows = try await sql.independentRows("""
                SELECT id, external_id, content_hash FROM transactions
                WHERE tenant_id = \(bind: tenantID) AND channel_id = \(bind: channelID) AND external_id IN (\(binds: Array(batch)))
                """)
            for row in rows {
                found[try row.decode(column: "external_id", as: String.self)] = (try row.decode(column: "id", as: String.self),
                                                                               try row.decode(column: "content_hash", as: String.self))
            }
        }
        return found
    }

    /// Raises a sale line's returned quantity by `quantity` only if that stays within what was sold:
    /// one conditional write, so concurrent returns of the same line can never return more than was
    /// sold. Returns the returned quantity after the write, or nil when it would over-return.
    func takeBack(on sql: any SQLDatabase, saleID: String, lineNumber: Int, quantity: Int64) async throws -> Int64? {
        try await sql.raw("""
            UPDATE transaction_lines SET returned_quantity = returned_quantity + \(bind: quantity)
            WHERE tenant_id = \(bind: tenantID) AND transaction_id = \(bind: saleID) AND line_number = \(bind: lineNumber)
            AND returned_quantity + \(bind: quantity) <= quantity
            RETURNING returned_quantity
            """).first(decodingColumn: "returned_quantity", as: Int64.self)
    }

    /// Gives an unclaimed anonymous sale to `customerID` — a conditional write, so of two people
    /// claiming one code at the same instant exactly one gets it. Nil when it is not claimable.
    func claim(on sql: any SQLDatabase, claimCode: String, customerID: String, now: Int64) async throws -> TransactionRow? {
        let claimed = try await sql.raw("""
            UPDATE transactions SET customer_id = \(bind: customerID), claimed_at = \(bind: now)
            WHERE tenant_id = \(bind: tenantID) AND claim_code = \(bind: claimCode) AND customer_id IS NULL
            RETURNING *
            """).row(TransactionRow.self)
        if let claimed { try await TransactionHours(tenantID: tenantID).claimed(on: sql, [claimed]) }
        return claimed
    }

    /// Gives the anonymous returns of a just-claimed sale to the same customer.
    func claimReturns(on sql: any SQLDatabase, saleID: String, customerID: String, now: Int64) async throws -> [TransactionRow] {
        let returns = try await sql.raw("""
            UPDATE transactions SET customer_id = \(bind: customerID), claimed_at = \(bind: now)
            WHERE tenant_id = \(bind: tenantID) AND original_id = \(bind: saleID) AND customer_id IS NULL
            RETURNING *
            """).rows(TransactionRow.self).sorted { $0.id < $1.id }
        try await TransactionHours(tenantID: tenantID).claimed(on: sql, returns)
        return returns
    }
}
