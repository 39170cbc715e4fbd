/// What one promotion's effects give on a cart, each effect working on what the effects and
/// promotions before it left of each line. A unit-based effect (cheapest free, buy X get Y, bundle)
/// values units at their price, and never takes more off a line than is left of it.
struct EffectOutcome {
    var lineDiscounts: [Int64]
    var freeShipping = false
    var bonusPoints: Int64 = 0
    var couponCampaigns: [String] = []
    var giftCardAmounts: [Int64] = []

    var gives: Bool {
        lineDiscounts.contains { $0 > 0 } || freeShipping || bonusPoints > 0 || !couponCampaigns.isEmpty || !giftCardAmounts.isEmpty
    }

    /// One unit of a line, for the unit-based effects.
    private struct Unit {
        let line: Int
        let price: Int64
    }

    init(_ effects: [PromotionEffect], lines: [CheckoutInput.Line], left initial: [Int64], selections: inout SelectionCache) throws(RuleEvaluationError) {
        lineDiscounts = initial.map { _ in 0 }
        var left = initial
        func take(_ amounts: [Int64]) {
            for index in amounts.indices {
                let amount = min(amounts[index], left[index])
                left[index] -= amount
                lineDiscounts[index] += amount
            }
        }
        func units(_ picked: [Bool]) -> [Unit] {
            var units: [Unit] = []
            for (index, line) in lines.enumerated() where picked[index] && line.quantity > 0 {
                for _ in 0..<line.quantity { units.append(Unit(line: index, price: line.unitPrice)) }
            }
            return units
        }
        for effect in effects {
            var amounts = left.map { _ in Int64(0) }
            switch effect {
            case .percentOffCart(let basisPoints):
                amounts = DiscountAllocation.proportional(DiscountAllocation.percent(basisPoints, of: left.reduce(0, +)), over: left)
            case .amountOffCart(let amount):
                amounts = DiscountAllocation.proportional(amount, over: left)
            case .percentOffLines(let selector, let basisPoints):
                let picked = try selections.lines(selector)
                for index in left.indices where picked[index] { amounts[index] = DiscountAllocation.percent(basisPoints, of: left[index]) }
            case .amountOffLines(let selector, let perUnit):
                let picked = try selections.lines(selector)
                for index in left.indices where picked[index] {
                    let (product, overflow) = perUnit.multipliedReportingOverflow(by: lines[index].quantity)
                    amounts[index] = overflow ? left[index] : min(product, left[index])
                }
            case .cheapestFree(let selector, let every):
                let sorted = Self.cheapestFirst(units(try selections.lines(selector)))
                for unit in sorted.prefix(sorted.count / max(every, 1)) { amounts[unit.line] += unit.price }
            case .buyXGetY(let buy, let buyQuantity, let get, let getQuantity, let basisPoints):
                let buyUnits = Self.dearestFirst(units(try selections.lines(buy)))
                let getUnits = Self.cheapestFirst(units(try selections.lines(get)))
                for unit in Self.freeUnits(buying: buyUnits, buyQuantity, getting: getUnits, getQuantity) {
                    amounts[unit.line] += DiscountAllocation.percent(basisPoints, of: unit.price)
                }
            case .bundlePrice(let selector, let quantity, let price):
                let sorted = Self.dearestFirst(units(try selections.lines(selector)))
                var start = 0
                while quantity > 0, start + quantity <= sorted.count {
                    let group = sorted[start..<start + quantity]
                    let full = group.reduce(0) { $0 + $1.price }
                    if full > price {
                        let shares = DiscountAllocation.proportional(full - price, over: group.map(\.price))
                        for (unit, share) in zip(group, shares) { amounts[unit.line] += share }
                    }
                    start += quantity
                }
            case .tiered(let tiers):
                let base = left.reduce(0, +)
                if let tier = tiers.filter({ $0.threshold <= base }).max(by: { $0.threshold < $1.threshold }) {
                    let amount = switch tier.discount {
                    case .amount(let amount): amount
                    case .percent(let basisPoints): DiscountAllocation.percent(basisPoints, of: base)
                    }
                    amounts = DiscountAllocation.proportional(amount, over: left)
                }
            case .freeShipping:
                freeShipping = true
            case .bonusPoints(let points):
                bonusPoints += points
            case .issueCoupon(let campaign):
                couponCampaigns.append(campaign)
            case .issueGiftCard(let amount):
                giftCardAmounts.append(amount)
            }
            take(amounts)
        }
    }

    private static func cheapestFirst(_ units: [Unit]) -> [Unit] {
        units.enumerated().sorted { a, b in a.element.price != b.element.price ? a.element.price < b.element.price : a.offset < b.offset }.map(\.element)
    }

    private static func dearestFirst(_ units: [Unit]) -> [Unit] {
        units.enumerated().sorted { a, b in a.element.price != b.element.price ? a.element.price > b.element.price : a.offset < b.offset }.map(\.element)
    }

    /// Buy X get Y: each round takes the `buyQuantity` dearest units left to buy, then the
    /// `getQuantity` cheapest units left to get (never a unit already bought or given), until one runs out.
    private static func freeUnits(buying: [Unit], _ buyQuantity: Int, getting: [Unit], _ getQuantity: Int) -> [Unit] {
        guard buyQuantity > 0, getQuantity > 0 else { return [] }
        // A unit is identified by its line and its rank among that line's units.
        struct Key: Hashable { let line: Int; let rank: Int }
        func keyed(_ units: [Unit]) -> [(key: Key, unit: Unit)] {
            var seen: [Int: Int] = [:]
            return units.map { unit in
                let rank = seen[unit.line, default: 0]
                seen[unit.line] = rank + 1
                return (Key(line: unit.line, rank: rank), unit)
            }
        }
        // Units of a line are alike, so rank them from the same end in both lists: the n-th unit of a
        // line taken by either side is the same unit.
        let buy = keyed(buying), get = keyed(getting)
        var used = Set<Key>()
        var free: [Unit] = []
        var buyIndex = 0, getIndex = 0
        while true {
            var bought: [Key] = []
            while bought.count < buyQuantity, buyIndex < buy.count {
                if !used.contains(buy[buyIndex].key) { bought.append(buy[buyIndex].key) }
                buyIndex += 1
            }
            guard bought.count == buyQuantity else { return free }
            bought.forEach { used.insert($0) }
            var given: [(Key, Unit)] = []
            var probe = getIndex
            while given.count < getQuantity, probe < get.count {
                if !used.contains(get[probe].key) { given.append((get[probe].key, get[probe].unit)) }
                probe += 1
            }
            guard given.count == getQuantity else { return free }
            getIndex = probe
            for (key, unit) in given {
                used.insert(key)
                free.append(unit)
            }
        }
    }
}
