import Foundation
import OmniaCore

extension DemoHistory {
    /// The demo catalogue as shoppers meet it: `DemoCatalog`'s departments filled with items that
    /// sell along a long tail, a quarter of the fashion launched during the period and a fifth
    /// retired, each item in one of a few styles and with a partner from a department that goes
    /// with it (a jumper's scarf, a mug's coffee). The same generator state makes the same shelf.
    struct Shelf: Sendable {
        struct Item: Sendable {
            let sku: String
            let name: String
            let category: Int
            let style: Int
            let weight: Double
            /// The days (counted from the start of the shoppers' lives, `Plan.leadInDays` before the
            /// recorded history) on which it came on sale and went off it.
            let firstDay: Int
            let lastDay: Int
            /// In cents.
            let price: Int64
            var partner: Int?
        }

        private(set) var items: [Item]
        /// Items by department, then by department and style, with running sums of their weights
        /// for drawing by binary search.
        private let pools: [[Int]]
        private let stylePools: [[[Int]]]
        private let sums: [[Double]]
        private let styleSums: [[[Double]]]
        /// How much of the chain's trade each department has, for a pick of anything.
        private let categoryWeights: [Double]

        init(days: Int, random: inout SplitMix64) {
            let categories = DemoCatalog.categories
            var made: [Item] = []
            var byCategory: [[Int]] = Array(repeating: [], count: categories.count)
            for (index, category) in categories.enumerated() {
                for number in 0..<DemoCatalog.itemsPerCategory {
                    let variants = category.isConsumable ? DemoCatalog.packs : DemoCatalog.colours
                    let round = number / category.stems.count
                    let name = [category.stems[number % category.stems.count], variants[round % variants.count]]
                        .filter { !$0.isEmpty }.joined(separator: " ")
                    let style = random.below(DemoCatalog.styles)
                    let launched = !category.isConsumable && random.unit() < 0.25 ? random.below(days) : 0
                    let retired = !category.isConsumable && random.unit() < 0.2 ? launched + random.below(days - launched) + 1 : days
                    byCategory[index].append(made.count)
                    made.append(Item(sku: "\(category.code)-\(String(format: "%03d", number + 1))", name: name, category: index, style: style,
                                     weight: 1 / pow(Double(number + 1), 0.9), firstDay: launched, lastDay: retired,
                                     price: category.price + category.step * Int64((number * 7 + 3) % 5)))
                }
            }
            let finished = made
            func running(_ pool: [Int]) -> [Double] {
                var sum = 0.0
                return pool.map { item in
                    sum += finished[item].weight
                    return sum
                }
            }
            let styled = byCategory.map { pool in (0..<DemoCatalog.styles).map { style in pool.filter { finished[$0].style == style } } }
            items = finished
            pools = byCategory
            stylePools = styled
            sums = byCategory.map(running)
            styleSums = styled.map { $0.map(running) }
            categoryWeights = categories.indices.map { 1 / pow(Double($0 % 7 + 1), 0.5) }

            let categoryIndex = Dictionary(uniqueKeysWithValues: categories.enumerated().map { ($0.element.path, $0.offset) })
            for index in items.indices {
                let complements = categories[items[index].category].complements.compactMap { categoryIndex[$0] }
                guard !complements.isEmpty else { continue }
                let complement = complements[random.below(complements.count)]
                if let partner = pick(category: complement, day: nil, random: &random), partner != index { items[index].partner = partner }
            }
        }

        func category(of item: Int) -> DemoCatalog.Category { DemoCatalog.categories[items[item].category] }

        func isConsumable(_ item: Int) -> Bool { category(of: item).isConsumable }

        func isOnSale(_ item: Int, day: Int) -> Bool { items[item].firstDay <= day && day < items[item].lastDay }

        /// An item of `category` (and `style`, when given) by weight, on sale on `day` (any day when
        /// nil); nil when a few draws find nothing on sale.
        func pick(category: Int, style: Int? = nil, day: Int?, random: inout SplitMix64) -> Int? {
            let pool = style.map { stylePools[category][$0] } ?? pools[category]
            let weights = style.map { styleSums[category][$0] } ?? sums[category]
            guard let total = weights.last, total > 0 else { return nil }
            for _ in 0..<8 {
                let target = random.unit() * total
                var low = 0, high = weights.count - 1
                while low < high {
                    let middle = (low + high) / 2
                    if weights[middle] > target { high = middle } else { low = middle + 1 }
                }
                let item = pool[low]
                if let day, !isOnSale(item, day: day) { continue }
                return item
            }
            return nil
        }

        /// An item of any department, the chain's own trade deciding which.
        func anyItem(day: Int, random: inout SplitMix64) -> Int? {
            let total = categoryWeights.reduce(0, +)
            var left = random.unit() * total
            var category = categoryWeights.count - 1
            for (index, weight) in categoryWeights.enumerated() {
                left -= weight
                if left < 0 {
                    category = index
                    break
                }
            }
            return pick(category: category, day: day, random: &random)
        }
    }
}
