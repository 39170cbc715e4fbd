import Foundation
import HTTPTypes
import OmniaCore

/// The formats `omnia import` and the bulk endpoints read.
public enum ImportFormat: String, Sendable, CaseIterable {
    /// One JSON object per line (blank lines are skipped).
    case ndjson
    /// A header row naming the columns, then one record per row.
    case csv

    /// The format a file name implies: `.csv` is CSV, anything else NDJSON.
    public static func of(path: String) -> ImportFormat { path.lowercased().hasSuffix(".csv") ? .csv : .ndjson }
}

/// One record of an import: the line it starts on (1-based, counting the CSV header) and its JSON
/// object — CSV rows are turned into the same JSON the API takes, so both formats are checked alike.
public struct ImportRecord: Sendable {
    public let line: Int
    public let json: [UInt8]
    /// Why the record could not even be read (a CSV row with the wrong number of cells, an unclosed quote).
    let problem: Problem?

    init(line: Int, json: [UInt8], problem: Problem? = nil) {
        self.line = line
        self.json = json
        self.problem = problem
    }
}

/// Reads records one at a time from a file or a request body, so memory stays flat whatever the
/// file's size. CSV rows become JSON objects through `mapRow` (column name → value, empty cells absent).
final class ImportRecordReader: @unchecked Sendable {
    typealias RowMapper = @Sendable (_ row: [String: String]) -> [String: JSONValue]

    private let format: ImportFormat
    private let mapRow: RowMapper
    private var lines: LineSource
    private var lineNumber = 0
    private var header: [String]?
    private var csv = CSVParser()

    init(format: ImportFormat, lines: LineSource, mapRow: @escaping RowMapper) {
        self.format = format
        self.lines = lines
        self.mapRow = mapRow
    }

    /// The next record, or nil at the end of the input.
    func next() throws -> ImportRecord? {
        while let line = try lines.next() {
            lineNumber += 1
            let start = lineNumber
            switch format {
            case .ndjson:
                if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }) { continue }
                return ImportRecord(line: start, json: line)
            case .csv:
                // Spreadsheets often save "CSV UTF-8" with a byte-order mark before the header.
                let bytes = start == 1 && line.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(line.dropFirst(3)) : line
                guard var text = String(validating: bytes, as: UTF8.self) else {
                    return ImportRecord(line: start, json: [], problem: Problem(.badRequest, code: "invalid_utf8", detail: "the line is not valid UTF-8"))
                }
                var fields = csv.feed(text[...])
                while fields == nil, let continuation = try lines.next() {
                    lineNumber += 1
                    text = String(decoding: continuation, as: UTF8.self)
                    fields = csv.feed(text[...])
                }
                guard let fields else {
                    return ImportRecord(line: start, json: [], problem: Problem(.badRequest, code: "malformed_csv",
                                                                               detail: "a quoted cell opened on this line is never closed"))
                }
                guard let header else {
                    self.header = fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                    continue
                }
                if fields.count == 1 && fields[0].isEmpty { continue }
                guard fields.count == header.count else {
                    return ImportRecord(line: start, json: [], problem: Problem(.badRequest, code: "malformed_csv",
                                                                               detail: "the row has \(fields.count) cells for \(header.count) columns"))
                }
                var row: [String: String] = [:]
                for (name, value) in zip(header, fields) where !value.isEmpty { row[name] = value }
                return ImportRecord(line: start, json: Array(try JSONCoding.text(JSONValue.object(mapRow(row))).utf8))
            }
        }
        return nil
    }
}

/// Lines of text from a file read in blocks, or from bytes in memory.
struct LineSource {
    private var handle: FileHandle?
    private var buffer: [UInt8] = []
    private var position = 0
    private var exhausted = false

    static func file(_ path: String) throws -> LineSource {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw Problem(.notFound, code: "file_not_found", detail: "cannot read \(path)")
        }
        return LineSource(handle: handle)
    }

    static func bytes(_ bytes: [UInt8]) -> LineSource {
        LineSource(handle: nil, buffer: bytes, exhausted: true)
    }

    /// The next line's bytes without its line break, or nil at the end.
    mutating func next() throws -> [UInt8]? {
        while true {
            if let newline = buffer[position...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffer[position..<newline])
                position = newline + 1
                return line
            }
            if exhausted {
                guard position < buffer.count else { return nil }
                let line = Array(buffer[position...])
                position = buffer.count
                return line
            }
            let chunk = try handle?.read(upToCount: 1 << 20) ?? Data()
            buffer = Array(buffer[position...]) + chunk
            position = 0
            if chunk.isEmpty {
                exhausted = true
                try handle?.close()
            }
        }
    }
}
