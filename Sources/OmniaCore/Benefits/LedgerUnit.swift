/// What a ledger account counts: a currency in its minor units (`EUR`: cents), or loyalty points
/// (`points`). A transfer moves value between two accounts of the same unit; the ledger never
/// converts, so each unit's accounts sum to zero on their own.
public struct LedgerUnit: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String

    /// An ISO 4217 code the platform knows, or `points`.
    public init?(rawValue: String) {
        guard rawValue == Self.points.rawValue || Currency(code: rawValue) != nil else { return nil }
        self.rawValue = rawValue
    }

    private init(unchecked rawValue: String) { self.rawValue = rawValue }

    public static let points = LedgerUnit(unchecked: "points")

    public static func currency(_ currency: Currency) -> LedgerUnit { LedgerUnit(unchecked: currency.code) }

    public var currency: Currency? { Currency(code: rawValue) }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let unit = LedgerUnit(rawValue: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "neither an ISO 4217 currency nor 'points'"))
        }
        self = unit
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
