import Foundation

extension ItemSimilarityModel {
    /// Builds the model from every basket of the tenant (any order), `catalogue` naming and
    /// categorising SKUs, popularity decaying from `now`.
    ///
    /// SKUs, customers and channel kinds become dense integers; then, for one item at a time,
    /// its co-occurrences are summed in dense scratch arrays over its baskets (and its buyers) —
    /// a sparse self-product that needs no hash map of pairs, touches each pair's count in
    /// cache-friendly arrays, and keeps only the top neighbours of each row. The work is the sum
    /// over baskets of their (capped) size squared, plus the same over customers.
    public static func build(baskets: [Basket], catalogue: [String: CatalogueItem], parameters: ItemSimilarityParameters = .init(),
                             now: Int64) -> ItemSimilarityModel {
        var builder = SimilarityBuilder(parameters: parameters, now: now)
        builder.load(baskets)
        return builder.model(catalogue: catalogue)
    }
}

/// The working state of one build: the baskets as dense integer arrays.
private struct SimilarityBuilder {
    let parameters: ItemSimilarityParameters
    let now: Int64

    var skus: [String] = []
    var skuIndex: [String: Int32] = [:]
    var channels: [String] = []
    var customerCount = 0
    var lineCount = 0

    /// Basket `b`'s distinct items are `items[itemStart[b]..<itemStart[b + 1]]`, in the order given.
    var itemStart: [Int] = [0]
    var items: [Int32] = []
    var basketChannel: [Int32] = []
    /// -1 for an anonymous basket.
    var basketCustomer: [Int32] = []
    var basketTime: [Int64] = []

    init(parameters: ItemSimilarityParameters, now: Int64) {
        self.parameters = parameters
        self.now = now
    }

    mutating func load(_ baskets: [Basket]) {
        var channelIndex: [String: Int32] = [:]
        var customerIndex: [String: Int32] = [:]
        var seenIn: [Int] = []
        items.reserveCapacity(baskets.count * 4)
        for (number, basket) in baskets.enumerated() {
            for sku in basket.skus {
                let item: Int32
                if let known = skuIndex[sku] {
                    item = known
                } else {
                    item = Int32(skus.count)
                    skuIndex[sku] = item
                    skus.append(sku)
                    seenIn.append(-1)
                }
                // A SKU twice in one basket counts once.
                if seenIn[Int(item)] != number {
                    seenIn[Int(item)] = number
                    items.append(item)
                }
            }
            itemStart.append(items.count)
            let channel: Int32
            if let known = channelIndex[basket.channelKind] {
                channel = known
            } else {
                channel = Int32(channels.count)
                channelIndex[basket.channelKind] = channel
                channels.append(basket.channelKind)
            }
            basketChannel.append(channel)
            if let id = basket.customerID {
                if let known = customerIndex[id] {
                    basketCustomer.append(known)
                } else {
                    basketCustomer.append(Int32(customerIndex.count))
                    customerIndex[id] = Int32(customerIndex.count)
                }
            } else {
                basketCustomer.append(-1)
            }
            basketTime.append(basket.time)
        }
        customerCount = customerIndex.count
        lineCount = items.count
    }

    var basketCount: Int { basketTime.count }

    func model(catalogue: [String: CatalogueItem]) -> ItemSimilarityModel {
        let stats = itemStatistics()
        let groups = buyerGroups()
        let lists = neighbourLists(stats: stats, groups: groups, catalogue: catalogue)
        var profiles: [ItemProfile] = []
        profiles.reserveCapacity(skus.count)
        for (item, sku) in skus.enumerated() {
            let known = catalogue[sku]
            let identified = stats.identifiedBuyers[item]
            let repeatRate = identified > 0 ? Double(stats.repeatBuyers[item]) / Double(identified) : 0
            profiles.append(ItemProfile(
                sku: sku, name: known?.name ?? sku, category: known?.category ?? "", baskets: stats.baskets[item],
                buyers: identified + stats.anonymousBaskets[item], popularity: stats.popularity[item], repeatRate: repeatRate,
                repeatIntervalDays: stats.medianGapDays[item],
                isConsumable: identified >= parameters.consumableMinBuyers && repeatRate >= parameters.consumableRepeatRate))
        }
        profiles.sort { $0.popularity != $1.popularity ? $0.popularity > $1.popularity : $0.sku < $1.sku }
        return ItemSimilarityModel(builtAt: now, parameters: parameters, basketCount: basketCount, lineCount: lineCount,
                                   customerCount: customerCount, items: profiles, neighbours: lists)
    }

    // MARK: Per item

    struct ItemStatistics {
        var baskets: [Int]
        var identifiedBuyers: [Int]
        var repeatBuyers: [Int]
        var anonymousBaskets: [Int]
        var popularity: [Double]
        var medianGapDays: [Double?]
    }

    /// The baskets of each customer, as a compressed list: customer `c`'s baskets are
    /// `customerBaskets[customerStart[c]..<customerStart[c + 1]]`.
    func basketsByCustomer() -> (start: [Int], baskets: [Int32]) {
        var start = [Int](repeating: 0, count: customerCount + 1)
        for customer in basketCustomer where customer >= 0 { start[Int(customer) + 1] += 1 }
        for index in 0..<customerCount { start[index + 1] += start[index] }
        var fill = start
        var baskets = [Int32](repeating: 0, count: start[customerCount])
        for (basket, customer) in basketCustomer.enumerated() where customer >= 0 {
            baskets[fill[Int(customer)]] = Int32(basket)
            fill[Int(customer)] += 1
        }
        return (start, baskets)
    }

    func itemStatistics() -> ItemStatistics {
        let count = skus.count
        var stats = ItemStatistics(baskets: .init(repeating: 0, count: count), identifiedBuyers: .init(repeating: 0, count: count),
                                   repeatBuyers: .init(repeating: 0, count: count), anonymousBaskets: .init(repeating: 0, count: count),
                                   popularity: .init(repeating: 0, count: count), medianGapDays: .init(repeating: nil, count: count))
        let halfLife = max(parameters.popularityHalfLifeDays, 0.001) * Double(RecommendationTime.day)
        func decay(_ time: Int64) -> Double { exp2(-Double(max(0, now - time)) / halfLife) }

        for basket in 0..<basketCount {
            for position in itemStart[basket]..<itemStart[basket + 1] {
                let item = Int(items[position])
                stats.baskets[item] += 1
                if basketCustomer[basket] < 0 {
                    stats.anonymousBaskets[item] += 1
                    stats.popularity[item] += decay(basketTime[basket])
                }
            }
        }
        // Each customer's purchases by item and time: distinct days, the gaps between them, the last time.
        let (start, customerBaskets) = basketsByCustomer()
        var purchases: [(item: Int32, time: Int64)] = []
        var gaps: [UInt64] = []
        for customer in 0..<customerCount {
            purchases.removeAll(keepingCapacity: true)
            for basket in customerBaskets[start[customer]..<start[customer + 1]] {
                let time = basketTime[Int(basket)]
                for position in itemStart[Int(basket)]..<itemStart[Int(basket) + 1] { purchases.append((items[position], time)) }
            }
            purchases.sort { $0.item != $1.item ? $0.item < $1.item : $0.time < $1.time }
            var index = 0
            while index < purchases.count {
                let item = purchases[index].item
                var lastDay = RecommendationTime.day(of: purchases[index].time)
                var days = 1
                var end = index + 1
                while end < purchases.count && purchases[end].item == item {
                    let day = RecommendationTime.day(of: purchases[end].time)
                    if day != lastDay {
                        gaps.append(UInt64(item) << 32 | UInt64(min(day - lastDay, Int64(UInt32.max))))
                        lastDay = day
                        days += 1
                    }
                    end += 1
                }
                stats.identifiedBuyers[Int(item)] += 1
                if days >= 2 { stats.repeatBuyers[Int(item)] += 1 }
                stats.popularity[Int(item)] += decay(purchases[end - 1].time)
                index = end
            }
        }
        gaps.sort()
        var index = 0
        while index < gaps.count {
            let item = Int(gaps[index] >> 32)
            var end = index
            while end < gaps.count && Int(gaps[end] >> 32) == item { end += 1 }
            let middle = (index + end) / 2
            let upper = Double(gaps[middle] & 0xffff_ffff)
            stats.medianGapDays[item] = (end - index) % 2 == 1 ? upper : (upper + Double(gaps[middle - 1] & 0xffff_ffff)) / 2
            index = end
        }
        return stats
    }

    // MARK: Pairs

    /// The "buyers" of customer-level co-occurrence: each identified customer with their most
    /// recent distinct items (capped), and each anonymous basket as a buyer of its own.
    struct BuyerGroups {
        var start: [Int]
        var items: [Int32]
    }

    func buyerGroups() -> BuyerGroups {
        var groups = BuyerGroups(start: [0], items: [])
        guard parameters.customerWeight > 0 else { return groups }
        let (start, customerBaskets) = basketsByCustomer()
        var lastSeen = [Int64](repeating: .min, count: skus.count)
        var touched: [Int32] = []
        for customer in 0..<customerCount {
            touched.removeAll(keepingCapacity: true)
            for basket in customerBaskets[start[customer]..<start[customer + 1]] {
                let time = basketTime[Int(basket)]
                for position in itemStart[Int(basket)]..<itemStart[Int(basket) + 1] {
                    let item = Int(items[position])
                    if lastSeen[item] == .min { touched.append(Int32(item)) }
                    lastSeen[item] = max(lastSeen[item], time)
                }
            }
            if touched.count > parameters.maxCustomerItems {
                touched.sort { lastSeen[Int($0)] != lastSeen[Int($1)] ? lastSeen[Int($0)] > lastSeen[Int($1)] : $0 < $1 }
            }
            groups.items.append(contentsOf: touched.prefix(max(0, parameters.maxCustomerItems)))
            groups.start.append(groups.items.count)
            for item in touched { lastSeen[Int(item)] = .min }
        }
        for basket in 0..<basketCount where basketCustomer[basket] < 0 {
            groups.items.append(contentsOf: items[itemStart[basket]..<min(itemStart[basket + 1], itemStart[basket] + parameters.maxBasketItems)])
            groups.start.append(groups.items.count)
        }
        return groups
    }

    /// Inverts "group → items" into "item → groups", for groups given as start offsets and items
    /// (only the first `cap` items of each group count).
    func invert(start: [Int], members: [Int32], cap: Int) -> (start: [Int], groups: [Int32]) {
        let groupCount = start.count - 1
        var itemStart = [Int](repeating: 0, count: skus.count + 1)
        for group in 0..<groupCount {
            for position in start[group]..<start[group] + min(cap, start[group + 1] - start[group]) { itemStart[Int(members[position]) + 1] += 1 }
        }
        for item in 0..<skus.count { itemStart[item + 1] += itemStart[item] }
        var fill = itemStart
        var groups = [Int32](repeating: 0, count: itemStart[skus.count])
        for group in 0..<groupCount {
            for position in start[group]..<start[group] + min(cap, start[group + 1] - start[group]) {
                let item = Int(members[position])
                groups[fill[item]] = Int32(group)
                fill[item] += 1
            }
        }
        return (itemStart, groups)
    }

    func neighbourLists(stats: ItemStatistics, groups: BuyerGroups, catalogue: [String: CatalogueItem]) -> [ItemNeighbours] {
        let itemCount = skus.count
        let cap = max(2, parameters.maxBasketItems)
        let byBasket = invert(start: itemStart, members: items, cap: cap)
        let byBuyer = invert(start: groups.start, members: groups.items, cap: Int.max)
        var groupSize = [Int](repeating: 0, count: itemCount)
        for item in 0..<itemCount { groupSize[item] = byBuyer.start[item + 1] - byBuyer.start[item] }
        let channelCount = max(1, channels.count)
        let channelOrder = channels.indices.sorted { channels[$0] < channels[$1] }
        let keep = max(0, parameters.neighbours)
        let weight = min(1, max(0, parameters.customerWeight))
        let shrinkage = max(0, parameters.shrinkage)
        let support = max(1, parameters.minSupport)
        let alpha = min(1, max(0, parameters.asymmetry))

        var together = [Int32](repeating: 0, count: itemCount)
        var sameBuyer = [Int32](repeating: 0, count: itemCount)
        var channelCounts = [Int32](repeating: 0, count: itemCount * channelCount)
        var touched: [Int32] = []
        var best: [(score: Double, item: Int32)] = []
        var lists: [ItemNeighbours] = []

        for item in 0..<itemCount {
            touched.removeAll(keepingCapacity: true)
            for basket in byBasket.groups[byBasket.start[item]..<byBasket.start[item + 1]] {
                let channel = Int(basketChannel[Int(basket)])
                let from = itemStart[Int(basket)]
                for position in from..<min(itemStart[Int(basket) + 1], from + cap) {
                    let other = Int(items[position])
                    if other == item { continue }
                    if together[other] == 0 && sameBuyer[other] == 0 { touched.append(Int32(other)) }
                    together[other] += 1
                    channelCounts[other * channelCount + channel] += 1
                }
            }
            if weight > 0 {
                for group in byBuyer.groups[byBuyer.start[item]..<byBuyer.start[item + 1]] {
                    for position in groups.start[Int(group)]..<groups.start[Int(group) + 1] {
                        let other = Int(groups.items[position])
                        if other == item { continue }
                        if together[other] == 0 && sameBuyer[other] == 0 { touched.append(Int32(other)) }
                        sameBuyer[other] += 1
                    }
                }
            }
            best.removeAll(keepingCapacity: true)
            for other in touched {
                let o = Int(other)
                let co = Double(together[o]), buyers = Double(sameBuyer[o])
                guard Int(together[o]) >= support || Int(sameBuyer[o]) >= support else { continue }
                func similarity(_ together: Double, _ anchorCount: Int, _ neighbourCount: Int) -> Double {
                    guard together > 0 else { return 0 }
                    let scale = pow(Double(anchorCount), 1 - alpha) * pow(Double(neighbourCount), alpha)
                    return together / scale * together / (together + shrinkage)
                }
                var score = similarity(co, stats.baskets[item], stats.baskets[o])
                if weight > 0 {
                    score = (1 - weight) * score + weight * similarity(buyers, groupSize[item], groupSize[o])
                }
                guard score > 0 else { continue }
                insert((score, other), into: &best, keep: keep)
            }
            if !best.isEmpty {
                let neighbours = best.map { entry -> Neighbour in
                    let o = Int(entry.item)
                    var channel = -1
                    let counts = channelCounts[o * channelCount..<(o + 1) * channelCount]
                    for candidate in channelOrder where counts[counts.startIndex + candidate] > 0 {
                        if channel < 0 || counts[counts.startIndex + candidate] > counts[counts.startIndex + channel] { channel = candidate }
                    }
                    return Neighbour(sku: skus[o], score: entry.score, coBaskets: Int(together[o]),
                                     channelKind: channel < 0 ? "" : channels[channel], category: catalogue[skus[o]]?.category ?? "")
                }
                lists.append(ItemNeighbours(sku: skus[item], neighbours: neighbours))
            }
            for other in touched {
                let o = Int(other)
                together[o] = 0
                sameBuyer[o] = 0
                for channel in 0..<channelCount { channelCounts[o * channelCount + channel] = 0 }
            }
        }
        lists.sort { $0.sku < $1.sku }
        return lists
    }

    /// Keeps `best` the `keep` highest scores, in order (ties by SKU), inserting one.
    func insert(_ entry: (score: Double, item: Int32), into best: inout [(score: Double, item: Int32)], keep: Int) {
        func before(_ a: (score: Double, item: Int32), _ b: (score: Double, item: Int32)) -> Bool {
            a.score != b.score ? a.score > b.score : skus[Int(a.item)] < skus[Int(b.item)]
        }
        guard keep > 0 else { return }
        if best.count == keep, let last = best.last, !before(entry, last) { return }
        var position = best.count
        while position > 0 && before(entry, best[position - 1]) { position -= 1 }
        best.insert(entry, at: position)
        if best.count > keep { best.removeLast() }
    }
}
