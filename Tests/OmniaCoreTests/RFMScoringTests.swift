import OmniaCore
import Testing

@Suite("RFM quintile scores and named segments")
struct RFMScoringTests {
    /// Ten customers, so a score is `1 + ⌊w / 2⌋` for `w` customers strictly worse. Recency ties
    /// c and e across the 3/4 boundary, frequency ties four one-order customers, spend ties b and j.
    static let customers = [
        RFMCustomer(id: "a", recencyDays: 1, frequency: 12, monetary: 140_000),
        RFMCustomer(id: "b", recencyDays: 3, frequency: 1, monetary: 8_000),
        RFMCustomer(id: "c", recencyDays: 7, frequency: 6, monetary: 65_000),
        RFMCustomer(id: "d", recencyDays: 5, frequency: 1, monetary: 3_000),
        RFMCustomer(id: "e", recencyDays: 7, frequency: 2, monetary: 22_000),
        RFMCustomer(id: "f", recencyDays: 40, frequency: 1, monetary: 15_000),
        RFMCustomer(id: "g", recencyDays: 60, frequency: 9, monetary: 310_000),
        RFMCustomer(id: "h", recencyDays: 120, frequency: 4, monetary: 41_000),
        RFMCustomer(id: "i", recencyDays: 200, frequency: 1, monetary: 1_500),
        RFMCustomer(id: "j", recencyDays: 400, frequency: 3, monetary: 8_000),
    ]

    @Test("a worked example of ten customers gets the hand-computed scores, cells and segments, in input order")
    func workedExample() {
        let result = RFMScoring.score(Self.customers)
        // Recency, worst first: j 400 (w 0), i 200 (1), h 120 (2), g 60 (3), f 40 (4), c e 7 (5, tied), d 5 (7), b 3 (8), a 1 (9).
        // Frequency: b d f i 1 (w 0, tied), e 2 (4), j 3 (5), h 4 (6), c 6 (7), g 9 (8), a 12 (9).
        // Spend: i (w 0), d (1), b j 8 000 (2, tied), f (4), e (5), h (6), c (7), a (8), g (9).
        let expected: [(String, String, RFMSegment)] = [
            ("a", "555", .champions),
            ("b", "512", .newCustomers),
            ("c", "344", .loyalCustomers),
            ("d", "411", .promising),
            ("e", "333", .needAttention),
            ("f", "313", .aboutToSleep),
            ("g", "255", .cannotLoseThem),
            ("h", "244", .atRisk),
            ("i", "111", .lost),
            ("j", "132", .hibernating),
        ]
        #expect(result.scores.map(\.id) == expected.map(\.0))
        #expect(result.scores.map(\.cell) == expected.map(\.1))
        #expect(result.scores.map(\.segment) == expected.map(\.2))
        #expect(result.scores[2] == RFMScore(id: "c", recency: 3, frequency: 4, monetary: 4))
    }

    @Test("tied customers share the score of the first rank of their run, so a large tie can leave a score empty")
    func ties() {
        let scores = RFMScoring.score(Self.customers).scores
        let byID = Dictionary(uniqueKeysWithValues: scores.map { ($0.id, $0) })
        #expect(byID["c"]?.recency == 3 && byID["e"]?.recency == 3, "ranks 6 and 7 of 10: both take rank 6's score")
        #expect(["b", "d", "f", "i"].allSatisfy { byID[$0]?.frequency == 1 }, "four one-order customers are all F 1")
        #expect(byID["b"]?.monetary == 2 && byID["j"]?.monetary == 2)
        #expect(!scores.contains { $0.frequency == 2 }, "the four-way tie takes ranks 1–4, and rank 5 already scores 3")

        func frequencyScores(_ orders: [Int]) -> [Int] {
            RFMScoring.score(orders.enumerated().map { RFMCustomer(id: "\($0.offset)", recencyDays: 0, frequency: $0.element, monetary: 0) })
                .scores.map(\.frequency)
        }
        #expect(frequencyScores([1, 1, 1, 2, 3]) == [1, 1, 1, 4, 5], "a tie at the bottom stays at 1, not at its average rank's 2")
        #expect(frequencyScores([1, 2, 3, 3, 3]) == [1, 2, 3, 3, 3], "a tie at the top takes its first rank's 3, not 4")
        #expect(frequencyScores([4, 4, 4, 4]) == [1, 1, 1, 1])
    }

    @Test("the quintile bounds are the worst value reaching each score, with the customers at each score")
    func quintiles() {
        let quintiles = RFMScoring.score(Self.customers).quintiles
        #expect(quintiles.map(\.score) == [1, 2, 3, 4, 5])
        #expect(quintiles.map(\.recencyDaysAtMost) == [400, 120, 40, 5, 3])
        #expect(quintiles.map(\.frequencyAtLeast) == [1, 2, 2, 4, 9], "score 2 is skipped: its bound is score 3's")
        #expect(quintiles.map(\.monetaryAtLeast) == [1_500, 8_000, 15_000, 41_000, 140_000])
        #expect(quintiles.map(\.recencyCustomers) == [2, 2, 3, 1, 2])
        #expect(quintiles.map(\.frequencyCustomers) == [4, 0, 2, 2, 2])
        #expect(quintiles.map(\.monetaryCustomers) == [2, 2, 2, 2, 2])
    }

    @Test("scoring against stored quintiles agrees with the run and places a newcomer between its values")
    func scoringAgainstQuintiles() {
        let result = RFMScoring.score(Self.customers)
        for (customer, score) in zip(Self.customers, result.scores) {
            #expect(RFMScoring.score(customer, quintiles: result.quintiles) == score)
        }
        let newcomer = RFMScoring.score(RFMCustomer(id: "k", recencyDays: 4, frequency: 5, monetary: 50_000), quintiles: result.quintiles)
        #expect(newcomer.cell == "444")
        #expect(newcomer.segment == .loyalCustomers)
        let worst = RFMScoring.score(RFMCustomer(id: "l", recencyDays: 9_999, frequency: 0, monetary: -500), quintiles: result.quintiles)
        #expect(worst.cell == "111")
    }

    @Test("a lone customer has no one to rank above, so scores 1 on every measure")
    func singleCustomer() {
        let result = RFMScoring.score([RFMCustomer(id: "only", recencyDays: 0, frequency: 7, monetary: 99_000)])
        #expect(result.scores == [RFMScore(id: "only", recency: 1, frequency: 1, monetary: 1)])
        #expect(result.scores.first?.segment == .lost)
        #expect(result.quintiles.first?.recencyDaysAtMost == 0 && result.quintiles.first?.monetaryAtLeast == 99_000)
        #expect(result.quintiles.dropFirst().allSatisfy { $0.recencyDaysAtMost == nil && $0.frequencyAtLeast == nil && $0.monetaryAtLeast == nil })
    }

    @Test("no customers give no scores and five empty quintiles")
    func noCustomers() {
        let result = RFMScoring.score([])
        #expect(result.scores.isEmpty)
        #expect(result.quintiles.count == 5)
        #expect(result.quintiles.allSatisfy {
            $0.recencyDaysAtMost == nil && $0.frequencyAtLeast == nil && $0.monetaryAtLeast == nil
                && $0.recencyCustomers + $0.frequencyCustomers + $0.monetaryCustomers == 0
        })
    }

    @Test("100,000 customers with distinct values fall exactly a fifth into each score, and equal values score equally")
    func largeSet() {
        var generator = SplitMix64(seed: 42)
        var ranks = Array(0..<100_000)
        ranks.shuffle(using: &generator)
        let customers = ranks.map { rank in
            RFMCustomer(id: "cus_\(rank)", recencyDays: 100_000 - rank, frequency: rank, monetary: Int64(rank) * 37)
        }
        let result = RFMScoring.score(customers)
        let fifths = [20_000, 20_000, 20_000, 20_000, 20_000]
        #expect(result.quintiles.map(\.recencyCustomers) == fifths)
        #expect(result.quintiles.map(\.frequencyCustomers) == fifths)
        #expect(result.quintiles.map(\.monetaryCustomers) == fifths)
        #expect(zip(ranks, result.scores).allSatisfy { rank, score in
            score.recency == 1 + rank / 20_000 && score.frequency == score.recency && score.monetary == score.recency
        })

        let tied = (0..<1_000).map { RFMCustomer(id: "\($0)", recencyDays: generator.below(30), frequency: generator.below(4),
                                                    monetary: Int64(generator.below(10))) }
        let scores = RFMScoring.score(tied).scores
        for (x, y) in zip(tied.indices, tied.indices.shuffled(using: &generator)) {
            if tied[x].frequency == tied[y].frequency { #expect(scores[x].frequency == scores[y].frequency) }
            if tied[x].frequency < tied[y].frequency { #expect(scores[x].frequency <= scores[y].frequency) }
            if tied[x].recencyDays > tied[y].recencyDays { #expect(scores[x].recency <= scores[y].recency) }
        }
    }

    @Test("the segment map follows the documented R × FM table, FM being the average of F and M rounded down")
    func segmentMap() {
        #expect(RFMSegment(recency: 5, frequency: 4, monetary: 5) == .champions)
        #expect(RFMSegment(recency: 5, frequency: 3, monetary: 2) == .potentialLoyalists, "FM ⌊5 / 2⌋ = 2")
        #expect(RFMSegment(recency: 4, frequency: 1, monetary: 5) == .potentialLoyalists, "one big order: FM 3")
        #expect(RFMSegment(recency: 5, frequency: 1, monetary: 2) == .newCustomers)
        #expect(RFMSegment(recency: 4, frequency: 2, monetary: 1) == .promising)
        #expect(RFMSegment(recency: 4, frequency: 4, monetary: 4) == .loyalCustomers)
        #expect(RFMSegment(recency: 3, frequency: 5, monetary: 5) == .loyalCustomers)
        #expect(RFMSegment(recency: 3, frequency: 3, monetary: 4) == .needAttention)
        #expect(RFMSegment(recency: 3, frequency: 2, monetary: 2) == .aboutToSleep)
        #expect(RFMSegment(recency: 2, frequency: 3, monetary: 3) == .atRisk)
        #expect(RFMSegment(recency: 1, frequency: 5, monetary: 5) == .cannotLoseThem)
        #expect(RFMSegment(recency: 2, frequency: 5, monetary: 4) == .atRisk, "FM ⌊9 / 2⌋ = 4")
        #expect(RFMSegment(recency: 2, frequency: 1, monetary: 1) == .hibernating)
        #expect(RFMSegment(recency: 1, frequency: 2, monetary: 2) == .hibernating)
        #expect(RFMSegment(recency: 1, frequency: 1, monetary: 2) == .lost)
        var seen = Set<RFMSegment>()
        for r in 1...5 { for f in 1...5 { for m in 1...5 { seen.insert(RFMSegment(recency: r, frequency: f, monetary: m)) } } }
        #expect(seen == Set(RFMSegment.allCases), "every segment is some cell's")
        #expect(RFMSegment.allCases.map(\.rawValue) == ["champions", "loyal_customers", "potential_loyalists", "new_customers", "promising",
                                                         "need_attention", "about_to_sleep", "at_risk", "cannot_lose_them", "hibernating", "lost"])
    }
}
