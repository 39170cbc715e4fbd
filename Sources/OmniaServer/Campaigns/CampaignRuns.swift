import Foundation
import HTTPTypes
import Logging
import OmniaCore
import SQLKit

/// Runs of audience campaigns: jobs queued by activation, `POST /v1/campaigns/{id}/runs` or the
/// campaign's schedule, and claimed by `CampaignWorker` on any server under a lease (a
/// conditional write decides, so with many servers on PostgreSQL each run has one runner).
///
/// A run reads the tenant's customers a page at a time in id order. For each page it reads their
/// facts, keeps those the audience rule holds for, holds out the control group (a stable hash of
/// the campaign and customer, so a customer is in it on every run) and those the frequency cap
/// leaves out, and then, in one transaction, takes the actions for the rest, records every member
/// and moves the run's cursor — checking the lease, so a runner that stalled and was taken over
/// writes nothing. A run resumed after a crash starts after the last committed page: no customer
/// is reached twice.
struct CampaignRuns: Sendable {
    let services: AppServices
    static let lease: Int64 = 60_000
    static let pageSize = 1_000

    // MARK: Queueing

    /// Queues a run of `campaign`, or answers the one already queued or running.
    func queue(on sql: any SQLDatabase, tenantID: String, campaign: StoredCampaign) async throws -> CampaignRun {
        if let active = try await runs(on: sql, """
            SELECT * FROM campaign_runs WHERE tenant_id = \(bind: tenantID) AND campaign_id = \(bind: campaign.id) AND status IN ('queued', 'running')
            """).first { return active }
        let now = services.nowMilliseconds
        let id = services.ids.make(.campaignRun)
        try await sql.raw("""
            INSERT INTO campaign_runs (tenant_id, id, campaign_id, version, status, considered, targeted, control, capped, coupons, points, gift_cards,
                                       created_at)
            VALUES (\(bind: tenantID), \(bind: id), \(bind: campaign.id), \(bind: campaign.version), 'queued', 0, 0, 0, 0, 0, 0, 0, \(bind: now))
            """).run()
        return CampaignRun(id: id, campaignId: campaign.id, version: campaign.version, status: "queued", considered: 0, targeted: 0, control: 0, capped: 0,
                           coupons: 0, points: 0, giftCards: 0, error: nil, createdAt: StoredTime(milliseconds: now), startedAt: nil, finishedAt: nil)
    }

    /// Queues the runs that active campaigns with `every_days` are due for. Two servers queueing
    /// the same run at once: the unique index of active runs lets one through.
    func queueScheduled() async throws {
        let now = services.nowMilliseconds
        let due = try await services.database.read { sql in
            try await sql.raw("""
                SELECT c.*, (SELECT MAX(r.created_at) FROM campaign_runs r WHERE r.tenant_id = c.tenant_id AND r.campaign_id = c.id) AS last_run
                FROM campaigns c WHERE c.status = 'active' AND c.kind = 'audience'
                """).all().map { row in
                (tenantID: try row.decode(column: "tenant_id", as: String.self), campaign: try CampaignService.stored(row),
                 lastRun: try row.decode(column: "last_run", as: Int64?.self))
            }
        }
        for (tenantID, campaign, lastRun) in due {
            guard let everyDays = campaign.terms.everyDays, let lastRun, lastRun + Int64(everyDays) * 86_400_000 <= now else { continue }
            do {
                _ = try await services.database.transaction { sql in try await queue(on: sql, tenantID: tenantID, campaign: campaign) }
            } catch where isUniqueViolation(error) {
                continue
            }
        }
    }

    // MARK: Running

    /// Claims the oldest queued run (or a running one whose lease lapsed) and runs it; nil when none is due.
    @discardableResult
    func runNext() async throws -> CampaignRun? {
        let now = services.nowMilliseconds
        let due = try await services.database.read { sql in
            try await sql.raw("""
                SELECT tenant_id, id FROM campaign_runs WHERE status = 'queued' OR (status = 'running' AND lease_until < \(bind: now))
                ORDER BY created_at LIMIT 1
                """).first().map { (tenantID: try $0.decode(column: "tenant_id", as: String.self), id: try $0.decode(column: "id", as: String.self)) }
        }
        guard let due else { return nil }
        let token = UUID().uuidString
        let claimed = try await services.database.transaction { sql in
            try await sql.raw("""
                UPDATE campaign_runs SET status = 'running', started_at = COALESCE(started_at, \(bind: now)), lease_until = \(bind: now + Self.lease),
                  lease_token = \(bind: token)
                WHERE tenant_id = \(bind: due.tenantID) AND id = \(bind: due.id) AND (status = 'queued' OR (status = 'running' AND lease_until < \(bind: now)))
                RETURNING id
                """).first() != nil
        }
        guard claimed else { return nil }
        return try await run(tenantID: due.tenantID, runID: due.id, token: token)
    }

    /// Runs a claimed run to its end. A failure is recorded on the run; a run taken over stops writing.
    func run(tenantID: String, runID: String, token: String) async throws -> CampaignRun {
        let started = Date()
        do {
            guard let run = try await services.database.read({ sql in try await self.run(on: sql, tenantID: tenantID, id: runID) }),
                let campaign = try await services.database.read({ sql in
                    try await CampaignService(services: services).campaign(on: sql, tenantID: tenantID, id: run.campaignId)
                })
            else { throw Problem.notFound("campaign run") }
            let plan = try Plan(campaign: campaign, services: services, tenantID: tenantID)
            var cursor = try await services.database.read { sql in
                try await sql.raw("SELECT cursor FROM campaign_runs WHERE tenant_id = \(bind: tenantID) AND id = \(bind: runID)")
                    .first(decodingColumn: "cursor", as: String?.self) ?? nil
            }
            var codeCursor: String?
            while let next = try await page(after: cursor, plan: plan, runID: runID, token: token, codeCursor: &codeCursor) {
                cursor = next
            }
            let finished = try await finish(tenantID: tenantID, runID: runID, token: token, error: nil)
            services.logger.info("campaign run finished", metadata: [
                "run": .string(runID), "targeted": .stringConvertible(finished.targeted), "control": .stringConvertible(finished.control),
                "seconds": .stringConvertible(Date().timeIntervalSince(started)),
            ])
            return finished
        } catch let lost as CampaignRunLost {
            services.logger.warning("campaign run taken over by another runner; this one stops", metadata: ["run": .string(runID)])
            throw lost
        } catch where error is CancellationError || Task.isCancelled {
            // Left `running`: its lease lapses and the next runner resumes after the last page.
            throw error
        } catch {
            services.logger.error("campaign run failed", metadata: ["run": .string(runID), "error": .string(String(describing: error))])
            let message = (error as? any ProblemConvertible)?.problem.detail ?? "the run failed; the server log has the cause"
            return try await finish(tenantID: tenantID, runID: runID, token: token, error: message)
        }
    }

    /// What a run needs for every page: the campaign's compiled audience and its actions.
    struct Plan: Sendable {
        let tenantID: String
        let campaign: StoredCampaign
        let audience: RuleProgram?
        let currency: Currency
        let day: Int32
        let couponCampaignID: String?
        let points: Int64
        /// The value of the gift card each reached customer is issued, if any.
        let giftCardAmount: Int64?

        init(campaign: StoredCampaign, services: AppServices, tenantID: String) throws {
            self.tenantID = tenantID
            self.campaign = campaign
            audience = try campaign.terms.audience.map { try RuleProgram($0, schema: AudienceSchema.audience) }
            guard let currency = Currency(code: campaign.terms.currency) else { throw Problem.validation([]) }
            self.currency = currency
            day = Int32(services.nowMilliseconds / 86_400_000)
            couponCampaignID = campaign.terms.actions.first { $0.type == "assign_coupon" }?.couponCampaignId
            points = campaign.terms.actions.filter { $0.type == "grant_points" }.compactMap(\.points).reduce(0, +)
            giftCardAmount = campaign.terms.actions.first { $0.type == "issue_gift_card" }?.amount
        }
    }

    /// One page of customers after `cursor`: the last id read, or nil when there were none left.
    private func page(after cursor: String?, plan: Plan, runID: String, token: String, codeCursor: inout String?) async throws -> String? {
        let tenantID = plan.tenantID
        let now = services.nowMilliseconds
        let customers = try await services.database.read { sql in
            try await sql.raw("""
                SELECT id, birth_date FROM customers WHERE tenant_id = \(bind: tenantID) AND canonical_id = id AND id > \(bind: cursor ?? "")
                ORDER BY id LIMIT \(literal: Self.pageSize)
                """).all().map { (id: try $0.decode(column: "id", as: String.self), birthDate: try $0.decode(column: "birth_date", as: String?.self)) }
        }
        guard let last = customers.last?.id else { return nil }
        let facts = try await services.database.read { sql in
            try await CustomerFacts.load(customers.map(\.id), birthdays: Dictionary(uniqueKeysWithValues: customers.map { ($0.id, $0.birthDate) }),
                                         on: sql, tenantID: tenantID)
        }
        var members: [String] = []
        for customer in customers {
            guard let fact = facts[customer.id] else { continue }
            if let audience = plan.audience {
                let value = AudienceSchema.value(of: fact.customer(in: plan.currency.code), currency: plan.currency, on: plan.day)
                guard (try? audience.isSatisfied(by: value)) == true else { continue }
            }
            members.append(customer.id)
        }
        let controlBasisPoints = plan.campaign.terms.controlPercent * 100
        let control = members.filter { AudienceSchema.isControl(campaignID: plan.campaign.id, customerID: $0, basisPoints: controlBasisPoints) }
        let controlSet = Set(control)
        var targets = members.filter { !controlSet.contains($0) }
        var capped = 0
        if let cap = plan.campaign.terms.frequencyCap, let maximum = cap.max, let days = cap.perDays, !targets.isEmpty {
            let candidates = targets
            let reached = try await services.database.read { sql in
                try await sql.raw("""
                    SELECT customer_id, COUNT(*) AS n FROM campaign_members
                    WHERE tenant_id = \(bind: tenantID) AND campaign_id = \(bind: plan.campaign.id) AND customer_id IN (\(binds: candidates))
                      AND control = 0 AND created_at >= \(bind: now - Int64(days) * 86_400_000)
                    GROUP BY customer_id
                    """).all().reduce(into: [String: Int]()) { $0[try $1.decode(column: "customer_id", as: String.self)] = try $1.decode(column: "n", as: Int.self) }
            }
            let before = targets.count
            targets = targets.filter { (reached[$0] ?? 0) < maximum }
            capped = before - targets.count
        }
        let (targetList, cappedCount, considered, codesAfter) = (targets, capped, customers.count, codeCursor)
        let outcome = try await services.database.transaction { sql -> (codes: [String: String], points: Int64, cards: [String: String]) in
            // The lease first: a runner taken over writes nothing.
            let moved = try await sql.raw("""
                UPDATE campaign_runs SET cursor = \(bind: last), lease_until = \(bind: now + Self.lease), considered = considered + \(bind: Int64(considered)),
                  targeted = targeted + \(bind: Int64(targetList.count)), control = control + \(bind: Int64(control.count)),
                  capped = capped + \(bind: Int64(cappedCount))
                WHERE tenant_id = \(bind: tenantID) AND id = \(bind: runID) AND status = 'running' AND lease_token = \(bind: token)
                RETURNING id
                """).first()
            guard moved != nil else { throw CampaignRunLost() }
            var codes: [String: String] = [:]
            if let couponCampaignID = plan.couponCampaignID, !targetList.isEmpty {
                codes = try await assignCodes(on: sql, tenantID: tenantID, couponCampaignID: couponCampaignID, to: targetList, after: codesAfter, now: now)
            }
            var granted: Int64 = 0
            if plan.points > 0, !targetList.isEmpty {
                granted = try await grantPoints(on: sql, tenantID: tenantID, currency: plan.currency.code, points: plan.points, to: targetList, sourceID: runID,
                                                reason: "campaign \(plan.campaign.terms.name)", now: now)
            }
            var cards: [String: String] = [:]
            if let amount = plan.giftCardAmount {
                for customerID in targetList {
                    cards[customerID] = try await issueGiftCard(on: sql, tenantID: tenantID, currency: plan.currency.code, amount: amount, to: customerID)
                }
            }
            try await sql.insertRows(into: "campaign_members", columns: [
                "tenant_id", "run_id", "customer_id", "campaign_id", "control", "coupon_code", "points", "gift_card_id", "created_at",
            ], targetList.map { ($0, false) } + control.map { ($0, true) }, suffix: " ON CONFLICT DO NOTHING") { member, values in
                values.add(tenantID)
                values.add(runID)
                values.add(member.0)
                values.add(plan.campaign.id)
                values.add(Int64(member.1 ? 1 : 0))
                values.add(member.1 ? nil : codes[member.0].map(CouponCode.display))
                values.add(member.1 ? 0 : plan.points)
                values.add(member.1 ? nil : cards[member.0])
                values.add(now)
            }
            try await sql.raw("""
                UPDATE campaign_runs SET coupons = coupons + \(bind: Int64(codes.count)), points = points + \(bind: granted),
                  gift_cards = gift_cards + \(bind: Int64(cards.count))
                WHERE tenant_id = \(bind: tenantID) AND id = \(bind: runID)
                """).run()
            return (codes, granted, cards)
        }
        if let highest = outcome.codes.values.max() { codeCursor = highest }
        return last
    }

    /// Assigns a fresh code of the coupon campaign to each customer (as many as there are codes):
    /// codes available and assigned to nobody, taken by one conditional update for the page.
    func assignCodes(on sql: any SQLDatabase, tenantID: String, couponCampaignID: String, to customers: [String], after cursor: String?,
                     now: Int64) async throws -> [String: String] {
        let skipLocked = sql.dialect.name == "sqlite" ? "" : " FOR UPDATE SKIP LOCKED"
        let free = try await sql.raw("""
            SELECT code FROM coupon_codes
            WHERE tenant_id = \(bind: tenantID) AND campaign_id = \(bind: couponCampaignID) AND code > \(bind: cursor ?? "") AND status = 'available'
              AND customer_id IS NULL
            ORDER BY code LIMIT \(literal: customers.count)\(unsafeRaw: skipLocked)
            """).all().map { try $0.decode(column: "code", as: String.self) }
        guard !free.isEmpty else { return [:] }
        let pairs = Array(zip(customers, free))
        var update: SQLQueryString = "UPDATE coupon_codes SET updated_at = \(bind: now), customer_id = CASE code"
        for (customer, code) in pairs { update += " WHEN \(bind: code) THEN \(bind: customer)" }
        update += " END WHERE tenant_id = \(bind: tenantID) AND code IN (\(binds: pairs.map(\.1))) AND customer_id IS NULL RETURNING code"
        let taken = Set(try await sql.raw(update).all().map { try $0.decode(column: "code", as: String.self) })
        return Dictionary(uniqueKeysWithValues: pairs.filter { taken.contains($0.1) })
    }

    /// Credits `points` to each customer in the loyalty programme of `currency` (enrolling them if
    /// need be); they do not count toward a tier. Returns the points given.
    func grantPoints(on sql: any SQLDatabase, tenantID: String, currency: String, points: Int64, to customers: [String], sourceID: String, reason: String,
                     now: Int64) async throws -> Int64 {
        let loyalty = LoyaltyService(services: services)
        guard let programme = try await LoyaltyProgrammeService(services: services).activeProgrammes(on: sql, tenantID: tenantID)[currency] else { return 0 }
        let members = try await loyalty.members(on: sql, tenantID: tenantID, programme: programme, customerIDs: Set(customers), now: now)
        let credits = customers.compactMap { members[$0] }.map { member in
            LoyaltyService.Credit(member: member, programme: programme, points: points, kind: "campaign", sourceID: sourceID, qualifying: 0,
                                  linePoints: nil, earnedAt: now, reason: reason)
        }
        let events = try await loyalty.credit(on: sql, tenantID: tenantID, credits, purpose: LoyaltyService.issuedPurpose, event: "loyalty.points_granted",
                                              requestID: nil, now: now)
        try await services.events.append(on: sql, tenantID: tenantID, events)
        return Int64(credits.count) * points
    }

    /// Issues the customer a gift card of `amount` in `currency` (active, theirs): its id. The
    /// campaign's own caller: its currency was checked as accepted when the campaign was made.
    func issueGiftCard(on sql: any SQLDatabase, tenantID: String, currency: String, amount: Int64, to customerID: String) async throws -> String {
        let caller = Caller(tenantID: tenantID, keyID: "campaigns", scopes: [.service], channelID: nil, locationID: nil, tenantCurrency: currency,
                            tenantTimeZone: "UTC", acceptedCurrencies: [currency], identityPolicy: .defaults(country: "ES"))
        return try await GiftCardService(services: services).issue(
            on: sql, caller: caller, IssueGiftCardRequest(amount: amount, currency: currency, customerId: customerID, active: true),
            actor: Actor(id: "campaigns", requestID: nil)).id
    }

    private func finish(tenantID: String, runID: String, token: String, error: String?) async throws -> CampaignRun {
        let now = services.nowMilliseconds
        return try await services.database.transaction { sql in
            let finished = try await sql.raw("""
                UPDATE campaign_runs SET status = \(bind: error == nil ? "succeeded" : "failed"), error = \(bind: error), finished_at = \(bind: now),
                  lease_until = NULL, lease_token = NULL
                WHERE tenant_id = \(bind: tenantID) AND id = \(bind: runID) AND status = 'running' AND lease_token = \(bind: token)
                RETURNING id
                """).first()
            guard finished != nil, let run = try await self.run(on: sql, tenantID: tenantID, id: runID) else { throw CampaignRunLost() }
            try await services.events.append(on: sql, tenantID: tenantID, type: error == nil ? "campaign.run_succeeded" : "campaign.run_failed", data: run,
                                             requestID: nil)
            return run
        }
    }

    // MARK: Reading

    func run(on sql: any SQLDatabase, tenantID: String, id: String) async throws -> CampaignRun? {
        guard IDGenerator.isWellFormed(id, prefix: .campaignRun) else { return nil }
        return try await runs(on: sql, "SELECT * FROM campaign_runs WHERE tenant_id = \(bind: tenantID) AND id = \(bind: id)").first
    }

    func runs(on sql: any SQLDatabase, _ query: SQLQueryString) async throws -> [CampaignRun] {
        try await sql.raw(query).all().map { row in
            CampaignRun(
                id: try row.decode(column: "id", as: String.self), campaignId: try row.decode(column: "campaign_id", as: String.self),
                version: try row.decode(column: "version", as: Int.self), status: try row.decode(column: "status", as: String.self),
                considered: try row.decode(column: "considered", as: Int64.self), targeted: try row.decode(column: "targeted", as: Int64.self),
                control: try row.decode(column: "control", as: Int64.self), capped: try row.decode(column: "capped", as: Int64.self),
                coupons: try row.decode(column: "coupons", as: Int64.self), points: try row.decode(column: "points", as: Int64.self),
                giftCards: try row.decode(column: "gift_cards", as: Int64.self),
                error: try row.decode(column: "error", as: String?.self), createdAt: StoredTime(milliseconds: try row.decode(column: "created_at", as: Int64.self)),
                startedAt: try row.decode(column: "started_at", as: Int64?.self).map(StoredTime.init(milliseconds:)),
                finishedAt: try row.decode(column: "finished_at", as: Int64?.self).map(StoredTime.init(milliseconds:)))
        }
    }
}

/// A run's lease was taken over by another runner after this one stalled: it stops writing.
struct CampaignRunLost: Error {}
