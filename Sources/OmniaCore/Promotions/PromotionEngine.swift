/// Decides which promotions apply to a checkout and what each takes off each line. Pure and
/// deterministic: the same checkout and promotions give the same answer in every channel.
///
/// Promotions are taken by priority (higher first, ties by id). Each eligible one works on what the
/// ones before it left of each line, so discounts never take a line below zero; an exclusive
/// promotion applies only first and then alone, and of a stacking group only the first applies.
public struct PromotionEngine: Sendable {
    public let promotions: [Promotion]

    /// `promotions` in any order; they are sorted once here, not per checkout.
    public init(_ promotions: [Promotion]) {
        self.promotions = promotions.sorted { $0.priority != $1.priority ? $0.priority > $1.priority : $0.id < $1.id }
    }

    /// - Parameters:
    ///   - unlockedCampaigns: coupon campaigns (`cpc_…`) with a valid code entered at this checkout.
    ///   - unavailable: promotions the caller rules out (a budget or limit used up), with why.
    public func evaluate(_ input: CheckoutInput, unlockedCampaigns: Set<String> = [], unavailable: [String: String] = [:],
                         stepBudget: Int = RuleLimits.defaultStepBudget) -> PromotionEvaluation {
        let lineValues = input.lineValues
        let root = input.ruleValue(lineValues: lineValues)
        let totals = input.lines.map(\.total)
        var left = totals
        var applied: [PromotionEvaluation.Applied] = []
        var notApplied: [PromotionEvaluation.NotApplied] = []
        var exclusive: String?
        var groupsTaken: [String: String] = [:]
        let weekday = input.weekdayIndex
        // A selector shared by several promotions is evaluated once per line.
        var selections = SelectionCache(lines: lineValues, stepBudget: stepBudget)

        for promotion in promotions {
            func skip(_ reason: PromotionEvaluation.Reason, _ detail: String) {
                notApplied.append(.init(promotionID: promotion.id, reason: reason, detail: detail))
            }
            if let exclusive {
                skip(.excludedByExclusive, "\(exclusive) applies alone")
                continue
            }
            if let why = unavailable[promotion.id] {
                skip(.unavailable, why)
                continue
            }
            guard promotion.schedule.contains(day: input.localDay, weekday: weekday, minute: input.localMinute) else {
                skip(.outsideSchedule, "not running at this local date and time")
                continue
            }
            guard (promotion.channels.isEmpty || promotion.channels.contains(input.channelCode))
                && (promotion.channelKinds.isEmpty || promotion.channelKinds.contains(input.channelKind))
            else {
                let allowed = (promotion.channels.sorted() + promotion.channelKinds.sorted().map { "\($0) channels" }).joined(separator: ", ")
                skip(.otherChannel, "runs in \(allowed), not \(input.channelCode) (\(input.channelKind))")
                continue
            }
            guard promotion.countries.isEmpty || input.country.map(promotion.countries.contains) == true else {
                skip(.otherCountry, "runs in \(promotion.countries.sorted().joined(separator: ", "))")
                continue
            }
            if let currency = promotion.currency, currency != input.currency {
                skip(.otherCurrency, "its amounts are in \(currency.code), the cart in \(input.currency.code)")
                continue
            }
            switch promotion.unlock {
            case .none: break
            case .code(let code):
                guard input.codes.contains(code) else {
                    skip(.codeRequired, "needs the code \(code)")
                    continue
                }
            case .couponCampaign(let campaign):
                guard unlockedCampaigns.contains(campaign) else {
                    skip(.codeRequired, "needs a valid coupon of \(campaign)")
                    continue
                }
            }
            if let condition = promotion.condition {
                do {
                    guard try condition.isSatisfied(by: root, stepBudget: stepBudget) else {
                        skip(.conditionNotMet, "its condition is false for this checkout")
                        continue
                    }
                } catch {
                    skip(.evaluationFailed, "\(error.code): \(error)")
                    continue
                }
            }
            if case .exclusive = promotion.stacking, !applied.isEmpty {
                skip(.notCombinable, "exclusive, and \(applied.map(\.promotionID).joined(separator: ", ")) already applied")
                continue
            }
            if case .group(let group) = promotion.stacking, let taken = groupsTaken[group] {
                skip(.groupTaken, "\(taken) already applied from group \(group)")
                continue
            }
            let outcome: EffectOutcome
            do {
                outcome = try EffectOutcome(promotion.effects, lines: input.lines, left: left, selections: &selections)
            } catch {
                skip(.evaluationFailed, "\(error.code): \(error)")
                continue
            }
            guard outcome.gives else {
                skip(.nothingToDiscount, "nothing in this cart for its effects")
                continue
            }
            for index in left.indices { left[index] -= outcome.lineDiscounts[index] }
            applied.append(.init(promotionID: promotion.id, version: promotion.version, lineDiscounts: outcome.lineDiscounts,
                                 freeShipping: outcome.freeShipping, bonusPoints: outcome.bonusPoints, couponCampaigns: outcome.couponCampaigns,
                                 giftCardAmounts: outcome.giftCardAmounts))
            switch promotion.stacking {
            case .exclusive: exclusive = promotion.id
            case .group(let group): groupsTaken[group] = promotion.id
            case .stackable: break
            }
        }
        return PromotionEvaluation(applied: applied, notApplied: notApplied, lineTotals: totals,
                                   lineDiscounts: zip(totals, left).map { $0 - $1 })
    }
}

/// Which lines a selector picks, computed once per checkout for each distinct selector.
struct SelectionCache {
    let lines: [RuleValue]
    let stepBudget: Int
    private var picked: [String: [Bool]] = [:]

    init(lines: [RuleValue], stepBudget: Int) {
        self.lines = lines
        self.stepBudget = stepBudget
    }

    mutating func lines(_ selector: RuleProgram) throws(RuleEvaluationError) -> [Bool] {
        let key = selector.text
        if let known = picked[key] { return known }
        var result: [Bool] = []
        result.reserveCapacity(lines.count)
        for line in lines { result.append(try selector.isSatisfied(by: line, stepBudget: stepBudget)) }
        picked[key] = result
        return result
    }
}
