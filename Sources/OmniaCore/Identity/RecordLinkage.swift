import Foundation

/// Probabilistic record linkage (Fellegi–Sunter) for customer records that share no key — a store
/// CRM and an e-commerce database. Candidate pairs come from blocking; each pair is compared field
/// by field into agreement levels; the m- and u-probabilities of each level (how often it occurs
/// among true matches and among non-matches) are learned by expectation–maximisation from the
/// pairs themselves, so no labelled data is needed.
public enum RecordLinkage {
    /// A customer record as the matcher sees it; any field may be missing.
    public struct Record: Sendable, Equatable {
        public var id: String
        public var firstName: String?
        public var lastName: String?
        /// `YYYY-MM-DD`.
        public var birthDate: String?
        public var address: String?
        public var postcode: String?
        /// E.164.
        public var phone: String?
        public var email: String?

        public init(id: String, firstName: String? = nil, lastName: String? = nil, birthDate: String? = nil, address: String? = nil,
                    postcode: String? = nil, phone: String? = nil, email: String? = nil) {
            self.id = id
            self.firstName = firstName
            self.lastName = lastName
            self.birthDate = birthDate
            self.address = address
            self.postcode = postcode
            self.phone = phone
            self.email = email
        }
    }

    public enum Field: Int, CaseIterable, Sendable {
        case firstName, lastName, birthDate, address, postcode, phone, email

        /// The field's name in the API (`first_name`…).
        public var name: String {
            switch self {
            case .firstName: "first_name"
            case .lastName: "last_name"
            case .birthDate: "birth_date"
            case .address: "address"
            case .postcode: "postcode"
            case .phone: "phone"
            case .email: "email"
            }
        }
    }

    /// How two values of a field compare; `missing` when either side has none (it then says nothing).
    public enum Level: Int, CaseIterable, Sendable {
        case missing = -1
        case different = 0
        case similar = 1
        case same = 2

        static let observed: [Level] = [.different, .similar, .same]

        /// The level's name in the API (`same`, `similar`, `different`, `missing`).
        public var name: String { String(describing: self) }
    }

    /// Learned probabilities: `m[field][level]` among matches, `u[field][level]` among non-matches,
    /// and the share of candidate pairs that match.
    public struct Model: Sendable {
        public var matchShare: Double
        public var m: [[Double]]
        public var u: [[Double]]

        /// A neutral start: agreement is likely among matches and unlikely among non-matches.
        public static let initial = Model(
            matchShare: 0.1,
            m: Array(repeating: [0.05, 0.15, 0.8], count: Field.allCases.count),
            u: Array(repeating: [0.85, 0.1, 0.05], count: Field.allCases.count)
        )

        /// log₂(m/u) summed over the fields both records have: the evidence the pair is one person.
        public func weight(_ levels: [Level]) -> Double {
            var total = 0.0
            for field in Field.allCases {
                let level = levels[field.rawValue]
                guard level != .missing else { continue }
                total += log2(m[field.rawValue][level.rawValue] / u[field.rawValue][level.rawValue])
            }
            return total
        }

        /// The posterior probability that the pair is a match.
        public func matchProbability(_ levels: [Level]) -> Double {
            let priorOdds = log2(matchShare / (1 - matchShare))
            let logOdds = priorOdds + weight(levels)
            return 1 / (1 + exp2(-logOdds))
        }
    }

    /// A candidate pair with its comparison and, once scored, its match probability.
    public struct Pair: Sendable {
        public let left: Int
        public let right: Int
        public let levels: [Level]
        public var probability = 0.0
    }

    // MARK: Comparing

    /// A record with its comparison forms worked out once — names and address as match keys, the
    /// email in lower case — since blocking and comparing read them for every pair it is part of.
    struct Keyed {
        let record: Record
        let first: String?
        let last: String?
        let address: String?
        let email: String?

        init(_ record: Record) {
            self.record = record
            first = record.firstName.map(StringSimilarity.matchKey)
            last = record.lastName.map(StringSimilarity.matchKey)
            address = record.address.map(StringSimilarity.matchKey)
            email = record.email?.lowercased()
        }
    }

    /// Compares every field of two records. First and last names are also compared crossed, so a
    /// record with the two swapped still agrees on both.
    public static func compare(_ a: Record, _ b: Record) -> [Level] {
        compare(Keyed(a), Keyed(b))
    }

    static func compare(_ a: Keyed, _ b: Keyed) -> [Level] {
        var levels = [Level](repeating: .missing, count: Field.allCases.count)
        let straight = (keyedNames(a.first, b.first), keyedNames(a.last, b.last))
        let crossed = (keyedNames(a.first, b.last), keyedNames(a.last, b.first))
        let useCrossed = crossed.0.rawValue + crossed.1.rawValue > straight.0.rawValue + straight.1.rawValue
            && crossed.0 != .missing && crossed.1 != .missing
        levels[Field.firstName.rawValue] = useCrossed ? crossed.0 : straight.0
        levels[Field.lastName.rawValue] = useCrossed ? crossed.1 : straight.1
        levels[Field.birthDate.rawValue] = codes(a.record.birthDate, b.record.birthDate)
        levels[Field.address.rawValue] = keyedNames(a.address, b.address)
        levels[Field.postcode.rawValue] = codes(a.record.postcode, b.record.postcode)
        levels[Field.phone.rawValue] = codes(a.record.phone, b.record.phone)
        levels[Field.email.rawValue] = codes(a.email, b.email)
        return levels
    }

    /// Names and addresses: Jaro–Winkler on match keys.
    static func names(_ a: String?, _ b: String?) -> Level {
        keyedNames(a.map(StringSimilarity.matchKey), b.map(StringSimilarity.matchKey))
    }

    /// `names` on values already turned into match keys.
    private static func keyedNames(_ a: String?, _ b: String?) -> Level {
        guard let a, let b, !a.isEmpty, !b.isEmpty else { return .missing }
        if a == b { return .same }
        return StringSimilarity.jaroWinkler(a, b) >= 0.88 ? .similar : .different
    }

    /// Dates, postcodes, phones, emails: one slip (a typo, two swapped digits) is similar.
    static func codes(_ a: String?, _ b: String?) -> Level {
        guard let a, let b, !a.isEmpty, !b.isEmpty else { return .missing }
        if a == b { return .same }
        return StringSimilarity.levenshtein(a, b) <= (min(a.count, b.count) >= 8 ? 2 : 1) ? .similar : .different
    }

    // MARK: Blocking

    /// Candidate pairs between `left` and `right` (or within `left` when `right` is nil): records
    /// that share at least one blocking key. Comparing every pair is quadratic; people who are the
    /// same nearly always share one of these.
    public static func candidatePairs(_ left: [Record], _ right: [Record]? = nil) -> [(Int, Int)] {
        candidatePairs(left.map(Keyed.init), right.map { $0.map(Keyed.init) })
    }

    static func candidatePairs(_ left: [Keyed], _ right: [Keyed]?) -> [(Int, Int)] {
        func keys(_ keyed: Keyed) -> [String] {
            var keys: [String] = []
            let last = keyed.last ?? ""
            let first = keyed.first ?? ""
            if let phone = keyed.record.phone { keys.append("p:" + phone) }
            if let email = keyed.email { keys.append("e:" + email) }
            if let postcode = keyed.record.postcode {
                for name in [last, first] where !name.isEmpty { keys.append("z:\(postcode):\(name.prefix(2))") }
            }
            // Wide on purpose: the same surname start with the same first-name initial catches people
            // whose every code changed, at the price of many non-matching pairs (which EM needs anyway).
            for (family, given) in [(last, first), (first, last)] where family.count >= 3 && !given.isEmpty {
                keys.append("n:\(family.prefix(4)):\(given.prefix(1))")
            }
            if let birth = keyed.record.birthDate {
                for name in [last, first] where !name.isEmpty { keys.append("b:\(birth):\(name.prefix(1))") }
            }
            return keys
        }
        var index: [String: [Int]] = [:]
        let targets = right ?? left
        for (position, keyed) in targets.enumerated() {
            for key in keys(keyed) { index[key, default: []].append(position) }
        }
        var seen = Set<Int64>()
        var pairs: [(Int, Int)] = []
        for (position, keyed) in left.enumerated() {
            for key in keys(keyed) {
                for other in index[key] ?? [] {
                    if right == nil && other <= position { continue }
                    let code = Int64(position) << 32 | Int64(other)
                    if seen.insert(code).inserted { pairs.append((position, other)) }
                }
            }
        }
        return pairs
    }

    // MARK: Learning

    /// Fits the model to the pairs by expectation–maximisation and returns the pairs scored.
    public static func fit(_ pairs: inout [Pair], iterations: Int = 100, start: Model = .initial) -> Model {
        var model = start
        let fields = Field.allCases.count
        let floor = 1e-6
        for _ in 0..<iterations {
            // E: each pair's probability of being a match under the current model.
            for index in pairs.indices { pairs[index].probability = model.matchProbability(pairs[index].levels) }
            // M: re-estimate the share of matches and each level's frequency among matches and non-matches.
            var matchTotal = 0.0
            var mCount = Array(repeating: [0.0, 0.0, 0.0], count: fields), uCount = mCount
            for pair in pairs {
                matchTotal += pair.probability
                for field in 0..<fields where pair.levels[field] != .missing {
                    mCount[field][pair.levels[field].rawValue] += pair.probability
                    uCount[field][pair.levels[field].rawValue] += 1 - pair.probability
                }
            }
            var next = model
            next.matchShare = min(max(matchTotal / Double(max(pairs.count, 1)), floor), 1 - floor)
            for field in 0..<fields {
                let mSum = mCount[field].reduce(0, +), uSum = uCount[field].reduce(0, +)
                guard mSum > 0, uSum > 0 else { continue }
                next.m[field] = mCount[field].map { max($0 / mSum, floor) }
                next.u[field] = uCount[field].map { max($0 / uSum, floor) }
            }
            let change = abs(next.matchShare - model.matchShare)
            model = next
            if change < 1e-9 { break }
        }
        for index in pairs.indices { pairs[index].probability = model.matchProbability(pairs[index].levels) }
        return model
    }

    /// Links `left` to `right` (or deduplicates `left`): blocks, compares, learns, scores.
    public static func link(_ left: [Record], _ right: [Record]? = nil) -> (model: Model, pairs: [Pair]) {
        let keyedLeft = left.map(Keyed.init), keyedRight = right.map { $0.map(Keyed.init) }
        let targets = keyedRight ?? keyedLeft
        var pairs = candidatePairs(keyedLeft, keyedRight).map {
            Pair(left: $0.0, right: $0.1, levels: compare(keyedLeft[$0.0], targets[$0.1]))
        }
        let model = fit(&pairs)
        return (model, pairs)
    }
}
