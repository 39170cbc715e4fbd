import Foundation
import OmniaCore
import Testing

@Suite("Omnichannel maturity scorecard")
struct MaturityScorecardTests {
    static let measured = MaturityMeasurements(identifiedSalesShare: 0.42, crossChannelCustomers: 0.12, crossChannelBenefitUse: 0,
                                               crossChannelReturns: nil, personalizationCoverage: 0.9, serviceResponseTime: 6)

    @Test("each indicator gets its level, the next level and the threshold that reaches it")
    func indicatorLevels() {
        let card = MaturityScorecard(Self.measured)
        let expected: [(MaturityIndicator, MaturityLevel?, MaturityLevel?, Double?)] = [
            (.identifiedSalesShare, .repeatable, .managed, 0.50),
            (.crossChannelCustomers, .managed, .optimized, 0.20),
            (.crossChannelBenefitUse, .adHoc, .opportunistic, 0.01),
            (.crossChannelReturns, nil, nil, nil),
            (.personalizationCoverage, .optimized, nil, nil),
            (.serviceResponseTime, .repeatable, .managed, 4),
        ]
        #expect(card.indicators.map(\.indicator) == expected.map(\.0))
        #expect(card.indicators.map(\.level) == expected.map(\.1))
        #expect(card.indicators.map(\.nextLevel) == expected.map(\.2))
        #expect(card.indicators.map(\.nextThreshold) == expected.map(\.3))
        #expect(card[.serviceResponseTime]?.unit == .hours && card[.identifiedSalesShare]?.unit == .ratio)
    }

    @Test("the overall level is the lowest measurable indicator's, which the scorecard names as limiting")
    func overallLevel() {
        let card = MaturityScorecard(Self.measured)
        #expect(card.level == .adHoc)
        #expect(card.limitingIndicators == [.crossChannelBenefitUse])
        #expect(card.measuredIndicators == 5)

        var better = Self.measured
        better.crossChannelBenefitUse = nil
        let second = MaturityScorecard(better)
        #expect(second.level == .repeatable)
        #expect(second.limitingIndicators == [.identifiedSalesShare, .serviceResponseTime])
        #expect(second.measuredIndicators == 4)
    }

    @Test("a threshold reaches its level exactly, and for response time lower is better")
    func boundaries() {
        #expect(MaturityIndicator.identifiedSalesShare.level(of: 0.30) == .repeatable)
        #expect(MaturityIndicator.identifiedSalesShare.level(of: 0.2999) == .opportunistic)
        #expect(MaturityIndicator.personalizationCoverage.level(of: 1) == .optimized)
        #expect(MaturityIndicator.crossChannelReturns.level(of: 0.009) == .adHoc)
        #expect(MaturityIndicator.serviceResponseTime.level(of: 72) == .opportunistic)
        #expect(MaturityIndicator.serviceResponseTime.level(of: 72.5) == .adHoc)
        #expect(MaturityIndicator.serviceResponseTime.level(of: 1) == .optimized)
        #expect(MaturityIndicator.serviceResponseTime.level(of: .infinity) == .adHoc)
        #expect(MaturityIndicator.crossChannelCustomers.level(of: .nan) == nil, "a 0/0 share is not measurable")
    }

    @Test("advice says what would raise an indicator, how to measure an unmeasurable one, and nothing at the top")
    func advice() {
        let card = MaturityScorecard(Self.measured)
        #expect(card[.identifiedSalesShare]?.advice == MaturityIndicator.identifiedSalesShare.advice)
        #expect(card[.crossChannelReturns]?.advice == MaturityIndicator.crossChannelReturns.howToMeasure)
        #expect(card[.personalizationCoverage]?.advice == nil)
        #expect(MaturityIndicator.allCases.allSatisfy { !$0.advice.isEmpty && !$0.howToMeasure.isEmpty })
    }

    @Test("with nothing measurable there is no overall level, and every indicator says how to measure it")
    func allUnmeasurable() {
        let card = MaturityScorecard(MaturityMeasurements())
        #expect(card.level == nil)
        #expect(card.measuredIndicators == 0)
        #expect(card.limitingIndicators.isEmpty)
        #expect(card.indicators.count == MaturityIndicator.allCases.count)
        #expect(card.indicators.allSatisfy { $0.value == nil && $0.level == nil && $0.nextThreshold == nil && $0.advice == $0.indicator.howToMeasure })
        #expect(MaturityScorecard(MaturityMeasurements(crossChannelCustomers: .nan)).level == nil)
    }

    @Test("levels are numbered 1 to 5 in order, and the scorecard survives a JSON round trip")
    func levelsAndCoding() throws {
        #expect(MaturityLevel.allCases.map(\.number) == [1, 2, 3, 4, 5])
        #expect(MaturityLevel.allCases.map(\.rawValue) == ["ad_hoc", "opportunistic", "repeatable", "managed", "optimized"])
        #expect(MaturityLevel(number: 4) == .managed && MaturityLevel(number: 0) == nil && MaturityLevel(number: 6) == nil)
        #expect(MaturityLevel.adHoc < .optimized)
        #expect(MaturityIndicator.allCases.allSatisfy { indicator in
            let t = indicator.thresholds
            return t.count == 4 && zip(t, t.dropFirst()).allSatisfy { indicator.unit == .hours ? $0 > $1 : $0 < $1 }
        })
        let card = MaturityScorecard(Self.measured)
        let decoded = try JSONDecoder().decode(MaturityScorecard.self, from: JSONEncoder().encode(card))
        #expect(decoded == card)
    }
}
