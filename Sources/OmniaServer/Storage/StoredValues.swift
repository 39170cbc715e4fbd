import Foundation
import OmniaCore

// Values read in their storage form and written in their API form, so one model type serves as
// both the decoded row and the response body.

/// A value stored as an integer column, built without a generic decoder on the SQLite fast path.
protocol StoredFromInteger {
    init(storedInteger: Int64)
}

/// A value stored as a text column, built without a generic decoder on the SQLite fast path.
protocol StoredFromText {
    init(storedText: String)
}

/// A time stored as epoch milliseconds (BIGINT) and shown as RFC 3339 text with milliseconds.
struct StoredTime: Codable, Sendable, Hashable, StoredFromInteger {
    let milliseconds: Int64

    init(milliseconds: Int64) {
        self.milliseconds = milliseconds
    }

    init(storedInteger: Int64) {
        self.milliseconds = storedInteger
    }

    /// From a column's integer, or from the text it is shown as (a stored JSON document holding one).
    init(from decoder: any Decoder) throws {
        // The integer first: PostgreSQL's decoder would read a BIGINT as its digits when asked for text.
        let container = try decoder.singleValueContainer()
        if let milliseconds = try? container.decode(Int64.self) {
            self.milliseconds = milliseconds
        } else {
            let text = try container.decode(String.self)
            guard let milliseconds = RFC3339.milliseconds(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an RFC 3339 time: \(text)")
            }
            self.milliseconds = milliseconds
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Timestamp.text(milliseconds))
    }
}

/// A JSON document stored as text and shown as JSON.
struct StoredJSON: Codable, Sendable, StoredFromText {
    let value: JSONValue

    init(_ value: JSONValue) {
        self.value = value
    }

    init(storedText: String) {
        value = (try? JSONCoding.decoder.decode(JSONValue.self, from: Data(storedText.utf8))) ?? .null
    }

    init(from decoder: any Decoder) throws {
        self.init(storedText: try decoder.singleValueContainer().decode(String.self))
    }

    func encode(to encoder: any Encoder) throws {
        try value.encode(to: encoder)
    }
}

/// A list of words stored as one space-separated text column and shown as an array.
struct StoredWords: Codable, Sendable, StoredFromText {
    let words: [String]

    init(_ words: [String]) {
        self.words = words
    }

    init(storedText: String) {
        words = storedText.split(separator: " ").map(String.init)
    }

    init(from decoder: any Decoder) throws {
        self.init(storedText: try decoder.singleValueContainer().decode(String.self))
    }

    func encode(to encoder: any Encoder) throws {
        try words.encode(to: encoder)
    }

    var stored: String { words.joined(separator: " ") }
}

/// A model plus a secret shown once, at creation (an API key's `key`, a webhook endpoint's `secret`).
struct Revealed<Model: Encodable & Sendable>: Encodable, Sendable {
    let model: Model
    let name: String
    let secret: String

    func encode(to encoder: any Encoder) throws {
        try model.encode(to: encoder)
        var container = encoder.container(keyedBy: VerbatimCodingKey.self)
        try container.encode(secret, forKey: VerbatimCodingKey(stringValue: name))
    }
}

extension Revealed where Model == APIKey {
    /// What the command line prints.
    var created: CreatedAPIKey { CreatedAPIKey(id: model.id, key: secret, scopes: model.scopes.words) }
}
