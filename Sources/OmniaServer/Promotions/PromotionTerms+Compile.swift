import OmniaCore

extension PromotionTerms {
    /// The engine's form of these terms: rules compiled, percentages in basis points. Stored terms
    /// were validated when written, so a failure here means a rule the language no longer accepts.
    func compiled(id: String, version: Int) throws -> Promotion {
        func selector(_ source: String?) throws -> RuleProgram {
            try RuleProgram(source ?? "true", schema: PromotionSchema.line)
        }
        func points(_ percent: PercentText?) throws -> Int64 {
            guard let basisPoints = percent?.basisPoints else { throw PromotionTermsError(id: id, reason: "a percentage is out of range") }
            return basisPoints
        }
        let effects: [PromotionEffect] = try self.effects.map { effect in
            switch effect.type {
            case "percent_off_cart": return .percentOffCart(basisPoints: try points(effect.percent))
            case "amount_off_cart": return .amountOffCart(effect.amount ?? 0)
            case "percent_off_lines": return .percentOffLines(try selector(effect.lines), basisPoints: try points(effect.percent))
            case "amount_off_lines": return .amountOffLines(try selector(effect.lines), perUnit: effect.amount ?? 0)
            case "cheapest_free": return .cheapestFree(try selector(effect.lines), every: effect.every ?? 2)
            case "buy_x_get_y":
                let buy = try selector(effect.buy)
                return .buyXGetY(buy: buy, buyQuantity: effect.buyQuantity ?? 1, get: effect.get == nil ? buy : try selector(effect.get),
                                 getQuantity: effect.getQuantity ?? 1, basisPoints: try points(effect.percent ?? PercentText("100")))
            case "bundle_price": return .bundlePrice(try selector(effect.lines), quantity: effect.quantity ?? 2, price: effect.price ?? 0)
            case "tiered":
                return .tiered(try (effect.tiers ?? []).map { tier in
                    let discount: PromotionTierDiscount = if let amount = tier.amountOff { .amount(amount) } else { .percent(basisPoints: try points(tier.percentOff)) }
                    return PromotionTier(threshold: tier.threshold ?? 0, discount: discount)
                })
            case "free_shipping": return .freeShipping
            case "bonus_points": return .bonusPoints(effect.points ?? 0)
            case "issue_coupon": return .issueCoupon(campaignID: effect.campaignId ?? "")
            case "issue_gift_card": return .issueGiftCard(amount: effect.amount ?? 0)
            default: throw PromotionTermsError(id: id, reason: "unknown effect type \(effect.type ?? "")")
            }
        }
        let weekdays = Set((schedule?.weekdays ?? []).compactMap { CheckoutInput.weekdays.firstIndex(of: $0) })
        let hours: (from: Int16, to: Int16)? = if let from = schedule?.hoursFrom.flatMap(RuleCalendar.minute), let to = schedule?.hoursTo.flatMap(RuleCalendar.minute) {
            (from, to)
        } else {
            nil
        }
        let unlock: PromotionUnlock = if let code { .code(code) } else if let couponCampaignId { .couponCampaign(couponCampaignId) } else { .none }
        return Promotion(
            id: id, version: version, name: name, priority: priority,
            stacking: stacking == "exclusive" ? .exclusive : stackingGroup.map(PromotionStacking.group) ?? .stackable,
            condition: try condition.map { try RuleProgram($0, schema: PromotionSchema.checkout) }, effects: effects,
            currency: currency.flatMap(Currency.init(code:)), channels: Set(channels), channelKinds: Set(channelKinds), countries: Set(countries),
            schedule: PromotionSchedule(firstDay: schedule?.startsOn.flatMap(RuleCalendar.day), lastDay: schedule?.endsOn.flatMap(RuleCalendar.day),
                                        weekdays: weekdays, hours: hours),
            unlock: unlock)
    }
}

struct PromotionTermsError: Error, CustomStringConvertible {
    let id: String
    let reason: String
    var description: String { "promotion \(id) cannot be compiled: \(reason)" }
}
