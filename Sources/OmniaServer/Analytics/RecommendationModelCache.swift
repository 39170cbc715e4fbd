import OmniaCore
import Synchronization

/// The parts of each tenant's stored recommendation model that requests have read: its build time
/// and popular head, and the neighbour lists and item profiles of the SKUs asked for so far. A
/// request reads from the database only the SKUs no earlier request asked for (one query for all of
/// them), so a catalogue's busy items are read once per model rather than once per request.
///
/// Everything is kept under the time the model was stored (`analytics_models.fitted_at`, read by
/// primary key on every request): a rebuild on any server changes that time and the tenant's
/// entry starts over, so a stale list is never served; a rebuild on this server forgets the tenant
/// at once (which also covers two rebuilds within one millisecond of a frozen test clock).
///
/// Memory is bounded by rows: past `capacity` neighbours and profiles held in all, every tenant's
/// lists are dropped and read again as asked (the heads stay). A catalogue whose busy part is larger
/// than that is served as before the cache, a query per request.
final class RecommendationModelCache: Sendable {
    /// A tenant's model time, build time and popular head.
    struct Head: Sendable {
        let fittedAt: Int64
        let builtAt: String
        /// Prepared once per model for the blender.
        let popular: PopularItems
        /// The popular items by SKU, so a request names them without a lookup of its own.
        let popularBySKU: [String: ItemProfile]

        init(fittedAt: Int64, builtAt: String, popular: [ItemProfile]) {
            self.fittedAt = fittedAt
            self.builtAt = builtAt
            self.popular = PopularItems(popular)
            popularBySKU = Dictionary(popular.map { ($0.sku, $0) }) { first, _ in first }
        }
    }

    /// What a lookup found, and the SKUs it has to read.
    struct Lookup<Value: Sendable>: Sendable {
        var found: [String: Value] = [:]
        var missing: [String] = []
    }

    private struct Entry {
        var head: Head
        /// A SKU the model has no neighbours for is held as an empty list, so it is not asked again.
        var neighbours: [String: [Neighbour]] = [:]
        /// nil: the model does not know the SKU.
        var profiles: [String: ItemProfile?] = [:]

        /// The rows held, as `State.rows` counts them (an empty list is one).
        var rows: Int { neighbours.values.reduce(0) { $0 + max(1, $1.count) } + profiles.count }
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var rows = 0
    }

    static let shared = RecommendationModelCache()
    /// Neighbour and profile rows held in all, some 100 bytes each: about 50 MB.
    static let defaultCapacity = 500_000
    /// Heads held (200 profiles each, some 40 kB); past that the heads start over too.
    static let headCapacity = 1_000

    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int = RecommendationModelCache.defaultCapacity) {
        self.capacity = capacity
    }

    /// The tenant's head if it was read under the model stored at `fittedAt`.
    func head(tenantID: String, fittedAt: Int64) -> Head? {
        state.withLock { state in
            guard let entry = state.entries[tenantID], entry.head.fittedAt == fittedAt else { return nil }
            return entry.head
        }
    }

    /// Keeps the head of a model just read, dropping what was held of an older one.
    func store(_ head: Head, tenantID: String) {
        state.withLock { state in
            if let old = state.entries[tenantID] {
                guard old.head.fittedAt != head.fittedAt else { return }
                state.rows -= old.rows
            } else if state.entries.count >= Self.headCapacity {
                state = State()
            }
            state.entries[tenantID] = Entry(head: head)
        }
    }

    func forget(tenantID: String) {
        state.withLock { state in
            guard let old = state.entries.removeValue(forKey: tenantID) else { return }
            state.rows -= old.rows
        }
    }

    /// The neighbour lists held of `skus` (empty for a SKU without neighbours), and those not held.
    func neighbours(of skus: [String], tenantID: String, fittedAt: Int64) -> Lookup<[Neighbour]> {
        state.withLock { state in
            var lookup = Lookup<[Neighbour]>()
            guard let entry = state.entries[tenantID], entry.head.fittedAt == fittedAt else {
                lookup.missing = skus
                return lookup
            }
            for sku in skus {
                if let list = entry.neighbours[sku] { lookup.found[sku] = list } else { lookup.missing.append(sku) }
            }
            return lookup
        }
    }

    /// Keeps the lists just read of `requested` (those absent from `lists` have none).
    func remember(neighbours lists: [String: [Neighbour]], requested: [String], tenantID: String, fittedAt: Int64) {
        state.withLock { state in
            var added = 0
            for sku in requested { added += max(1, lists[sku]?.count ?? 0) }
            guard Self.makeRoom(for: added, in: &state, capacity: capacity, tenantID: tenantID, fittedAt: fittedAt) else { return }
            for sku in requested where state.entries[tenantID]?.neighbours[sku] == nil {
                state.entries[tenantID]?.neighbours[sku] = lists[sku] ?? []
                state.rows += max(1, lists[sku]?.count ?? 0)
            }
        }
    }

    /// The profiles held of `skus` (a SKU the model does not know is left out), and those not held.
    func profiles(of skus: Set<String>, tenantID: String, fittedAt: Int64) -> Lookup<ItemProfile> {
        state.withLock { state in
            var lookup = Lookup<ItemProfile>()
            guard let entry = state.entries[tenantID], entry.head.fittedAt == fittedAt else {
                lookup.missing = Array(skus)
                return lookup
            }
            for sku in skus {
                if let held = entry.profiles[sku] {
                    if let profile = held { lookup.found[sku] = profile }
                } else {
                    lookup.missing.append(sku)
                }
            }
            return lookup
        }
    }

    /// Keeps the profiles just read of `requested` (those absent from `profiles` the model does not know).
    func remember(profiles: [String: ItemProfile], requested: [String], tenantID: String, fittedAt: Int64) {
        state.withLock { state in
            guard Self.makeRoom(for: requested.count, in: &state, capacity: capacity, tenantID: tenantID, fittedAt: fittedAt) else { return }
            for sku in requested where state.entries[tenantID]?.profiles[sku] == nil {
                state.entries[tenantID]?.profiles[sku] = .some(profiles[sku])
                state.rows += 1
            }
        }
    }

    /// Rows held in all (for tests and the bench).
    var rows: Int { state.withLock { $0.rows } }

    /// False when the tenant's entry is gone or of another model (a rebuild raced the read: its rows
    /// are not kept). Past the capacity, every tenant's lists are dropped first.
    private static func makeRoom(for added: Int, in state: inout State, capacity: Int, tenantID: String, fittedAt: Int64) -> Bool {
        guard state.entries[tenantID]?.head.fittedAt == fittedAt, added <= capacity else { return false }
        if state.rows + added > capacity {
            for key in Array(state.entries.keys) {
                state.entries[key]?.neighbours = [:]
                state.entries[key]?.profiles = [:]
            }
            state.rows = 0
        }
        return true
    }
}
