import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import PostgresNIO
import SQLKit
import Synchronization

/// A POST's claim on its `Idempotency-Key`. The handler completes it inside the transaction of its
/// effect, so the stored response and the effect commit together or not at all.
final class IdempotencyClaim: Sendable {
    let tenantID: String
    let apiKeyID: String
    let key: String
    /// Set when the claim is held in this process's memory (SQLite) rather than by a row: the
    /// completion then writes the whole row, and the hash and time it needs.
    let inMemory: (requestHash: String, claimedAt: Int64)?
    private let completedFlag = Atomic<Bool>(false)

    init(tenantID: String, apiKeyID: String, key: String, inMemory: (requestHash: String, claimedAt: Int64)? = nil) {
        self.tenantID = tenantID
        self.apiKeyID = apiKeyID
        self.key = key
        self.inMemory = inMemory
    }

    /// The claim's identity in `InFlightIdempotencyKeys`.
    var inFlightKey: String { InFlightIdempotencyKeys.key(tenantID: tenantID, apiKeyID: apiKeyID, key: key) }

    /// True once the effect and its remembered response have committed.
    var isCompleted: Bool { completedFlag.load(ordering: .acquiring) }

    /// Records the response in the caller's transaction (on PostgreSQL it goes out with the
    /// transaction's other held writes, at commit).
    func complete(on sql: any SQLDatabase, status: Int, body: Data) async throws {
        let text = String(decoding: body, as: UTF8.self)
        if let inMemory {
            // One write instead of a claim row and its update (a row left in progress by a crashed
            // process, taken over, is overwritten). The memory claim only covers this process: if
            // another process on the same file completed the key meanwhile, nothing is written and
            // this request's effect rolls back with the error.
            let written = try await sql.raw("""
                INSERT INTO idempotency_keys (tenant_id, api_key_id, idempotency_key, request_hash, state, response_status, response_body, created_at, locked_at)
                VALUES (\(bind: tenantID), \(bind: apiKeyID), \(bind: key), \(bind: inMemory.requestHash), 'completed', \(bind: status), \(bind: text),
                        \(bind: inMemory.claimedAt), \(bind: inMemory.claimedAt))
                ON CONFLICT (tenant_id, api_key_id, idempotency_key) DO UPDATE
                SET state = 'completed', response_status = excluded.response_status, response_body = excluded.response_body
                WHERE idempotency_keys.state <> 'completed' AND idempotency_keys.request_hash = excluded.request_hash
                RETURNING idempotency_key
                """).first()
            guard written != nil else { throw IdempotencyStore.completedElsewhere }
            return
        }
        try await sql.runDeferrable("""
            UPDATE idempotency_keys SET state = 'completed', response_status = \(bind: status), response_body = \(bind: text)
            WHERE tenant_id = \(bind: tenantID) AND api_key_id = \(bind: apiKeyID) AND idempotency_key = \(bind: key)
            """)
    }

    /// Called after the transaction that completed the claim has committed. Until then the claim
    /// counts as unfinished, so a commit that fails (a duplicate found only at commit) releases the key.
    func committed() {
        completedFlag.store(true, ordering: .releasing)
    }
}

/// Stores `Idempotency-Key`s: claim before the effect, complete with it, replay after it.
/// Keys belong to one API key: a stored response may hold a secret shown once (a new API key,
/// a webhook secret), so no other key of the tenant may replay it.
///
/// On PostgreSQL the claim is a row, since any of several servers may receive the retry. On
/// SQLite one process owns the database, so the claim is held in that process's memory and the
/// key is written once, completed, in the effect's own transaction: a POST costs the single writer
/// one trip instead of two (the check for a stored response runs on a reader).
struct IdempotencyStore: Sendable {
    let database: any Database
    /// Claims held in memory; nil where claims are rows (PostgreSQL).
    let inFlight: InFlightIdempotencyKeys?

    init(database: any Database, inFlight: InFlightIdempotencyKeys?) {
        self.database = database
        self.inFlight = inFlight
    }
    /// The key was completed by another process sharing the SQLite file while this one ran the request.
    static let completedElsewhere = Problem(.conflict, code: "idempotency_key_in_use",
                                            detail: "another request with this Idempotency-Key completed first; retry to receive its response",
                                            headers: [.retryAfter: "1"])

    /// A claim older than this with no completion is taken to belong to a crashed request.
    static let abandonAfterMilliseconds: Int64 = 60_000

    enum ClaimOutcome: Sendable {
        case claimed(IdempotencyClaim)
        case replay(status: Int, body: String)
        case reusedWithDifferentRequest
        case inFlight
    }

    /// Each statement here is atomic on its own, so no transaction surrounds them: the usual first
    /// claim is one `INSERT … ON CONFLICT DO NOTHING`, a single round trip on PostgreSQL, of a
    /// statement each connection prepares once.
    func claim(tenantID: String, apiKeyID: String, key: String, requestHash: String, now: Int64) async throws -> ClaimOutcome {
        if let inFlight {
            return try await claimInMemory(inFlight, tenantID: tenantID, apiKeyID: apiKeyID, key: key, requestHash: requestHash, now: now)
        }
        let claim = IdempotencyClaim(tenantID: tenantID, apiKeyID: apiKeyID, key: key)
        // Claims are rows only where several processes share the database: PostgreSQL.
        guard let postgres = database as? PostgresStore else { preconditionFailure("row claims need PostgreSQL; SQLite claims in memory") }
        let insert = ClaimInsert(tenantID: tenantID, apiKeyID: apiKeyID, key: key, requestHash: requestHash, now: now)
        if try await !postgres.execute(insert).isEmpty { return .claimed(claim) }
        return try await database.autocommit { sql in
            guard let row = try await sql.raw("""
                SELECT request_hash, state, response_status, response_body, locked_at FROM idempotency_keys
                WHERE tenant_id = \(bind: tenantID) AND api_key_id = \(bind: apiKeyID) AND idempotency_key = \(bind: key)
                """).first(decoding: Row.self)
            else {
                // Released by a failing first request since the INSERT; a retry will claim it.
                return .inFlight
            }
            guard row.request_hash == requestHash else { return .reusedWithDifferentRequest }
            if row.state == "completed", let status = row.response_status {
                return .replay(status: status, body: row.response_body ?? "")
            }
            guard now - row.locked_at > Self.abandonAfterMilliseconds else { return .inFlight }
            // Compare-and-set: of several retries taking over one abandoned claim, exactly one wins.
            let takenOver = try await sql.raw("""
                UPDATE idempotency_keys SET locked_at = \(bind: now)
                WHERE tenant_id = \(bind: tenantID) AND api_key_id = \(bind: apiKeyID) AND idempotency_key = \(bind: key)
                  AND state = 'in_progress' AND locked_at = \(bind: row.locked_at)
                RETURNING idempotency_key
                """).first()
            return takenOver != nil ? .claimed(claim) : .inFlight
        }
    }

    /// Claims the key in memory (nobody else in this process holds it), then reads what is stored.
    private func claimInMemory(_ inFlight: InFlightIdempotencyKeys, tenantID: String, apiKeyID: String, key: String, requestHash: String,
                               now: Int64) async throws -> ClaimOutcome {
        let claim = IdempotencyClaim(tenantID: tenantID, apiKeyID: apiKeyID, key: key, inMemory: (requestHash, now))
        guard inFlight.insert(claim.inFlightKey) else {
            // Another request holds the key, perhaps only to read its stored answer: a completed
            // answer is final, so this one answers from it too instead of a spurious 409.
            if let row = try await storedRow(tenantID: tenantID, apiKeyID: apiKeyID, key: key), row.state == "completed",
                let status = row.response_status {
                return row.request_hash != requestHash ? .reusedWithDifferentRequest : .replay(status: status, body: row.response_body ?? "")
            }
            return .inFlight
        }
        do {
            guard let row = try await storedRow(tenantID: tenantID, apiKeyID: apiKeyID, key: key) else { return .claimed(claim) }
            let outcome: ClaimOutcome
            if row.request_hash != requestHash {
                outcome = .reusedWithDifferentRequest
            } else if row.state == "completed", let status = row.response_status {
                outcome = .replay(status: status, body: row.response_body ?? "")
            } else if now - row.locked_at <= Self.abandonAfterMilliseconds {
                // A row claim (written by an earlier version of the server) still fresh.
                outcome = .inFlight
            } else {
                return .claimed(claim)
            }
            inFlight.remove(claim.inFlightKey)
            return outcome
        } catch {
            inFlight.remove(claim.inFlightKey)
            throw error
        }
    }

    private func storedRow(tenantID: String, apiKeyID: String, key: String) async throws -> Row? {
        try await database.read { sql in
            try await sql.raw("""
                SELECT request_hash, state, response_status, response_body, locked_at FROM idempotency_keys
                WHERE tenant_id = \(bind: tenantID) AND api_key_id = \(bind: apiKeyID) AND idempotency_key = \(bind: key)
                """).first(decoding: Row.self)
        }
    }

    /// Ends a claim whatever became of its request: an in-memory claim is dropped (its completion,
    /// if any, has committed), a row claim with no completion is deleted so a corrected retry may use the key.
    func finish(_ claim: IdempotencyClaim) async throws {
        if claim.inMemory != nil {
            inFlight?.remove(claim.inFlightKey)
            return
        }
        if !claim.isCompleted { try await release(claim) }
    }

    /// Gives the key back when the request produced no effect to remember.
    func release(_ claim: IdempotencyClaim) async throws {
        try await database.autocommit { sql in
            try await sql.raw("""
                DELETE FROM idempotency_keys
                WHERE tenant_id = \(bind: claim.tenantID) AND api_key_id = \(bind: claim.apiKeyID)
                  AND idempotency_key = \(bind: claim.key) AND state = 'in_progress'
                """).run()
        }
    }

    /// Deletes keys older than `cutoff` (epoch ms); returns how many.
    @discardableResult
    func purge(olderThan cutoff: Int64) async throws -> Int {
        try await database.autocommit { sql in
            try await sql.raw("DELETE FROM idempotency_keys WHERE created_at < \(bind: cutoff) RETURNING idempotency_key").all().count
        }
    }

    private struct Row: Decodable {
        let request_hash: String
        let state: String
        let response_status: Int?
        let response_body: String?
        let locked_at: Int64
    }
}

/// Makes every POST under `/v1` idempotent when the client sends `Idempotency-Key`: the first request
/// runs, a retry with the same body gets the stored response, the same key with another body is a
/// 409 `idempotency_key_reused`, and a retry while the first is still running a 409 `idempotency_key_in_use`.
///
/// The key is claimed before the handler runs, except on the routes in `handlerClaimedPaths` where
/// claims are rows (PostgreSQL): there the handler gets the key unclaimed and either claims it
/// itself (`OmniaRequestContext.claimingIdempotencyKey`) or writes it completed with its effect — a
/// sale written in a group (`SaleGroupCommit`) saves its own claim statement that way.
struct IdempotencyMiddleware: RouterMiddleware {
    typealias Context = OmniaRequestContext
    let store: IdempotencyStore
    let config: AppConfig
    let now: @Sendable () -> Date
    /// Paths (without query) whose handler claims the key itself; used only where claims are rows.
    var handlerClaimedPaths: Set<String> = []

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post, let key = request.headers[.idempotencyKey] else {
            return try await next(request, context)
        }
        guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ (0x21...0x7e).contains($0) }) else {
            throw Problem(.badRequest, code: "invalid_idempotency_key", detail: "Idempotency-Key must be 1–255 printable ASCII characters")
        }
        let caller = try context.requireCaller()
        var request = request
        let body = try await request.collectBody(upTo: config.bodyLimit(path: request.uri.path))
        var hasher = SHA256()
        hasher.update(data: Data(request.method.rawValue.utf8))
        // The query is part of the request: `?atomic=true` must not replay an answer to `?atomic=false`.
        hasher.update(data: Data(" \(request.uri.path)?\(request.uri.query ?? "")\n".utf8))
        hasher.update(data: Data(body.readableBytesView))
        let idempotent = IdempotentRequest(store: store, tenantID: caller.tenantID, apiKeyID: caller.keyID, key: key,
                                           requestHash: hasher.finalize().hexString, now: Timestamp.milliseconds(now()))
        var context = context
        if store.inFlight == nil && handlerClaimedPaths.contains(request.uri.path) {
            context.unclaimedIdempotencyKey = idempotent
            return try await next(request, context)
        }
        return try await idempotent.run { claim in
            context.idempotencyClaim = claim
            return try await next(request, context)
        }
    }
}

/// A POST's `Idempotency-Key` and the hash of its request, before the key is claimed.
struct IdempotentRequest: Sendable {
    let store: IdempotencyStore
    let tenantID: String
    let apiKeyID: String
    let key: String
    let requestHash: String
    let now: Int64

    /// Claims the key and runs `body` with the claim. A replay, a key reused with another request and
    /// a key still in flight are answered here, without running `body`.
    func run(_ body: (IdempotencyClaim) async throws -> Response) async throws -> Response {
        switch try await store.claim(tenantID: tenantID, apiKeyID: apiKeyID, key: key, requestHash: requestHash, now: now) {
        case .replay(let status, let body):
            let isProblem = status >= 400
            return Response(
                status: .init(code: status),
                headers: [.contentType: isProblem ? Problem.contentType : "application/json", .idempotentReplayed: "true"],
                body: .init(byteBuffer: ByteBuffer(string: body))
            )
        case .reusedWithDifferentRequest:
            throw Problem(.conflict, code: "idempotency_key_reused",
                          detail: "this Idempotency-Key was used with a different request; use a new key for a new request")
        case .inFlight:
            throw Problem(.conflict, code: "idempotency_key_in_use",
                          detail: "a request with this Idempotency-Key is still being processed; retry shortly",
                          headers: [.retryAfter: "1"])
        case .claimed(let claim):
            // Only a completed effect is remembered. A request that failed changed nothing (its
            // transaction rolled back), so the key is released and a corrected retry may use it.
            do {
                let response = try await body(claim)
                try await store.finish(claim)
                return response
            } catch {
                try? await store.finish(claim)
                throw error
            }
        }
    }
}

extension IdempotencyStore {
    /// Which of `requests`' keys are stored already (completed or claimed), as `api key id` + U+001F + key.
    /// A group asks before it decides anything, so that a retry in it is answered on its own (its
    /// replay), never refused by the state the first attempt left (a card the first attempt emptied).
    static func storedKeys(on sql: any SQLDatabase, _ requests: [IdempotentRequest]) async throws -> Set<String> {
        guard let tenantID = requests.first?.tenantID else { return [] }
        // One probe of the primary key per request, whatever the planner believes of the tenant:
        // `(api_key_id, idempotency_key) IN (…)` and a join on a VALUES list were both planned as a scan
        // of the tenant's keys when its statistics were young — milliseconds once it holds tens of thousands.
        var probes: SQLQueryString = ""
        for (index, request) in requests.enumerated() {
            probes += """
                \(unsafeRaw: index == 0 ? "" : " UNION ALL ")SELECT api_key_id, idempotency_key FROM idempotency_keys
                WHERE tenant_id = \(bind: tenantID) AND api_key_id = \(bind: request.apiKeyID) AND idempotency_key = \(bind: request.key)
                """
        }
        let rows = try await sql.raw(probes).all()
        return Set(try rows.map { "\(try $0.decode(column: "api_key_id", as: String.self))\u{1F}\(try $0.decode(column: "idempotency_key", as: String.self))" })
    }

    /// A key the group wanted to write completed was already there: a retry, the key reused, or a request holding it.
    static let keyTakenInGroup = Problem(.conflict, code: "idempotency_key_in_use", detail: "an Idempotency-Key of the group is already stored")

    /// Writes keys claimed and completed at once, with the effects of their requests in the caller's
    /// transaction (PostgreSQL): a group of sales writes its keys in its own statement instead of
    /// one claim per request before it. A key already stored, or being written by a transaction
    /// that then commits, fails the write with `keyTakenInGroup`, and the caller's transaction with
    /// it; each request then claims its key the ordinary way and gets its replay or its 409.
    static func insertCompleted(on sql: any SQLDatabase, _ keys: [(request: IdempotentRequest, status: Int, body: Data)]) async throws {
        // In key order, so two transactions writing the same keys wait on each other in one order, never in a cycle.
        let sorted = keys.sorted { ($0.request.tenantID, $0.request.apiKeyID, $0.request.key) < ($1.request.tenantID, $1.request.apiKeyID, $1.request.key) }
        try await sql.insertRows(
            into: "idempotency_keys",
            columns: ["tenant_id", "api_key_id", "idempotency_key", "request_hash", "state", "response_status", "response_body", "created_at", "locked_at"],
            sorted, ifDuplicate: DuplicateRule(table: "idempotency_keys", error: keyTakenInGroup)
        ) { entry, values in
            values.add(entry.request.tenantID)
            values.add(entry.request.apiKeyID)
            values.add(entry.request.key)
            values.add(entry.request.requestHash)
            values.add("completed")
            values.add(entry.status)
            values.add(String(decoding: entry.body, as: UTF8.self))
            values.add(entry.request.now)
            values.add(entry.request.now)
        }
    }
}

extension OmniaRequestContext {
    /// Runs `body` with the request's `Idempotency-Key` claimed: on a route whose handler claims the
    /// key itself (`IdempotencyMiddleware.handlerClaimedPaths`), the key is claimed now.
    func claimingIdempotencyKey(_ body: (OmniaRequestContext) async throws -> Response) async throws -> Response {
        guard let unclaimed = unclaimedIdempotencyKey else { return try await body(self) }
        var context = self
        context.unclaimedIdempotencyKey = nil
        return try await unclaimed.run { claim in
            context.idempotencyClaim = claim
            return try await body(context)
        }
    }
}

/// The idempotency keys of the requests this process is running (SQLite): a second request with a
/// key already here is `idempotency_key_in_use`. A crash forgets them with the process, so no claim
/// is ever left abandoned.
final class InFlightIdempotencyKeys: Sendable {
    private let keys = Mutex<Set<String>>([])

    init() {}

    static func key(tenantID: String, apiKeyID: String, key: String) -> String {
        // Unit separators: none of the three parts can contain one.
        "\(tenantID)\u{1F}\(apiKeyID)\u{1F}\(key)"
    }

    /// False when the key is already held.
    func insert(_ key: String) -> Bool { keys.withLock { $0.insert(key).inserted } }

    func remove(_ key: String) { _ = keys.withLock { $0.remove(key) } }
}

/// A row claim's `INSERT` (PostgreSQL): the one statement every idempotent POST sends before its
/// effect, so it is prepared once per connection instead of parsed and planned on every call.
///
/// Committed without waiting for the WAL flush (`synchronous_commit` off for this statement's
/// own transaction only): a POST's effect commits later and synchronously, and its flush carries
/// the claim's earlier WAL records along — so an effect is never durable without its claim, and a
/// claim lost in a crash had no effect yet. One flush per POST instead of two.
struct ClaimInsert: PostgresPreparedStatement {
    static let name = "omnia_claim_idempotency_key"
    static let sql = """
        WITH asynchronous AS (SELECT set_config('synchronous_commit', 'off', true)),
        claimed AS (
            INSERT INTO idempotency_keys (tenant_id, api_key_id, idempotency_key, request_hash, state, created_at, locked_at)
            VALUES ($1, $2, $3, $4, 'in_progress', $5, $5)
            ON CONFLICT (tenant_id, api_key_id, idempotency_key) DO NOTHING
            RETURNING idempotency_key)
        SELECT claimed.idempotency_key FROM asynchronous, claimed
        """

    typealias Row = String

    let tenantID: String
    let apiKeyID: String
    let key: String
    let requestHash: String
    let now: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 5)
        bindings.append(tenantID)
        bindings.append(apiKeyID)
        bindings.append(key)
        bindings.append(requestHash)
        bindings.append(now)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> String { try row.decode(String.self) }
}
