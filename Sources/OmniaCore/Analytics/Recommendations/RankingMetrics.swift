import Foundation

/// Top-k ranking metrics with binary relevance, as offline evaluations of recommenders report them.
public enum RankingMetrics {
    /// The share of the first `k` slots holding a relevant item (a short list still has `k` slots).
    public static func precision(at k: Int, recommended: [String], relevant: Set<String>) -> Double {
        guard k > 0 else { return 0 }
        return Double(recommended.prefix(k).filter(relevant.contains).count) / Double(k)
    }

    /// 1 when any of the first `k` is relevant, else 0.
    public static func hit(at k: Int, recommended: [String], relevant: Set<String>) -> Double {
        recommended.prefix(max(0, k)).contains(where: relevant.contains) ? 1 : 0
    }

    /// Discounted gain of the first `k` (a hit at rank r gains 1 / log2(r + 1)) over the best
    /// possible: all of min(k, |relevant|) hits first.
    public static func ndcg(at k: Int, recommended: [String], relevant: Set<String>) -> Double {
        let ideal = (0..<min(max(0, k), relevant.count)).reduce(0.0) { $0 + 1 / log2(Double($1) + 2) }
        guard ideal > 0 else { return 0 }
        var gain = 0.0
        for (rank, sku) in recommended.prefix(k).enumerated() where relevant.contains(sku) { gain += 1 / log2(Double(rank) + 2) }
        return gain / ideal
    }
}
