import OmniaCore
import Testing

@Suite("Channel transition matrix")
struct ChannelTransitionTests {
    static func journey(_ purchases: (Int64, String)...) -> [ChannelPurchase] {
        purchases.map { ChannelPurchase(at: $0.0, channel: $0.1) }
    }

    /// Transitions by hand: store→web ×3 (1, 4, 6), web→web (1), web→store (1), web→app (2),
    /// store→store (4), app→store (7). Customers 1, 2, 4, 6, 7 used two channels; 3 one; 5 bought nothing.
    static let journeys = [
        journey((1, "store"), (2, "web"), (3, "web"), (4, "store")),
        journey((20, "app"), (10, "web")),
        journey((5, "store")),
        journey((5, "store"), (6, "store"), (7, "web")),
        journey(),
        journey((100, "web"), (100, "store")),
        journey((1, "app"), (2, "store")),
    ]

    @Test("a crafted set of journeys gives the hand-computed counts, row totals and probabilities")
    func craftedJourneys() {
        let matrix = ChannelTransitions.matrix(Self.journeys)
        #expect(matrix.channels == ["app", "store", "web"])
        #expect(matrix.counts == [[0, 1, 0], [0, 1, 3], [1, 1, 1]])
        #expect(matrix.rowTotals == [1, 4, 3])
        #expect(matrix.transitions == 8)
        #expect(matrix.probabilities == [[0, 1, 0], [0, 0.25, 0.75], [0.3333, 0.3333, 0.3333]])
        #expect(matrix.count(from: "store", to: "web") == 3)
        #expect(matrix.probability(from: "web", to: "app") == 0.3333)
        #expect(matrix.count(from: "store", to: "marketplace") == 0)
    }

    @Test("cross-channel customers are those who bought in two or more channels, over those who bought at all")
    func crossChannel() {
        let matrix = ChannelTransitions.matrix(Self.journeys)
        #expect(matrix.customers == 6)
        #expect(matrix.crossChannelCustomers == 5)
        #expect(matrix.crossChannelShare == 0.8333)
    }

    @Test("purchases are ordered by time, then by channel at the same instant, whatever the input order")
    func ordering() {
        var generator = SplitMix64(seed: 7)
        let shuffled = Self.journeys.map { $0.shuffled(using: &generator) }.shuffled(using: &generator)
        #expect(ChannelTransitions.matrix(shuffled) == ChannelTransitions.matrix(Self.journeys))
        let sameInstant = ChannelTransitions.matrix([Self.journey((100, "web"), (100, "store"))])
        #expect(sameInstant.count(from: "store", to: "web") == 1 && sameInstant.count(from: "web", to: "store") == 0)
    }

    @Test("channels follow the given order first, and rows without transitions are zeros, never NaN")
    func orderAndEmptyRows() {
        var counter = ChannelTransitionCounter()
        counter.add(Self.journey((1, "web"), (2, "marketplace")))
        counter.add(Self.journey((1, "store"), (2, "web")))
        let matrix = counter.matrix(order: ["store", "web", "call_center", "store"])
        #expect(matrix.channels == ["store", "web", "call_center", "marketplace"])
        #expect(matrix.counts == [[0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]])
        #expect(matrix.rowTotals == [1, 1, 0, 0])
        #expect(matrix.probabilities[2] == [0, 0, 0, 0] && matrix.probabilities[3] == [0, 0, 0, 0])
        #expect(matrix.probabilities.joined().allSatisfy { !$0.isNaN })
    }

    @Test("no journeys give an empty matrix with a zero cross-channel share")
    func noJourneys() {
        let matrix = ChannelTransitions.matrix([])
        #expect(matrix.channels.isEmpty && matrix.counts.isEmpty && matrix.transitions == 0)
        #expect(matrix.customers == 0 && matrix.crossChannelCustomers == 0 && matrix.crossChannelShare == 0)
    }
}
