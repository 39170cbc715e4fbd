import Hummingbird
import OmniaCore

/// Cursor pagination: `?limit=&starting_after=` in, `{data, has_more, next_cursor}` out.
/// The cursor is the last ID of a page; IDs sort by creation time, so pages are stable while rows are added.
struct PageRequest: Sendable {
    static let defaultLimit = 20
    static let maximumLimit = 100
    let limit: Int
    let startingAfter: String?
    private static let cursorCharacters = Set("abcdefghijklmnopqrstuvwxyz0123456789_".utf8)

    init(limit: Int = PageRequest.defaultLimit, startingAfter: String? = nil) {
        self.limit = limit
        self.startingAfter = startingAfter
    }

    init(_ request: Request) throws {
        var errors: [FieldError] = []
        let query = request.uri.queryParameters
        var limit = Self.defaultLimit
        if let text = query["limit"] {
            if let value = Int(String(text)), (1...Self.maximumLimit).contains(value) {
                limit = value
            } else {
                errors.append(FieldError(field: "limit", code: "invalid_limit", detail: "limit must be an integer from 1 to \(Self.maximumLimit)"))
            }
        }
        let cursor = query["starting_after"].map(String.init)
        // IDs are lower-case base-32 with a prefix; anything else (a NUL byte, say) never reaches SQL.
        if let cursor, !(1...64).contains(cursor.utf8.count) || !cursor.utf8.allSatisfy(Self.cursorCharacters.contains) {
            errors.append(FieldError(field: "starting_after", code: "invalid_cursor", detail: "starting_after must be an id from a previous page"))
        }
        guard errors.isEmpty else { throw Problem.validation(errors) }
        self.limit = limit
        self.startingAfter = cursor
    }

    /// Cuts a result fetched with `limit + 1` rows into a page.
    func page<Item: Encodable & Sendable>(_ rows: [Item], id: (Item) -> String) -> Page<Item> {
        let hasMore = rows.count > limit
        let data = Array(rows.prefix(limit))
        return Page(data: data, hasMore: hasMore, nextCursor: hasMore ? data.last.map(id) : nil)
    }
}

/// One page of a list.
struct Page<Item: Encodable & Sendable>: Encodable, Sendable {
    let data: [Item]
    let hasMore: Bool
    let nextCursor: String?

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(data, forKey: .data)
        try container.encode(hasMore, forKey: .hasMore)
        // Always present, null on the last page, so clients can test one field.
        try container.encode(nextCursor, forKey: .nextCursor)
    }

    enum CodingKeys: String, CodingKey {
        case data, hasMore, nextCursor
    }
}
