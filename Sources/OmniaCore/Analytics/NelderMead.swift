/// The Nelder–Mead simplex method, with the dimension-adapted coefficients of Gao & Han (2012):
/// minimises a function over ℝⁿ without derivatives. The models fit their parameters with it in
/// log space, where every point is a valid positive parameter set.
public struct NelderMead: Sendable, Hashable {
    /// Simplex steps (reflections, expansions, contractions or shrinks) allowed over all restarts.
    public var maximumIterations: Int
    /// The simplex has settled when its values differ by at most this share of the best one.
    public var valueTolerance: Double
    /// … and its vertices lie within this distance of the best one in every coordinate.
    public var pointTolerance: Double
    /// The edge of the starting simplex in each coordinate.
    public var initialStep: Double
    /// Times the search starts afresh from where it settled, because a simplex can collapse
    /// short of a minimum; it has converged when a restart no longer improves the value.
    public var maximumRestarts: Int

    /// A search with these limits; the defaults fit the CLV models to about eight significant digits.
    public init(maximumIterations: Int = 5_000, valueTolerance: Double = 1e-12, pointTolerance: Double = 1e-8,
                initialStep: Double = 0.5, maximumRestarts: Int = 5) {
        self.maximumIterations = maximumIterations
        self.valueTolerance = valueTolerance
        self.pointTolerance = pointTolerance
        self.initialStep = initialStep
        self.maximumRestarts = maximumRestarts
    }

    /// Where a search ended: the best point, its value, the work done and whether it settled.
    public struct Result: Sendable, Hashable {
        /// The best point found.
        public let point: [Double]
        /// The objective there; +∞ only when the objective was not finite at the start.
        public let value: Double
        /// Simplex steps taken over all restarts.
        public let iterations: Int
        /// Objective evaluations, the measure of the search's cost.
        public let evaluations: Int
        /// Whether the simplex settled and a restart confirmed it; false when the budget ran out first.
        public let converged: Bool
    }

    /// The minimum of `objective` found from `start`. A NaN or infinite value counts as +∞, so the
    /// search walks away from where the objective breaks down instead of taking its NaN.
    public func minimize(from start: [Double], _ objective: ([Double]) -> Double) -> Result {
        var evaluations = 0
        func value(_ point: [Double]) -> Double {
            evaluations += 1
            let result = objective(point)
            return result.isNaN ? .infinity : result
        }
        var best = start
        var bestValue = value(start)
        guard bestValue.isFinite, !start.isEmpty else {
            return Result(point: start, value: bestValue, iterations: 0, evaluations: evaluations, converged: false)
        }
        var iterations = 0
        for attempt in 0...max(maximumRestarts, 0) {
            let run = search(from: best, value: bestValue, iterations: &iterations, value)
            let improvement = bestValue - run.value
            best = run.point
            bestValue = run.value
            guard run.settled else { break }
            // A fresh simplex that finds nothing better confirms the minimum.
            if maximumRestarts <= 0 || attempt > 0 && improvement <= valueTolerance * max(abs(bestValue), 1) {
                return Result(point: best, value: bestValue, iterations: iterations, evaluations: evaluations, converged: true)
            }
        }
        return Result(point: best, value: bestValue, iterations: iterations, evaluations: evaluations, converged: false)
    }

    /// One run of the simplex from `start` until it settles or the iteration budget runs out.
    private func search(from start: [Double], value startValue: Double, iterations: inout Int,
                        _ value: ([Double]) -> Double) -> (point: [Double], value: Double, settled: Bool) {
        let n = start.count
        // Gao & Han's coefficients; for one and two dimensions they are the classic 1, 2, ½, ½.
        let m = Double(max(n, 2))
        let expansion = 1 + 2 / m
        let contraction = 0.75 - 1 / (2 * m)
        let shrinkage = 1 - 1 / m

        var vertices = [start]
        var values = [startValue]
        for i in 0..<n {
            var vertex = start
            vertex[i] += initialStep
            vertices.append(vertex)
            values.append(value(vertex))
        }
        func along(_ from: [Double], _ to: [Double], _ factor: Double) -> [Double] {
            (0..<n).map { from[$0] + factor * (to[$0] - from[$0]) }
        }
        while true {
            let order = values.indices.sorted { values[$0] < values[$1] }
            vertices = order.map { vertices[$0] }
            values = order.map { values[$0] }
            let spread = values[n] - values[0]
            let width = vertices.dropFirst().map { vertex in
                zip(vertex, vertices[0]).map { abs($0 - $1) }.max() ?? 0
            }.max() ?? 0
            if spread <= valueTolerance * max(abs(values[0]), 1) && width <= pointTolerance {
                return (vertices[0], values[0], true)
            }
            guard iterations < maximumIterations else { return (vertices[0], values[0], false) }
            iterations += 1

            var centroid = [Double](repeating: 0, count: n)
            for vertex in vertices.dropLast() {
                for i in 0..<n { centroid[i] += vertex[i] / Double(n) }
            }
            let worst = vertices[n]
            let reflected = along(centroid, worst, -1)
            let reflectedValue = value(reflected)
            if reflectedValue < values[0] {
                let expanded = along(centroid, worst, -expansion)
                let expandedValue = value(expanded)
                (vertices[n], values[n]) = expandedValue < reflectedValue ? (expanded, expandedValue) : (reflected, reflectedValue)
                continue
            }
            if reflectedValue < values[n - 1] {
                (vertices[n], values[n]) = (reflected, reflectedValue)
                continue
            }
            // Contract towards the better of the worst vertex and its reflection.
            let outside = reflectedValue < values[n]
            let contracted = along(centroid, outside ? reflected : worst, contraction)
            let contractedValue = value(contracted)
            if contractedValue < (outside ? reflectedValue : values[n]) {
                (vertices[n], values[n]) = (contracted, contractedValue)
                continue
            }
            for i in 1...n {
                vertices[i] = along(vertices[0], vertices[i], shrinkage)
                values[i] = value(vertices[i])
            }
        }
    }
}
