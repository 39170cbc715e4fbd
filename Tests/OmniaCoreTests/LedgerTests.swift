import OmniaCore
import Testing

@Suite("Ledger rules")
struct LedgerTests {
    private let card = LedgerAccountFlags.debitsMustNotExceedCredits

    @Test("a unit is a known ISO 4217 currency or points, nothing else")
    func units() throws {
        #expect(LedgerUnit(rawValue: "EUR") == .currency(try #require(Currency(code: "EUR"))))
        #expect(LedgerUnit(rawValue: "points") == .points)
        for bad in ["eur", "EURO", "XXX", "", "Points", "points:"] { #expect(LedgerUnit(rawValue: bad) == nil, "\(bad)") }
    }

    @Test("a card gives out what was put on it and not a unit more, holds included")
    func cardLimit() throws {
        let loaded = try LedgerBalance.zero.crediting(5_000, flags: card)
        #expect(loaded.posted == 5_000 && loaded.available == 5_000)
        let spent = try loaded.debiting(5_000, flags: card)
        #expect(spent.posted == 0)
        #expect(throws: LedgerRefusal.exceedsCredits) { try loaded.debiting(5_001, flags: card) }
        var held = loaded
        held.debitsPending = 2_000
        #expect(held.available == 3_000)
        #expect(throws: LedgerRefusal.exceedsCredits) { try held.debiting(3_001, flags: card) }
        #expect(try held.debiting(3_000, flags: card).available == 0)
    }

    @Test("a capture posts at most what was held and releases the whole hold; a void releases it untouched")
    func holdChanges() throws {
        let loaded = try LedgerBalance.zero.crediting(1_000, flags: card)
        let held = try loaded.changing(LedgerChange(debitsPending: 600), flags: card)
        #expect(held.available == 400 && held.posted == 1_000)
        #expect(throws: LedgerRefusal.exceedsCredits) { try held.changing(LedgerChange(debitsPending: 401), flags: card) }
        let captured = try held.changing(LedgerChange(debitsPosted: 450, debitsPending: -600), flags: card)
        #expect(captured == LedgerBalance(debitsPending: 0, debitsPosted: 450, creditsPending: 0, creditsPosted: 1_000))
        #expect(try held.changing(LedgerChange(debitsPending: -600), flags: card) == loaded)
    }

    @Test("an account without limits may go negative; one limited on credits may not take more than it gave")
    func otherLimits() throws {
        let control = try LedgerBalance.zero.debiting(5_000, flags: [])
        #expect(control.posted == -5_000)
        #expect(throws: LedgerRefusal.exceedsDebits) { try LedgerBalance.zero.crediting(1, flags: .creditsMustNotExceedDebits) }
        #expect(try control.crediting(5_000, flags: .creditsMustNotExceedDebits).posted == 0)
    }

    @Test("sums that would pass Int64.max are refused, not wrapped")
    func overflow() {
        let full = LedgerBalance(debitsPending: 0, debitsPosted: 0, creditsPending: 0, creditsPosted: .max)
        #expect(throws: LedgerRefusal.overflow) { try full.crediting(1, flags: []) }
    }

    @Test("the audit finds a unit that does not sum to zero and a balance its transfers do not explain")
    func audit() {
        func balance(debits: Int64, credits: Int64) -> LedgerBalance {
            LedgerBalance(debitsPending: 0, debitsPosted: debits, creditsPending: 0, creditsPosted: credits)
        }
        var sound = LedgerAudit()
        sound.check(.init(id: "ctl_issued_EUR", unit: LedgerUnit(rawValue: "EUR")!, cached: balance(debits: 700, credits: 0),
                          fromTransfers: balance(debits: 700, credits: 0)))
        sound.check(.init(id: "acc_card", unit: LedgerUnit(rawValue: "EUR")!, cached: balance(debits: 300, credits: 1_000),
                          fromTransfers: balance(debits: 300, credits: 1_000)))
        #expect(sound.findings.isEmpty)
        #expect(sound.accountsChecked == 2)

        var tampered = sound
        tampered.check(.init(id: "acc_points", unit: .points, cached: balance(debits: 0, credits: 50), fromTransfers: balance(debits: 0, credits: 0)))
        tampered.reportMismatchedTransfers(["trf_1"])
        #expect(tampered.findings == [
            .unitDoesNotSumToZero(.points, sum: 50),
            .balanceDiffersFromTransfers(accountID: "acc_points", cached: balance(debits: 0, credits: 50), fromTransfers: .zero),
            .transferUnitMismatch(transferID: "trf_1"),
        ])
    }
}
