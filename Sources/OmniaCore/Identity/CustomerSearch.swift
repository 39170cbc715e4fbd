import Foundation

/// The keys customer search compares by prefix. Names are folded (lower case, no accents) so that
/// `garcia` finds `García`; identifiers are already normalized and are searched as typed, plus the
/// forms a phone number or card number takes once normalized.
public enum CustomerSearch {
    /// A name as stored for search and as searched.
    public static func fold(_ text: String) -> String {
        text.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
            .split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    /// The smallest text greater than every text that starts with `prefix`, for a range scan on a
    /// binary-ordered index (`key >= prefix AND key < upperBound(prefix)`).
    public static func upperBound(_ prefix: String) -> String {
        prefix + "\u{10FFFF}"
    }

    /// The identifier prefixes a query may mean: the folded text itself (emails, accounts), and for
    /// a query that reads as a number, its digits (cards) and its E.164 start (phones, read with the
    /// tenant's default country when it has no `+`).
    public static func identifierPrefixes(_ query: String, defaultCountry: String?) -> [String] {
        let folded = fold(query)
        var prefixes = [folded]
        let numberish = query.allSatisfy { $0.isASCII && ($0.isNumber || " +-.()/".contains($0)) }
        let digits = query.filter { $0.isASCII && $0.isNumber }
        if numberish, !digits.isEmpty {
            prefixes.append(digits)
            let trimmed = query.trimmingWhitespace()
            if trimmed.hasPrefix("+") {
                prefixes.append("+" + digits)
            } else if digits.hasPrefix("00") {
                prefixes.append("+" + digits.dropFirst(2))
            } else if let country = defaultCountry, let plan = PhoneNumbers.plans[country] {
                var national = Substring(digits)
                if let trunk = plan.trunkPrefix, national.hasPrefix(trunk) { national = national.dropFirst(trunk.count) }
                prefixes.append("+" + plan.callingCode + national)
            }
        }
        var seen = Set<String>()
        return prefixes.filter { !$0.isEmpty && seen.insert($0).inserted }
    }
}
