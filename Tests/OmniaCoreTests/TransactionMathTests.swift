import Foundation
import OmniaCore
import Testing

@Suite("Transaction arithmetic, timestamps and claim codes")
struct TransactionMathTests {
    @Test("an order discount spreads over the lines in proportion and adds up exactly")
    func allocation() {
        #expect(TransactionMath.allocate(400, over: [1000, 3000]) == [100, 300])
        #expect(TransactionMath.allocate(100, over: [1, 1, 1]) == [34, 33, 33], "the remainder goes to the largest remainders, first lines first")
        #expect(TransactionMath.allocate(0, over: [5, 5]) == [0, 0])
        for seed in 0..<200 {
            var generator = SplitMix64(seed: UInt64(seed))
            let weights = (0..<Int(generator.next() % 6 + 1)).map { _ in Int64(generator.next() % 100_000) }
            let total = weights.reduce(0, +)
            let amount = total == 0 ? 0 : Int64(generator.next() % UInt64(total + 1))
            let parts = TransactionMath.allocate(amount, over: weights)
            #expect(parts.reduce(0, +) == (total == 0 ? 0 : amount))
            #expect(zip(parts, weights).allSatisfy { $0 <= $1 && $0 >= 0 })
        }
    }

    @Test("partial returns of a line refund exactly its net amount in the end, in any order of sizes")
    func refundsAddUp() {
        for seed in 0..<200 {
            var generator = SplitMix64(seed: UInt64(seed))
            let sold = Int64(generator.next() % 20 + 1)
            let net = Int64(generator.next() % 1_000_000)
            var returned: Int64 = 0
            var refunded: Int64 = 0
            while returned < sold {
                let quantity = Int64(generator.next() % UInt64(sold - returned)) + 1
                refunded += TransactionMath.refund(net: net, sold: sold, alreadyReturned: returned, quantity: quantity)
                returned += quantity
            }
            #expect(refunded == net)
        }
        #expect(TransactionMath.refund(net: 2900, sold: 3, alreadyReturned: 0, quantity: 1) == 966)
        #expect(TransactionMath.lineTotal(quantity: 2, unitPrice: 100, discount: 201) == nil)
        #expect(TransactionMath.lineTotal(quantity: .max, unitPrice: 2, discount: 0) == nil)
    }

    @Test("RFC 3339 timestamps parse to epoch milliseconds, and malformed ones do not")
    func timestamps() {
        #expect(RFC3339.milliseconds("1970-01-01T00:00:00Z") == 0)
        #expect(RFC3339.milliseconds("2026-03-01T10:15:00Z") == 1_772_360_100_000)
        #expect(RFC3339.milliseconds("2026-03-01T11:15:00.250+01:00") == 1_772_360_100_250)
        #expect(RFC3339.milliseconds("2024-02-29T23:59:59.999-00:30") == 1_709_252_999_999)
        for bad in ["2026-02-29T00:00:00Z", "2026-03-01T10:15:00", "2026-03-01 10:15", "2026-13-01T00:00:00Z", "2026-03-01T24:00:00Z",
                    "2026-03-01T10:15:00.Z", "2026-03-01T10:15:00Zjunk", "01/03/2026", ""] {
            #expect(RFC3339.milliseconds(bad) == nil, "\(bad)")
        }
    }

    @Test("a claim code reads back however a person types it")
    func claimCodes() {
        let code = ClaimCode.generate(random: 0x0123_4567_89ab_cdef)
        #expect(code.count == 12)
        let shown = ClaimCode.display(code)
        #expect(shown.count == 14 && shown == shown.uppercased())
        #expect(ClaimCode.normalize(shown) == code)
        #expect(ClaimCode.normalize(shown.lowercased().replacingOccurrences(of: "-", with: " ")) == code)
        #expect(ClaimCode.normalize("OIL0-0000-0000") == "011000000000", "O, I and L read as the digits they resemble")
        #expect(ClaimCode.normalize("ABCD-EFGH-JKMU") == nil, "U is not in the alphabet")
        #expect(ClaimCode.normalize("ABCD-EFGH") == nil)
    }
}
