/// The types of the rule language. Any value may also be `null` at run time (an attribute a
/// customer does not have, an anonymous sale's customer): a comparison with null is false, except
/// `== null` and `!= null`, so rules need no special case for what is missing.
public indirect enum RuleType: Sendable, Hashable, CustomStringConvertible {
    case bool
    case number
    case string
    /// An amount in a currency's minor units; arithmetic and comparison need the same currency.
    case money
    /// A calendar day (in the store's time zone where it comes from the context).
    case date
    /// A time of day, to the minute.
    case time
    case list(RuleType)
    case record(RuleRecordType)
    /// The type of `null` and of the empty list's elements: fits any other.
    case unknown

    public var description: String {
        switch self {
        case .bool: "bool"
        case .number: "number"
        case .string: "string"
        case .money: "money"
        case .date: "date"
        case .time: "time"
        case .list(let element): "list of \(element)"
        case .record(let record): record.name
        case .unknown: "null"
        }
    }

    /// Whether a value of this type can stand where `other` is expected (`unknown` fits both ways).
    func fits(_ other: RuleType) -> Bool {
        switch (self, other) {
        case (.unknown, _), (_, .unknown): true
        case (.list(let a), .list(let b)): a.fits(b)
        default: self == other
        }
    }

    /// The more precise of two types that fit each other (a list literal's element type).
    func unified(with other: RuleType) -> RuleType {
        switch (self, other) {
        case (.unknown, _): other
        case (.list(let a), .list(let b)): .list(a.unified(with: b))
        default: self
        }
    }

    var isOrdered: Bool {
        switch self {
        case .number, .string, .money, .date, .time: true
        default: false
        }
    }
}

/// A record's named fields, in the order its values hold them (`RuleValue.record`): a field is
/// resolved to its position once, when a rule is checked, never by name while it runs.
public struct RuleRecordType: Sendable, Hashable {
    public struct Field: Sendable, Hashable {
        public let name: String
        public let type: RuleType
        public let summary: String

        public init(_ name: String, _ type: RuleType, _ summary: String = "") {
            self.name = name
            self.type = type
            self.summary = summary
        }
    }

    public let name: String
    public let fields: [Field]

    public init(_ name: String, _ fields: [Field]) {
        self.name = name
        self.fields = fields
    }

    public func index(of name: String) -> Int? { fields.firstIndex { $0.name == name } }
}

/// A value of the rule language, shaped by a `RuleType`.
public enum RuleValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(RuleDecimal)
    case string(String)
    case money(minorUnits: Int64, currency: Currency)
    /// Days since 1970-01-01.
    case date(Int32)
    /// Minutes since midnight.
    case time(Int16)
    case list([RuleValue])
    /// Field values in the order of the record type's fields.
    case record([RuleValue])
}

extension RuleRecordType {
    /// A value of this record from its fields by name; a field not given is null. Naming a field the
    /// record does not have is a programming error.
    public func value(_ values: [String: RuleValue]) -> RuleValue {
        precondition(values.keys.allSatisfy { index(of: $0) != nil }, "\(name) has no field \(values.keys.filter { index(of: $0) == nil })")
        return .record(fields.map { values[$0.name] ?? .null })
    }
}
