import OmniaCore
import SQLKit

/// A tenant's channels by id, with their store's code and name: reports that read sums by
/// channel (`TransactionHours`) name, group and filter them here instead of joining each row to
/// `channels` in the database.
struct TenantChannels: Sendable {
    struct Entry: Decodable, Sendable {
        let id: String
        let code: String
        let kind: String
        let location: String?
        let locationName: String?
    }

    let byID: [String: Entry]

    static func load(on sql: any SQLDatabase, tenantID: String) async throws -> TenantChannels {
        let entries = try await sql.raw("""
            SELECT c.id, c.code, c.kind, l.code AS location, l.name AS location_name
            FROM channels c LEFT JOIN locations l ON l.tenant_id = c.tenant_id AND l.id = c.location_id
            WHERE c.tenant_id = \(bind: tenantID)
            """).rows(Entry.self)
        return TenantChannels(byID: Dictionary(entries.map { ($0.id, $0) }) { first, _ in first })
    }

    /// The channel `id` when the report's channel filters (`channel`, `channel_kind`) keep it.
    func kept(_ id: String, by query: JourneyAnalyticsQuery) -> Entry? {
        guard let entry = byID[id] else { return nil }
        if let only = query.channel?.id, only != id { return nil }
        if let kind = query.channelKind, kind != entry.kind { return nil }
        return entry
    }

    func isStore(_ id: String) -> Bool { byID[id]?.kind == ChannelKind.store.rawValue }
}
