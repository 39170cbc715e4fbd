import Foundation

/// String comparators for record linkage: how alike two spellings of a name, street or email are,
/// from 0 (nothing in common) to 1 (the same). Inputs are compared as given; use `matchKey` first
/// so case, accents and punctuation do not count as differences.
public enum StringSimilarity {
    /// Jaro similarity: shared characters within a window, penalised for transpositions.
    public static func jaro(_ a: String, _ b: String) -> Double {
        let left = Array(a.unicodeScalars), right = Array(b.unicodeScalars)
        if left.isEmpty && right.isEmpty { return 1 }
        if left.isEmpty || right.isEmpty { return 0 }
        let window = max(0, max(left.count, right.count) / 2 - 1)
        var leftMatched = [Bool](repeating: false, count: left.count)
        var rightMatched = [Bool](repeating: false, count: right.count)
        var matches = 0
        for i in left.indices {
            let start = max(0, i - window), end = min(right.count - 1, i + window)
            guard start <= end else { continue }
            for j in start...end where !rightMatched[j] && left[i] == right[j] {
                leftMatched[i] = true
                rightMatched[j] = true
                matches += 1
                break
            }
        }
        guard matches > 0 else { return 0 }
        var transpositions = 0
        var j = 0
        for i in left.indices where leftMatched[i] {
            while !rightMatched[j] { j += 1 }
            if left[i] != right[j] { transpositions += 1 }
            j += 1
        }
        let m = Double(matches)
        return (m / Double(left.count) + m / Double(right.count) + (m - Double(transpositions / 2)) / m) / 3
    }

    /// Jaro–Winkler: Jaro with a bonus for a common prefix (up to 4 characters), which suits names,
    /// where typos cluster at the end.
    public static func jaroWinkler(_ a: String, _ b: String, prefixScale: Double = 0.1) -> Double {
        let similarity = jaro(a, b)
        let prefix = zip(a.unicodeScalars, b.unicodeScalars).prefix(4).prefix { $0 == $1 }.count
        return similarity + Double(prefix) * prefixScale * (1 - similarity)
    }

    /// Levenshtein edit distance (insertions, deletions, substitutions), in Unicode scalars.
    public static func levenshtein(_ a: String, _ b: String) -> Int {
        let left = Array(a.unicodeScalars), right = Array(b.unicodeScalars)
        if left.isEmpty { return right.count }
        if right.isEmpty { return left.count }
        var previous = Array(0...right.count)
        var current = [Int](repeating: 0, count: right.count + 1)
        for i in 1...left.count {
            current[0] = i
            for j in 1...right.count {
                let substitution = previous[j - 1] + (left[i - 1] == right[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[right.count]
    }

    /// 1 − distance / longer length: edit similarity on the same 0…1 scale as Jaro–Winkler, better
    /// suited to codes and numbers (postcodes, phones) where a prefix means nothing special.
    public static func normalizedLevenshtein(_ a: String, _ b: String) -> Double {
        let longer = max(a.unicodeScalars.count, b.unicodeScalars.count)
        guard longer > 0 else { return 1 }
        return 1 - Double(levenshtein(a, b)) / Double(longer)
    }

    /// The form two spellings of a name or address are compared in: lower case, accents removed
    /// (`Muñoz` → `munoz`), punctuation dropped, runs of white space made one space.
    public static func matchKey(_ text: String) -> String {
        let folded = text.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
        var scalars = String.UnicodeScalarView()
        var pendingSpace = false
        for scalar in folded.unicodeScalars {
            let properties = scalar.properties
            if properties.isAlphabetic || properties.numericType != nil {
                if pendingSpace && !scalars.isEmpty { scalars.append(" ") }
                pendingSpace = false
                scalars.append(scalar)
            } else if properties.isWhitespace || properties.isDash || "/,.'".unicodeScalars.contains(scalar) {
                pendingSpace = true
            }
        }
        return String(scalars)
    }
}
