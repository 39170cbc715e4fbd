import OmniaCore
@testable import OmniaServer
import Testing

/// The per-model memory of neighbour lists and item profiles: what it answers, what it leaves to
/// the database, and that neither another model's rows nor more rows than its capacity are kept.
@Suite("Recommendation model cache")
struct RecommendationModelCacheTests {
    private static func neighbour(_ sku: String) -> Neighbour {
        Neighbour(sku: sku, score: 0.5, coBaskets: 2, channelKind: "store", category: "women/knitwear")
    }

    private static func profile(_ sku: String) -> ItemProfile {
        ItemProfile(sku: sku, name: "Item \(sku)", category: "women/knitwear", baskets: 3, buyers: 2, popularity: 1, repeatRate: 0,
                    repeatIntervalDays: nil, isConsumable: false)
    }

    private static func head(_ fittedAt: Int64, popular: [String] = []) -> RecommendationModelCache.Head {
        RecommendationModelCache.Head(fittedAt: fittedAt, builtAt: "2026-12-07T00:00:00.000Z", popular: popular.map(profile))
    }

    @Test("lists and profiles read once are answered from memory, SKUs without any included, under the model they were read for")
    func remembers() {
        let cache = RecommendationModelCache(capacity: 100)
        #expect(cache.neighbours(of: ["A"], tenantID: "t1", fittedAt: 1).missing == ["A"], "nothing is held before the head")
        cache.store(Self.head(1, popular: ["P"]), tenantID: "t1")
        #expect(cache.head(tenantID: "t1", fittedAt: 1)?.popularBySKU["P"]?.name == "Item P")
        #expect(cache.head(tenantID: "t1", fittedAt: 2) == nil, "a head of another model is not the current one")

        let first = cache.neighbours(of: ["A", "B"], tenantID: "t1", fittedAt: 1)
        #expect(first.found.isEmpty && first.missing == ["A", "B"])
        // A has two neighbours; B has none, and is remembered as having none.
        cache.remember(neighbours: ["A": [Self.neighbour("X"), Self.neighbour("Y")]], requested: ["A", "B"], tenantID: "t1", fittedAt: 1)
        let second = cache.neighbours(of: ["A", "B", "C"], tenantID: "t1", fittedAt: 1)
        #expect(second.found["A"]?.map(\.sku) == ["X", "Y"])
        #expect(second.found["B"] == [])
        #expect(second.missing == ["C"])
        #expect(cache.rows == 3)

        cache.remember(profiles: ["A": Self.profile("A")], requested: ["A", "Z"], tenantID: "t1", fittedAt: 1)
        let profiles = cache.profiles(of: ["A", "Z", "Q"], tenantID: "t1", fittedAt: 1)
        #expect(profiles.found.keys.sorted() == ["A"], "Z is unknown to the model: held as such, not answered")
        #expect(profiles.missing == ["Q"])
        #expect(cache.rows == 5)

        // Another tenant's lookups see nothing of t1's.
        cache.store(Self.head(1), tenantID: "t2")
        #expect(cache.neighbours(of: ["A"], tenantID: "t2", fittedAt: 1).missing == ["A"])
    }

    @Test("a newer model, a forgotten tenant and a read that raced a rebuild leave no old rows behind")
    func modelChanges() {
        let cache = RecommendationModelCache(capacity: 100)
        cache.store(Self.head(1), tenantID: "t1")
        cache.remember(neighbours: ["A": [Self.neighbour("X")]], requested: ["A"], tenantID: "t1", fittedAt: 1)
        #expect(cache.rows == 1)

        cache.store(Self.head(2), tenantID: "t1")
        #expect(cache.rows == 0)
        #expect(cache.neighbours(of: ["A"], tenantID: "t1", fittedAt: 2).missing == ["A"])
        #expect(cache.neighbours(of: ["A"], tenantID: "t1", fittedAt: 1).missing == ["A"], "the old model's lists went with it")

        // Rows read under model 1 by a request that started before the rebuild are not kept under model 2.
        cache.remember(neighbours: ["A": [Self.neighbour("OLD")]], requested: ["A"], tenantID: "t1", fittedAt: 1)
        #expect(cache.neighbours(of: ["A"], tenantID: "t1", fittedAt: 2).missing == ["A"])
        #expect(cache.rows == 0)

        cache.remember(neighbours: ["A": [Self.neighbour("X")]], requested: ["A"], tenantID: "t1", fittedAt: 2)
        cache.forget(tenantID: "t1")
        #expect(cache.rows == 0)
        #expect(cache.head(tenantID: "t1", fittedAt: 2) == nil)
    }

    @Test("past its capacity the cache drops every tenant's lists and starts over, keeping the heads")
    func capacity() {
        let cache = RecommendationModelCache(capacity: 4)
        cache.store(Self.head(1), tenantID: "t1")
        cache.store(Self.head(7), tenantID: "t2")
        cache.remember(neighbours: ["A": [Self.neighbour("X"), Self.neighbour("Y")]], requested: ["A"], tenantID: "t1", fittedAt: 1)
        cache.remember(profiles: ["B": Self.profile("B")], requested: ["B"], tenantID: "t2", fittedAt: 7)
        #expect(cache.rows == 3)

        cache.remember(neighbours: ["C": [Self.neighbour("X"), Self.neighbour("Y")]], requested: ["C"], tenantID: "t2", fittedAt: 7)
        #expect(cache.rows == 2, "the two lists held before went; the new one is kept")
        #expect(cache.neighbours(of: ["A"], tenantID: "t1", fittedAt: 1).missing == ["A"])
        #expect(cache.profiles(of: ["B"], tenantID: "t2", fittedAt: 7).missing == ["B"])
        #expect(cache.neighbours(of: ["C"], tenantID: "t2", fittedAt: 7).found["C"]?.count == 2)
        #expect(cache.head(tenantID: "t1", fittedAt: 1) != nil)

        // One read larger than the whole capacity is answered but not kept.
        cache.remember(neighbours: ["D": (0..<5).map { Self.neighbour("N\($0)") }], requested: ["D"], tenantID: "t1", fittedAt: 1)
        #expect(cache.neighbours(of: ["D"], tenantID: "t1", fittedAt: 1).missing == ["D"])
        #expect(cache.rows == 2)
    }
}
