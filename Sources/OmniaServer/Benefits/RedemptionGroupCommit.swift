import Foundation
import HTTPTypes
import Hummingbird
import Logging
import SQLKit
import Synchronization

/// Redemptions POSTed at the same moment, written together: one database transaction that locks
/// the accounts of their cards once, checks each amount in turn against what is left on its card
/// (`LedgerStore.postEach`) and writes every accepted one with a few multi-row statements. A
/// company gift card spent by many tills and web checkouts at once would otherwise queue them one
/// commit at a time behind the row lock of its account — a few hundred a second on PostgreSQL —
/// and checkouts on different cards would each pay a dozen statements and a commit.
///
/// Redemptions are grouped per tenant by a `GroupCommitQueue` (no timer: a redemption arriving
/// while fewer than two of the tenant's writes run goes the ordinary way at once). Only redemptions of
/// a single card are grouped; a checkout over several cards goes alone.
///
/// Each gets exactly what it would get alone: its own checks and refusals (a refused one writes
/// nothing and the others go on; a card that runs out part-way refuses only those past the end),
/// its own `redemption.created` event under its request id, and its `Idempotency-Key` response
/// remembered in the same commit (on PostgreSQL written completed by the group). A redemption
/// whose key is stored already — a retry — goes the ordinary way, to its replay; a key stored while
/// the group ran fails the group's insert of keys, and every redemption of a group whose
/// transaction fails as a whole goes the ordinary way.
final class RedemptionGroupCommit: Sendable {
    struct Redemption: Sendable {
        let caller: Caller
        let request: CreateHoldRequest
        /// The card, by id (given, or resolved from its code before).
        let cardID: String
        let actor: Actor
        let claim: IdempotencyClaim?
        let unclaimedKey: IdempotentRequest?
        let services: AppServices
    }

    /// Two writes of a tenant at a time: while one group commits, the next locks its accounts and
    /// checks its amounts (PostgreSQL pipelines the two; SQLite's writer runs them back to back).
    /// Measured 2026-12-06 against one: 3,246 → 3,704/s on SQLite, 1,274 → 1,347/s on PostgreSQL.
    let queue = GroupCommitQueue<Redemption, GroupedWrite>(writersPerKey: 2, maximumGroup: 500) { redemptions in await RedemptionGroupCommit.write(redemptions) }
    private let counters = Mutex((groups: 0, redemptions: 0, failed: 0))

    /// Groups of two or more taken so far, the redemptions in them, the groups whose transaction
    /// failed (their redemptions went one by one), and the redemptions waiting for a group now.
    var statistics: (groups: Int, redemptions: Int, failed: Int, waiting: Int) {
        let (groups, redemptions, failed) = counters.withLock { $0 }
        return (groups, redemptions, failed, queue.waitingCount)
    }

    func redeem(_ redemption: Redemption, ordinary: () async throws -> Response) async throws -> Response {
        try await queue.submit(redemption, key: redemption.caller.tenantID, alone: ordinary) { outcome in
            try await outcome.response(status: .created, ordinary: ordinary)
        }
    }

    private static func write(_ redemptions: [Redemption]) async -> [GroupedWrite] {
        guard let services = redemptions.first?.services else { return [] }
        let groups = services.redemptionGroups
        if redemptions.count > 1 { groups.counters.withLock { $0.groups += 1; $0.redemptions += redemptions.count } }
        return await GroupedWrite.inOneTransaction(redemptions, services: services, what: "redemptions", claim: \.claim,
                                                   failed: { groups.counters.withLock { $0.failed += 1 } }) { sql in
            try await Self.record(redemptions, on: sql, services: services)
        }
    }

    private static func record(_ redemptions: [Redemption], on sql: any SQLDatabase, services: AppServices) async throws -> [GroupedWrite] {
        let first = redemptions[0]
        // A retry whose key is stored goes alone, to its replay (PostgreSQL; SQLite's claims replay before the group).
        let stored = try await IdempotencyStore.storedKeys(on: sql, redemptions.compactMap(\.unclaimedKey))
        let retried = redemptions.map { redemption in redemption.unclaimedKey.map { stored.contains("\($0.apiKeyID)\u{1F}\($0.key)") } ?? false }
        let fresh = zip(redemptions, retried).filter { !$0.1 }.map(\.0)
        var written = try await CheckoutHoldService(services: services).redeemEach(
            on: sql, tenantID: first.caller.tenantID,
            fresh.map { .init(caller: $0.caller, request: $0.request, cardID: $0.cardID, actor: $0.actor) })[...]
        var keys: [(request: IdempotentRequest, status: Int, body: Data)] = []
        var outcomes: [GroupedWrite] = []
        let status = Int(HTTPResponse.Status.created.code)
        for (redemption, isRetry) in zip(redemptions, retried) {
            guard !isRetry else {
                outcomes.append(.alone)
                continue
            }
            switch written.removeFirst() {
            case .success(let data):
                try await redemption.claim?.complete(on: sql, status: status, body: data)
                if let key = redemption.unclaimedKey { keys.append((key, status, data)) }
                outcomes.append(.written(data))
            case .failure(let error):
                outcomes.append(.refused(error))
            }
        }
        try await IdempotencyStore.insertCompleted(on: sql, keys)
        return outcomes
    }
}
