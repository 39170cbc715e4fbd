import OmniaCore
import SQLKit

/// Decodes a row into a model whose properties are the camel-cased column names. It does what
/// SQLKit's `SQLRowDecoder` with `.convertFromSnakeCase` does, but converts each property name
/// once per process instead of comparing converted names for every column of every row — the
/// difference is most of the cost of a list request.
struct RowDecoder {
    static func decode<T: Decodable>(_: T.Type, from row: any SQLRow) throws -> T {
        try T(from: RowDecoding(row: row))
    }

    /// Column name of a property (snake_case, converted once per process).
    fileprivate static func column(for key: some CodingKey) -> String {
        cachedSnakeCase(key.stringValue)
    }
}

private struct RowDecoding: Decoder {
    let row: any SQLRow
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy _: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(RowContainer<Key>(row: row))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch([Any].self, .init(codingPath: [], debugDescription: "a row decodes into a keyed model"))
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        throw DecodingError.typeMismatch(Any.self, .init(codingPath: [], debugDescription: "a row decodes into a keyed model"))
    }
}

private struct RowContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let row: any SQLRow
    var codingPath: [any CodingKey] { [] }
    var allKeys: [Key] { row.allColumns.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { row.contains(column: RowDecoder.column(for: key)) }

    func decodeNil(forKey key: Key) throws -> Bool { try row.decodeNil(column: RowDecoder.column(for: key)) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try row.decode(column: RowDecoder.column(for: key), as: T.self)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy _: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        throw DecodingError.typeMismatch([String: Any].self, .init(codingPath: [key], debugDescription: "columns are not nested"))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch([Any].self, .init(codingPath: [key], debugDescription: "columns are not nested"))
    }

    func superDecoder() throws -> any Decoder { RowDecoding(row: row) }
    func superDecoder(forKey _: Key) throws -> any Decoder { RowDecoding(row: row) }
}
