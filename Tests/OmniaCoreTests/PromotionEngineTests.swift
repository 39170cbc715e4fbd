import OmniaCore
import Testing

@Suite struct PromotionEngineTests {
    static let eur = Currency(code: "EUR")!
    /// 2026-12-26, a Saturday, 11:00.
    static let saturday = RuleCalendar.day("2026-12-26")!

    static func checkout(_ lines: [CheckoutInput.Line], customer: CheckoutInput.Customer? = nil, channel: String = "store",
                         country: String = "DE", codes: [String] = [], day: Int32 = saturday, minute: Int16 = 660,
                         currency: Currency = eur) -> CheckoutInput {
        CheckoutInput(currency: currency, lines: lines, customer: customer, channelCode: channel == "store" ? "store-berlin" : channel, channelKind: channel, storeID: "loc_1",
                      country: country, localDay: day, localMinute: minute, codes: codes)
    }

    static let knitwear = [
        CheckoutInput.Line(sku: "JUMPER", category: "women/knitwear", quantity: 1, unitPrice: 5_000),
        CheckoutInput.Line(sku: "CARDIGAN", category: "women/knitwear", quantity: 1, unitPrice: 4_000),
        CheckoutInput.Line(sku: "SCARF", category: "women/knitwear", quantity: 1, unitPrice: 2_000),
        CheckoutInput.Line(sku: "SOCKS", category: "men/socks", quantity: 2, unitPrice: 500),
    ]

    static func selector(_ source: String) throws -> RuleProgram { try RuleProgram(source, schema: PromotionSchema.line) }
    static func condition(_ source: String) throws -> RuleProgram { try RuleProgram(source, schema: PromotionSchema.checkout) }

    @Test func aCartDiscountIsSplitExactlyOverTheLines() {
        let lines = [CheckoutInput.Line(sku: "A", quantity: 1, unitPrice: 3_333), .init(sku: "B", quantity: 1, unitPrice: 3_333),
                     .init(sku: "C", quantity: 1, unitPrice: 3_334)]
        let result = PromotionEngine([Promotion(id: "p1", name: "10 % off", effects: [.percentOffCart(basisPoints: 1_000)])]).evaluate(Self.checkout(lines))
        #expect(result.discount == 1_000)
        #expect(result.lineDiscounts == [333, 333, 334])
        #expect(DiscountAllocation.proportional(100, over: [100, 100, 100]) == [34, 33, 33])
        #expect(DiscountAllocation.proportional(100, over: [1, 1, 1]) == [1, 1, 1])  // never more than a line has
        #expect(DiscountAllocation.proportional(5, over: [0, 10, 0]) == [0, 5, 0])
        #expect(DiscountAllocation.percent(5_000, of: 5) == 2)  // 2.5 → 2 (half to even)
        #expect(DiscountAllocation.percent(5_000, of: 7) == 4)  // 3.5 → 4
    }

    @Test func neverBelowZero() {
        let result = PromotionEngine([
            Promotion(id: "a", name: "100 off", priority: 2, effects: [.amountOffCart(100_000)], currency: Self.eur),
            Promotion(id: "b", name: "10 %", priority: 1, effects: [.percentOffCart(basisPoints: 1_000)]),
        ]).evaluate(Self.checkout(Self.knitwear))
        #expect(result.total == 0)
        #expect(result.lineDiscounts == result.lineTotals)
        #expect(result.notApplied == [.init(promotionID: "b", reason: .nothingToDiscount, detail: "nothing in this cart for its effects")])
    }

    @Test func stackingExclusiveAndGroupsByPriority() throws {
        let tenOff = Promotion(id: "p_ten", name: "10 %", priority: 5, effects: [.percentOffCart(basisPoints: 1_000)])
        let vip = Promotion(id: "p_vip", name: "VIP only", priority: 9, stacking: .exclusive, condition: try Self.condition(#"customer.tier == "gold""#),
                            effects: [.percentOffCart(basisPoints: 2_000)])
        let lowExclusive = Promotion(id: "p_low", name: "exclusive later", priority: 1, stacking: .exclusive, effects: [.amountOffCart(100)], currency: Self.eur)
        let groupA = Promotion(id: "p_ga", name: "group first", priority: 4, stacking: .group("welcome"), effects: [.amountOffCart(500)], currency: Self.eur)
        let groupB = Promotion(id: "p_gb", name: "group second", priority: 3, stacking: .group("welcome"), effects: [.amountOffCart(700)], currency: Self.eur)
        let engine = PromotionEngine([lowExclusive, groupB, tenOff, groupA, vip])

        let gold = engine.evaluate(Self.checkout(Self.knitwear, customer: .init(id: "cus_1", tier: "gold")))
        #expect(gold.applied.map(\.promotionID) == ["p_vip"])
        #expect(gold.discount == 2_400)
        #expect(Set(gold.notApplied.map(\.reason)) == [.excludedByExclusive])

        let anonymous = engine.evaluate(Self.checkout(Self.knitwear))
        #expect(anonymous.applied.map(\.promotionID) == ["p_ten", "p_ga"])
        #expect(anonymous.discount == 1_200 + 500)
        #expect(anonymous.notApplied.map(\.reason) == [.conditionNotMet, .groupTaken, .notCombinable])
        // The same promotions in any order give the same answer.
        let shuffled = PromotionEngine([vip, groupA, tenOff, groupB, lowExclusive]).evaluate(Self.checkout(Self.knitwear))
        #expect(shuffled.lineDiscounts == anonymous.lineDiscounts)
    }

    @Test func threeForTwoBuyXGetYAndBundles() throws {
        let knit = try Self.selector(#"category startsWith "women/knitwear""#)
        let threeForTwo = PromotionEngine([Promotion(id: "p", name: "3 for 2", effects: [.cheapestFree(knit, every: 3)])]).evaluate(Self.checkout(Self.knitwear))
        #expect(threeForTwo.lineDiscounts == [0, 0, 2_000, 0])

        let socks = try Self.selector(#"sku == "SOCKS""#)
        let jumper = try Self.selector(#"sku == "JUMPER""#)
        let bxgy = PromotionEngine([Promotion(id: "p", name: "jumper → socks half price",
                                              effects: [.buyXGetY(buy: jumper, buyQuantity: 1, get: socks, getQuantity: 2, basisPoints: 5_000)])])
        #expect(bxgy.evaluate(Self.checkout(Self.knitwear)).lineDiscounts == [0, 0, 0, 500])
        // Buy 2 get 1 free within the same set: the dearest two pay, the cheapest of the rest is free; not enough for a second round.
        let sameSet = PromotionEngine([Promotion(id: "p", name: "2 + 1", effects: [.buyXGetY(buy: knit, buyQuantity: 2, get: knit, getQuantity: 1, basisPoints: 10_000)])])
        #expect(sameSet.evaluate(Self.checkout(Self.knitwear)).lineDiscounts == [0, 0, 2_000, 0])
        let sixSocks = [CheckoutInput.Line(sku: "SOCKS", category: "men/socks", quantity: 6, unitPrice: 500)]
        let socksDeal = PromotionEngine([Promotion(id: "p", name: "2 + 1", effects: [.buyXGetY(buy: socks, buyQuantity: 2, get: socks, getQuantity: 1, basisPoints: 10_000)])])
        #expect(socksDeal.evaluate(Self.checkout(sixSocks)).lineDiscounts == [1_000])

        let bundle = PromotionEngine([Promotion(id: "p", name: "any 2 knits for 70", effects: [.bundlePrice(knit, quantity: 2, price: 7_000)], currency: Self.eur)])
        // Jumper + cardigan (90.00) for 70.00: 20.00 off split 50:40; the scarf has no partner.
        #expect(bundle.evaluate(Self.checkout(Self.knitwear)).lineDiscounts == [1_111, 889, 0, 0])
    }

    @Test func tiersPickTheHighestReached() {
        let tiers = Promotion(id: "p", name: "spend more", effects: [.tiered([
            .init(threshold: 10_000, discount: .amount(1_000)), .init(threshold: 20_000, discount: .amount(2_500)),
        ])], currency: Self.eur)
        #expect(PromotionEngine([tiers]).evaluate(Self.checkout(Self.knitwear)).discount == 1_000)  // 120.00
        let more = Self.knitwear + [.init(sku: "COAT", category: "women/coats", quantity: 1, unitPrice: 9_000)]
        #expect(PromotionEngine([tiers]).evaluate(Self.checkout(more)).discount == 2_500)  // 210.00
        #expect(PromotionEngine([tiers]).evaluate(Self.checkout(Array(Self.knitwear.prefix(1)))).applied.isEmpty)
    }

    @Test func eligibilityReasons() throws {
        let weekendMornings = PromotionSchedule(weekdays: [5, 6], hours: (from: 9 * 60, to: 12 * 60))
        let promotions = [
            Promotion(id: "p_sched", name: "weekend mornings", effects: [.freeShipping], schedule: weekendMornings),
            Promotion(id: "p_web", name: "web only", effects: [.freeShipping], channelKinds: ["web", "app"]),
            Promotion(id: "p_fr", name: "France", effects: [.freeShipping], countries: ["FR"]),
            Promotion(id: "p_sek", name: "Sweden", effects: [.amountOffCart(100)], currency: Currency(code: "SEK")!),
            Promotion(id: "p_code", name: "WELCOME10", effects: [.percentOffCart(basisPoints: 1_000)], unlock: .code("WELCOME10")),
            Promotion(id: "p_coupon", name: "coupon", effects: [.bonusPoints(100)], unlock: .couponCampaign("cpc_1")),
            Promotion(id: "p_broken", name: "compares money", condition: try Self.condition("cart.subtotal > 1.00 SEK"), effects: [.freeShipping]),
            Promotion(id: "p_budget", name: "used up", effects: [.freeShipping]),
        ]
        let engine = PromotionEngine(promotions)
        let result = engine.evaluate(Self.checkout(Self.knitwear), unavailable: ["p_budget": "promotion_budget_exhausted"])
        #expect(result.applied.map(\.promotionID) == ["p_sched"])
        let reasons = Dictionary(uniqueKeysWithValues: result.notApplied.map { ($0.promotionID, $0.reason) })
        #expect(reasons == ["p_web": .otherChannel, "p_fr": .otherCountry, "p_sek": .otherCurrency, "p_code": .codeRequired,
                            "p_coupon": .codeRequired, "p_broken": .evaluationFailed, "p_budget": .unavailable])
        #expect(result.notApplied.first { $0.promotionID == "p_broken" }?.detail.hasPrefix("currency_mismatch") == true)

        let sundayEvening = engine.evaluate(Self.checkout(Self.knitwear, channel: "web", codes: ["WELCOME10"], day: Self.saturday + 1, minute: 20 * 60),
                                            unlockedCampaigns: ["cpc_1"])
        #expect(Set(sundayEvening.applied.map(\.promotionID)) == ["p_web", "p_code", "p_coupon", "p_budget"])
        #expect(sundayEvening.bonusPoints == 100 && sundayEvening.freeShipping)
        #expect(sundayEvening.notApplied.first { $0.promotionID == "p_sched" }?.reason == .outsideSchedule)
        // Hours may run over midnight.
        let lateNight = PromotionSchedule(hours: (from: 22 * 60, to: 2 * 60))
        let night = PromotionEngine([Promotion(id: "n", name: "night", effects: [.freeShipping], schedule: lateNight)])
        #expect(night.evaluate(Self.checkout(Self.knitwear, minute: 60)).freeShipping)
        #expect(!night.evaluate(Self.checkout(Self.knitwear, minute: 3 * 60)).freeShipping)
    }

    /// Random carts and promotions: every line keeps a total of at least zero, every applied
    /// promotion's discount is the sum of its lines, and the order promotions are given in does not matter.
    @Test func randomCartsKeepTheBooksExact() throws {
        var random = SplitMix64(seed: 0xCA27)
        let selectors = try [#"category startsWith "women/""#, #"quantity >= 2"#, "true", #"sku == "S3""#].map(Self.selector)
        for _ in 0..<500 {
            let lines = (0..<(1 + random.below(8))).map { index in
                CheckoutInput.Line(sku: "S\(index)", category: random.below(2) == 0 ? "women/knitwear" : "men/socks",
                                   quantity: Int64(1 + random.below(4)), unitPrice: Int64(random.below(20_000)))
            }
            var promotions: [Promotion] = []
            for index in 0..<(1 + random.below(6)) {
                let selector = selectors[random.below(selectors.count)]
                let effect: PromotionEffect = switch random.below(8) {
                case 0: .percentOffCart(basisPoints: Int64(1 + random.below(10_000)))
                case 1: .amountOffCart(Int64(random.below(50_000)))
                case 2: .percentOffLines(selector, basisPoints: Int64(1 + random.below(10_000)))
                case 3: .amountOffLines(selector, perUnit: Int64(random.below(5_000)))
                case 4: .cheapestFree(selector, every: 1 + random.below(4))
                case 5: .buyXGetY(buy: selector, buyQuantity: 1 + random.below(3), get: selectors[random.below(selectors.count)], getQuantity: 1 + random.below(2),
                                  basisPoints: Int64(1 + random.below(10_000)))
                case 6: .bundlePrice(selector, quantity: 1 + random.below(3), price: Int64(random.below(30_000)))
                default: .tiered([.init(threshold: Int64(random.below(40_000)), discount: .amount(Int64(random.below(10_000))))])
                }
                let stacking: PromotionStacking = [.stackable, .exclusive, .group("g")][random.below(3)]
                promotions.append(Promotion(id: "p\(index)", name: "random", priority: random.below(3), stacking: stacking, effects: [effect],
                                            currency: Self.eur))
            }
            let result = PromotionEngine(promotions).evaluate(Self.checkout(lines))
            for (total, discount) in zip(result.lineTotals, result.lineDiscounts) { #expect(discount >= 0 && discount <= total) }
            #expect(result.applied.reduce(0) { $0 + $1.discount } == result.discount)
            for index in result.lineTotals.indices {
                #expect(result.applied.reduce(0) { $0 + $1.lineDiscounts[index] } == result.lineDiscounts[index])
            }
            #expect(result.applied.count + result.notApplied.count == promotions.count)
            let reversed = PromotionEngine(promotions.reversed()).evaluate(Self.checkout(lines))
            #expect(reversed.lineDiscounts == result.lineDiscounts)
        }
    }
}
