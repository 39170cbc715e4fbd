/// What `omnia ledger verify` checks: every unit's accounts sum to zero (each transfer takes from
/// one account exactly what it gives another), and every account's cached balance equals the sums
/// of its own transfers. The database supplies the sums, a page of accounts at a time; the
/// judgement is here.
public struct LedgerAudit: Sendable {
    /// One account as stored, beside the balance its transfers add up to.
    public struct Account: Sendable {
        public let id: String
        public let unit: LedgerUnit
        public let cached: LedgerBalance
        public let fromTransfers: LedgerBalance

        public init(id: String, unit: LedgerUnit, cached: LedgerBalance, fromTransfers: LedgerBalance) {
            self.id = id
            self.unit = unit
            self.cached = cached
            self.fromTransfers = fromTransfers
        }
    }

    public enum Finding: Hashable, Sendable, CustomStringConvertible {
        /// The unit's cached posted balances (credits minus debits) add up to `sum`, not zero.
        case unitDoesNotSumToZero(LedgerUnit, sum: Int64)
        case balanceDiffersFromTransfers(accountID: String, cached: LedgerBalance, fromTransfers: LedgerBalance)
        /// A transfer between accounts of another unit than its own, or naming an account that does not exist.
        case transferUnitMismatch(transferID: String)
        /// A hold listed as open though captured or voided, or unresolved but not listed (it would never expire).
        case holdOutOfStep(transferID: String)
        /// A points account whose lots hold `lots` points while its posted balance is `balance`.
        case lotsOutOfStep(accountID: String, lots: Int64, balance: Int64)

        public var description: String {
            switch self {
            case .unitDoesNotSumToZero(let unit, let sum):
                "\(unit): accounts sum to \(sum), not 0"
            case .balanceDiffersFromTransfers(let id, let cached, let fromTransfers):
                "\(id): cached \(Self.sums(cached)); its transfers give \(Self.sums(fromTransfers))"
            case .transferUnitMismatch(let id):
                "\(id): names an account that does not exist or counts another unit"
            case .holdOutOfStep(let id):
                "\(id): a hold whose open state disagrees with its capture or void"
            case .lotsOutOfStep(let id, let lots, let balance):
                "\(id): its lots hold \(lots) points; its posted balance is \(balance)"
            }
        }

        private static func sums(_ balance: LedgerBalance) -> String {
            "debits \(balance.debitsPosted) posted, \(balance.debitsPending) pending; credits \(balance.creditsPosted) posted, \(balance.creditsPending) pending"
        }
    }

    public private(set) var accountsChecked = 0
    private var unitSums: [LedgerUnit: Int64] = [:]
    private var accountFindings: [Finding] = []
    private var transferFindings: [Finding] = []

    public init() {}

    public mutating func check(_ account: Account) {
        accountsChecked += 1
        unitSums[account.unit, default: 0] &+= account.cached.posted
        if account.cached != account.fromTransfers {
            accountFindings.append(.balanceDiffersFromTransfers(accountID: account.id, cached: account.cached, fromTransfers: account.fromTransfers))
        }
    }

    public mutating func reportMismatchedTransfers(_ ids: [String]) {
        transferFindings += ids.map { .transferUnitMismatch(transferID: $0) }
    }

    public mutating func reportLotsOutOfStep(_ accounts: [(accountID: String, lots: Int64, balance: Int64)]) {
        transferFindings += accounts.map { .lotsOutOfStep(accountID: $0.accountID, lots: $0.lots, balance: $0.balance) }
    }

    public mutating func reportHoldsOutOfStep(_ ids: [String]) {
        transferFindings += ids.map { .holdOutOfStep(transferID: $0) }
    }

    /// Units that do not sum to zero first (in unit order), then accounts and transfers in the order checked; empty when the ledger is sound.
    public var findings: [Finding] {
        unitSums.filter { $0.value != 0 }.sorted { $0.key.rawValue < $1.key.rawValue }.map { .unitDoesNotSumToZero($0.key, sum: $0.value) }
            + accountFindings + transferFindings
    }
}
