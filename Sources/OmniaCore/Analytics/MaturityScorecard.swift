/// The stages of omnichannel maturity, after IDC's omni-experience maturity model.
public enum MaturityLevel: String, Codable, Hashable, Sendable, CaseIterable, Comparable {
    case adHoc = "ad_hoc"
    case opportunistic
    case repeatable
    case managed
    case optimized

    /// 1 (ad hoc) to 5 (optimized).
    public var number: Int { (Self.allCases.firstIndex(of: self) ?? 0) + 1 }

    /// The level numbered 1…5; nil outside that range.
    public init?(number: Int) {
        guard (1...5).contains(number) else { return nil }
        self = Self.allCases[number - 1]
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.number < rhs.number }
}

/// What an indicator's value is measured in.
public enum MaturityUnit: String, Codable, Hashable, Sendable {
    /// A share from 0 to 1; higher is better.
    case ratio
    /// Hours; lower is better.
    case hours
}

/// The practices the scorecard measures, each from data Omnia already holds.
///
/// Thresholds reach levels 2, 3, 4 and 5 (below the first: level 1), chosen so level 2 means the
/// practice exists at all, level 3 that it is routine, and level 5 what leading retailers report:
///
/// | indicator                 | 2      | 3      | 4      | 5      | why |
/// | ------------------------- | ------ | ------ | ------ | ------ | --- |
/// | identified_sales_share    | ≥ 0.10 | ≥ 0.30 | ≥ 0.50 | ≥ 0.70 | card-led grocery programmes identify 70–80 % of store sales; unasked, under 10 % |
/// | cross_channel_customers   | ≥ 0.02 | ≥ 0.05 | ≥ 0.10 | ≥ 0.20 | buying (not browsing) in two kinds of channel is a minority habit; a fifth is leading |
/// | cross_channel_benefit_use | ≥ 0.01 | ≥ 0.05 | ≥ 0.15 | ≥ 0.30 | 0 means benefits are locked to their channel; past 0.30 the channel no longer matters |
/// | cross_channel_returns     | ≥ 0.01 | ≥ 0.05 | ≥ 0.15 | ≥ 0.30 | most returns go back where bought; where return-anywhere is offered, a third of online ones come to store |
/// | personalization_coverage  | ≥ 0.10 | ≥ 0.30 | ≥ 0.60 | ≥ 0.85 | from a pilot segment to nearly every active customer |
/// | service_response_time     | ≤ 72 h | ≤ 24 h | ≤ 4 h  | ≤ 1 h  | a working day is the common e-mail expectation; chat and social expect within the hour |
public enum MaturityIndicator: String, Codable, Hashable, Sendable, CaseIterable {
    /// Store sales with a known customer, over all store sales.
    case identifiedSalesShare = "identified_sales_share"
    /// Buying customers who bought in two or more channel kinds, over all buying customers.
    case crossChannelCustomers = "cross_channel_customers"
    /// Benefits redeemed in a channel other than the one that issued them, over all redeemed.
    case crossChannelBenefitUse = "cross_channel_benefit_use"
    /// Returns made in another channel than their sale, over all returns.
    case crossChannelReturns = "cross_channel_returns"
    /// Active customers in a segment or reached by a campaign, over all active customers (recommendations are not stored per customer, so they do not count).
    case personalizationCoverage = "personalization_coverage"
    /// Median hours from a customer's message to the first response.
    case serviceResponseTime = "service_response_time"

    public var unit: MaturityUnit { self == .serviceResponseTime ? .hours : .ratio }

    /// The values that reach levels 2, 3, 4 and 5 (the table above).
    public var thresholds: [Double] {
        switch self {
        case .identifiedSalesShare: [0.10, 0.30, 0.50, 0.70]
        case .crossChannelCustomers: [0.02, 0.05, 0.10, 0.20]
        case .crossChannelBenefitUse, .crossChannelReturns: [0.01, 0.05, 0.15, 0.30]
        case .personalizationCoverage: [0.10, 0.30, 0.60, 0.85]
        case .serviceResponseTime: [72, 24, 4, 1]
        }
    }

    /// The level `value` reaches; NaN (a 0/0 share) is not measurable.
    public func level(of value: Double) -> MaturityLevel? {
        guard !value.isNaN else { return nil }
        let reached = thresholds.prefix { unit == .hours ? value <= $0 : value >= $0 }.count
        return MaturityLevel(number: 1 + reached)
    }

    /// What would raise the indicator, for the console to show beside it.
    public var advice: String {
        switch self {
        case .identifiedSalesShare:
            "Ask for the loyalty card, phone or e-mail at the till and offer digital receipts, to identify more store sales."
        case .crossChannelCustomers:
            "Give each channel's shoppers a reason to use another: click & collect, ship from store, offers redeemable in the other channel."
        case .crossChannelBenefitUse:
            "Make gift cards, points and coupons redeemable in every channel, and say so on receipts and at checkout."
        case .crossChannelReturns:
            "Accept online orders back in store and look up the sale by customer or digital receipt, so no receipt is needed."
        case .personalizationCoverage:
            "Build segments from RFM and purchase history, and reach every active customer with a targeted campaign."
        case .serviceResponseTime:
            "Bring mail, chat and WhatsApp into one queue with the customer's 360 view beside it, and set a first-response target."
        }
    }

    /// What to start recording so the indicator can be measured.
    public var howToMeasure: String {
        switch self {
        case .identifiedSalesShare: "Post store sales with the customer's identifier (loyalty card, phone or e-mail)."
        case .crossChannelCustomers: "Post sales from every channel with their customer."
        case .crossChannelBenefitUse: "Issue and redeem gift cards, points and coupons through Omnia in every channel."
        case .crossChannelReturns: "Post returns linked to the sale they return."
        case .personalizationCoverage: "Target customers with segments and campaigns in Omnia."
        case .serviceResponseTime: "Handle customer conversations in Omnia."
        }
    }
}

/// The indicator values the server measured over a period; nil where it cannot measure one yet.
public struct MaturityMeasurements: Codable, Hashable, Sendable {
    public var identifiedSalesShare: Double?
    public var crossChannelCustomers: Double?
    public var crossChannelBenefitUse: Double?
    public var crossChannelReturns: Double?
    public var personalizationCoverage: Double?
    /// Median hours to first response.
    public var serviceResponseTime: Double?

    public init(identifiedSalesShare: Double? = nil, crossChannelCustomers: Double? = nil, crossChannelBenefitUse: Double? = nil,
                crossChannelReturns: Double? = nil, personalizationCoverage: Double? = nil, serviceResponseTime: Double? = nil) {
        self.identifiedSalesShare = identifiedSalesShare
        self.crossChannelCustomers = crossChannelCustomers
        self.crossChannelBenefitUse = crossChannelBenefitUse
        self.crossChannelReturns = crossChannelReturns
        self.personalizationCoverage = personalizationCoverage
        self.serviceResponseTime = serviceResponseTime
    }

    /// The value measured for `indicator`.
    public subscript(indicator: MaturityIndicator) -> Double? {
        switch indicator {
        case .identifiedSalesShare: identifiedSalesShare
        case .crossChannelCustomers: crossChannelCustomers
        case .crossChannelBenefitUse: crossChannelBenefitUse
        case .crossChannelReturns: crossChannelReturns
        case .personalizationCoverage: personalizationCoverage
        case .serviceResponseTime: serviceResponseTime
        }
    }
}

/// One indicator on the scorecard: its value and level, and what the next level takes.
public struct MaturityIndicatorScore: Codable, Hashable, Sendable {
    public var indicator: MaturityIndicator
    public var unit: MaturityUnit
    /// Nil: not measurable yet (then `level`, `nextLevel` and `nextThreshold` are nil too).
    public var value: Double?
    public var level: MaturityLevel?
    /// The values that reach levels 2…5.
    public var thresholds: [Double]
    /// Nil at the top level.
    public var nextLevel: MaturityLevel?
    public var nextThreshold: Double?
    /// What would raise it; how to measure it when it is not measurable; nil at the top level.
    public var advice: String?

    /// Scores `value` (nil or NaN: not measurable) against the indicator's thresholds.
    public init(indicator: MaturityIndicator, value: Double?) {
        let level = value.flatMap(indicator.level(of:))
        self.indicator = indicator
        unit = indicator.unit
        self.value = level == nil ? nil : value
        self.level = level
        thresholds = indicator.thresholds
        let next = level.flatMap { MaturityLevel(number: $0.number + 1) }
        nextLevel = next
        nextThreshold = next.map { indicator.thresholds[$0.number - 2] }
        advice = level == nil ? indicator.howToMeasure : next == nil ? nil : indicator.advice
    }
}

/// The omnichannel maturity scorecard.
///
/// The overall level is the lowest level among the measurable indicators: customers meet the
/// chain through its weakest practice — a gift card refused online or a return sent back to the
/// web breaks the one-retailer experience however good the rest is — and IDC's stages describe
/// practices consistent across the business, not an average of strong and weak ones. A median
/// would hide exactly the gap worth fixing; the minimum names it (`limitingIndicators`).
/// Indicators that cannot be measured are reported but not counted; with none, there is no level.
public struct MaturityScorecard: Codable, Hashable, Sendable {
    public var level: MaturityLevel?
    /// The measurable indicators at the overall level: raising these raises the chain.
    public var limitingIndicators: [MaturityIndicator]
    public var measuredIndicators: Int
    /// Every indicator, in `MaturityIndicator.allCases` order.
    public var indicators: [MaturityIndicatorScore]

    /// Scores every indicator and takes the overall level from the measurable ones.
    public init(_ measurements: MaturityMeasurements) {
        let scores = MaturityIndicator.allCases.map { MaturityIndicatorScore(indicator: $0, value: measurements[$0]) }
        let levels = scores.compactMap(\.level)
        let lowest = levels.min()
        level = lowest
        measuredIndicators = levels.count
        limitingIndicators = scores.filter { $0.level != nil && $0.level == lowest }.map(\.indicator)
        indicators = scores
    }

    /// The score of one indicator.
    public subscript(indicator: MaturityIndicator) -> MaturityIndicatorScore? {
        indicators.first { $0.indicator == indicator }
    }
}
