/// The limits an account keeps whatever the channel or process writing to it (TigerBeetle's account
/// flags). A customer's gift card, points or credit may never give out more than was put in:
/// `debitsMustNotExceedCredits`. The tenant's own control accounts carry no limit.
public struct LedgerAccountFlags: OptionSet, Hashable, Sendable, Codable {
    public let rawValue: Int

    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Debits (posted and pending) never above posted credits: the balance cannot go below zero.
    public static let debitsMustNotExceedCredits = LedgerAccountFlags(rawValue: 1)
    /// Credits (posted and pending) never above posted debits.
    public static let creditsMustNotExceedDebits = LedgerAccountFlags(rawValue: 2)
}

/// An account's four running sums, kept as TigerBeetle keeps them: what each side has posted, and
/// what each side has on hold (pending) until it is captured or released. Every amount is an
/// integer of the account's unit.
public struct LedgerBalance: Hashable, Sendable, Codable {
    public var debitsPending: Int64
    public var debitsPosted: Int64
    public var creditsPending: Int64
    public var creditsPosted: Int64

    public static let zero = LedgerBalance(debitsPending: 0, debitsPosted: 0, creditsPending: 0, creditsPosted: 0)

    public init(debitsPending: Int64, debitsPosted: Int64, creditsPending: Int64, creditsPosted: Int64) {
        self.debitsPending = debitsPending
        self.debitsPosted = debitsPosted
        self.creditsPending = creditsPending
        self.creditsPosted = creditsPosted
    }

    /// Posted credits minus posted debits: what a customer's instrument holds for them (a
    /// liability of the retailer's, so it lives on the credit side).
    public var posted: Int64 { creditsPosted - debitsPosted }

    /// What can still be taken: the posted balance less what checkouts hold.
    public var available: Int64 { creditsPosted - debitsPosted - debitsPending }

    /// The balance after a posted debit of `amount`, or why an account with `flags` refuses it.
    public func debiting(_ amount: Int64, flags: LedgerAccountFlags) throws(LedgerRefusal) -> LedgerBalance {
        try changing(LedgerChange(debitsPosted: amount), flags: flags)
    }

    /// The balance after a posted credit of `amount`, or why an account with `flags` refuses it.
    public func crediting(_ amount: Int64, flags: LedgerAccountFlags) throws(LedgerRefusal) -> LedgerBalance {
        try changing(LedgerChange(creditsPosted: amount), flags: flags)
    }

    /// The balance after `change`, or why an account with `flags` refuses it. A capture or a void
    /// lowers a pending sum by the hold and raises a posted one by at most as much, so it never
    /// breaks a limit the hold kept.
    public func changing(_ change: LedgerChange, flags: LedgerAccountFlags) throws(LedgerRefusal) -> LedgerBalance {
        var next = self
        next.debitsPosted = try Self.adding(change.debitsPosted, to: debitsPosted)
        next.debitsPending = try Self.adding(change.debitsPending, to: debitsPending)
        next.creditsPosted = try Self.adding(change.creditsPosted, to: creditsPosted)
        next.creditsPending = try Self.adding(change.creditsPending, to: creditsPending)
        try next.check(flags)
        return next
    }

    /// Whether this balance keeps the limits of `flags`; the database's conditional update states the same rule.
    func check(_ flags: LedgerAccountFlags) throws(LedgerRefusal) {
        if flags.contains(.debitsMustNotExceedCredits), debitsPosted > creditsPosted - debitsPending {
            throw .exceedsCredits
        }
        if flags.contains(.creditsMustNotExceedDebits), creditsPosted > debitsPosted - creditsPending {
            throw .exceedsDebits
        }
    }

    private static func adding(_ amount: Int64, to sum: Int64) throws(LedgerRefusal) -> Int64 {
        let (result, overflow) = sum.addingReportingOverflow(amount)
        guard !overflow else { throw .overflow }
        return result
    }
}

/// What one transfer does to one account's four sums: a posted transfer raises a posted sum, a hold
/// a pending one, and its capture or void lowers that pending sum again (raising the posted one by
/// what is captured).
public struct LedgerChange: Hashable, Sendable {
    public var debitsPosted: Int64
    public var debitsPending: Int64
    public var creditsPosted: Int64
    public var creditsPending: Int64

    public init(debitsPosted: Int64 = 0, debitsPending: Int64 = 0, creditsPosted: Int64 = 0, creditsPending: Int64 = 0) {
        self.debitsPosted = debitsPosted
        self.debitsPending = debitsPending
        self.creditsPosted = creditsPosted
        self.creditsPending = creditsPending
    }
}

/// Why the ledger refuses a transfer. Nothing of a refused transfer is written.
public enum LedgerRefusal: String, Error, Sendable, Equatable {
    /// Zero or negative: a movement back is a transfer the other way.
    case amountNotPositive = "amount_not_positive"
    case sameAccount = "same_account"
    /// The two accounts, or the transfer and an account, count different units.
    case unitMismatch = "unit_mismatch"
    case unknownAccount = "unknown_account"
    /// The debit would take more than the account holds (`insufficient_funds` in the API).
    case exceedsCredits = "exceeds_credits"
    case exceedsDebits = "exceeds_debits"
    case overflow
    /// No hold with that id in the tenant.
    case holdNotFound = "hold_not_found"
    /// The hold was captured or voided already (a retry of either without its `Idempotency-Key`, or a race lost).
    case holdAlreadyResolved = "hold_already_resolved"
    /// The hold's expiry passed; its value is released.
    case holdExpired = "hold_expired"
    /// A capture of more than the hold reserved.
    case exceedsHold = "exceeds_hold"
}
