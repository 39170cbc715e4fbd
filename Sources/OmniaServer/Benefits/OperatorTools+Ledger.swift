import OmniaCore
import SQLKit

extension OperatorTools {
    /// What `omnia ledger verify` found in one tenant's ledger.
    public struct LedgerVerification: Sendable {
        public let tenantID: String
        public let accounts: Int
        public let findings: [LedgerAudit.Finding]
    }

    /// Checks every tenant's ledger (or one's): each unit sums to zero, each cached balance equals its
    /// transfers, each hold is open exactly while unresolved. A tenant is read in one snapshot (transfers posted meanwhile would make a sound
    /// ledger look unbalanced): its transfers summed per account in one pass, then its accounts a page at a time.
    public func verifyLedger(tenant: String?) async throws -> [LedgerVerification] {
        let tenantIDs: [String]
        if let tenant {
            tenantIDs = [try await resolveTenantID(tenant)]
        } else {
            tenantIDs = try await services.database.read { sql in
                try await sql.raw("SELECT DISTINCT tenant_id FROM ledger_accounts ORDER BY tenant_id").all()
                    .map { try $0.decode(column: "tenant_id", as: String.self) }
            }
        }
        var verifications: [LedgerVerification] = []
        for tenantID in tenantIDs {
            let audit = try await services.database.snapshot { sql in
                let store = LedgerStore(tenantID: tenantID)
                var audit = LedgerAudit()
                let sums = try await store.transferSums(on: sql)
                var cursor: String?
                while true {
                    let page = try await store.audit(on: sql, after: cursor, limit: Self.ledgerAuditPage, sums: sums)
                    for account in page { audit.check(account) }
                    guard page.count == Self.ledgerAuditPage, let last = page.last else { break }
                    cursor = last.id
                }
                audit.reportMismatchedTransfers(try await store.mismatchedTransfers(on: sql, limit: 100))
                audit.reportHoldsOutOfStep(try await store.holdsOutOfStep(on: sql, limit: 100))
                audit.reportLotsOutOfStep(try await LoyaltyService.lotsOutOfStep(on: sql, tenantID: tenantID, limit: 100))
                return audit
            }
            verifications.append(LedgerVerification(tenantID: tenantID, accounts: audit.accountsChecked, findings: audit.findings))
        }
        return verifications
    }

    static let ledgerAuditPage = 1_000
}
