/// The events not yet dispatched to webhooks, in a table of their own: a row of a few ids inserted
/// with its event and deleted once dispatched. Before, a flag on the event marked it dispatched,
/// and setting it made PostgreSQL write every event a second time, whole payload and index entries
/// included (a tenth of PostgreSQL's time under a till fleet's sales).
enum Migration006EventOutbox {
    static let migration = Migration(version: 6, name: "event_outbox") { _ in
        [
            """
            CREATE TABLE event_outbox (
                tenant_id TEXT NOT NULL,
                event_id TEXT NOT NULL,
                type TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, event_id))
            """,
            "CREATE INDEX event_outbox_by_age ON event_outbox (created_at)",
            "INSERT INTO event_outbox (tenant_id, event_id, type, created_at) SELECT tenant_id, id, type, created_at FROM events WHERE dispatched = 0",
            "DROP INDEX events_undispatched",
            "ALTER TABLE events DROP COLUMN dispatched",
        ]
    }
}
