/// A model's popular head (most popular first) with what every request would otherwise work out
/// again for each of its items: the slots of its category and department in the customer's
/// affinity shares. The server keeps one per model and the offline evaluation one per training
/// split, so a request spends no string hashing on the head beyond putting its items among the
/// candidates.
public struct PopularItems: Sendable {
    public let items: [ItemProfile]
    /// The most popular item's popularity (0 for an empty head).
    let top: Double
    /// Each item's category in `slots`, or -1 for an item without one.
    let categorySlot: [Int]
    /// Each item's department ("women" of "women/knitwear") in `slots`, or -1 when its category
    /// has no department part of its own.
    let departmentSlot: [Int]
    /// The categories and departments of the head, in the one key space the shares use (a
    /// category with no "/" and a department of that name are the same key).
    let slots: [Substring: Int]

    public init(_ items: [ItemProfile]) {
        self.items = items
        top = items.map(\.popularity).max() ?? 0
        var slots: [Substring: Int] = [:]
        func slot(_ key: Substring) -> Int {
            if let known = slots[key] { return known }
            slots[key] = slots.count
            return slots.count - 1
        }
        var categorySlot: [Int] = [], departmentSlot: [Int] = []
        for item in items {
            let department = RecommendationBlender.department(item.category)
            categorySlot.append(item.category.isEmpty ? -1 : slot(Substring(item.category)))
            departmentSlot.append(department.endIndex < item.category.endIndex ? slot(department) : -1)
        }
        self.categorySlot = categorySlot
        self.departmentSlot = departmentSlot
        self.slots = slots
    }
}
