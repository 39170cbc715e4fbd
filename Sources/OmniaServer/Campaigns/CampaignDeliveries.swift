import Foundation
import OmniaCore
import SQLKit

/// Carries out the deliveries triggered campaigns scheduled, once due: claimed in batches with a
/// conditional write (and a lease, so a server that died mid-batch leaves them to another), then
/// each checked again — the campaign still active, its audience rule on the customer's facts now,
/// a cart bought since it was abandoned, the control group, the frequency cap, quiet hours — and
/// the actions taken for the rest in one transaction per delivery: a coupon into the wallet,
/// points, and a `campaign.message` event with the message and the channel of contact to send it
/// by, the first of the campaign's the customer consented to and can be reached by.
struct CampaignDeliveries: Sendable {
    let services: AppServices
    static let lease: Int64 = 60_000
    static let batch = 200

    /// One batch of due deliveries; returns how many were settled (done, held out or skipped).
    @discardableResult
    func deliverDue() async throws -> Int {
        let now = services.nowMilliseconds
        let due = try await services.database.read { sql in
            try await sql.raw("""
                SELECT tenant_id, id FROM campaign_deliveries
                WHERE (status = 'scheduled' AND due_at <= \(bind: now)) OR (status = 'processing' AND lease_until < \(bind: now))
                ORDER BY due_at LIMIT \(literal: Self.batch)
                """).all().map { (tenantID: try $0.decode(column: "tenant_id", as: String.self), id: try $0.decode(column: "id", as: String.self)) }
        }
        var settled = 0
        for (tenantID, group) in Dictionary(grouping: due, by: \.tenantID) {
            // Quiet hours are in the tenant's local time: read once for its batch.
            let timeZone = try await services.platform.fetchTenant(tenantID)?.timezone ?? "UTC"
            let claimed = try await services.database.transaction { sql in
                try await sql.raw("""
                    UPDATE campaign_deliveries SET status = 'processing', lease_until = \(bind: now + Self.lease)
                    WHERE tenant_id = \(bind: tenantID) AND id IN (\(binds: group.map(\.id)))
                      AND ((status = 'scheduled' AND due_at <= \(bind: now)) OR (status = 'processing' AND lease_until < \(bind: now)))
                    RETURNING *
                    """).all().map(Delivery.init)
            }
            for delivery in claimed {
                try await deliver(delivery, tenantID: tenantID, timeZone: timeZone)
                settled += 1
            }
        }
        return settled
    }

    struct Delivery: Sendable {
        let id: String
        let campaignID: String
        let customerID: String
        let sourceID: String
        let triggeredAt: Int64
        let leaseUntil: Int64?

        init(_ row: any SQLRow) throws {
            id = try row.decode(column: "id", as: String.self)
            campaignID = try row.decode(column: "campaign_id", as: String.self)
            customerID = try row.decode(column: "customer_id", as: String.self)
            sourceID = try row.decode(column: "source_id", as: String.self)
            triggeredAt = try row.decode(column: "triggered_at", as: Int64.self)
            leaseUntil = try row.decode(column: "lease_until", as: Int64?.self)
        }
    }

    private func deliver(_ delivery: Delivery, tenantID: String, timeZone: String) async throws {
        let now = services.nowMilliseconds
        try await services.database.transaction { sql in
            func settle(_ status: String, reason: String?, control: Bool = false, couponCode: String? = nil, points: Int64 = 0, giftCardID: String? = nil,
                        channel: String? = nil, dueAt: Int64? = nil) async throws {
                // Only while this batch still holds it: one reclaimed by another server after a stall is theirs.
                let updated = try await sql.raw("""
                    UPDATE campaign_deliveries SET status = \(bind: status), reason = \(bind: reason), control = \(bind: control ? 1 : 0),
                      coupon_code = \(bind: couponCode), points = \(bind: points), gift_card_id = \(bind: giftCardID), message_channel = \(bind: channel),
                      due_at = COALESCE(\(bind: dueAt), due_at), done_at = \(bind: status == "scheduled" ? nil : now), lease_until = NULL
                    WHERE tenant_id = \(bind: tenantID) AND id = \(bind: delivery.id) AND status = 'processing' AND lease_until = \(bind: delivery.leaseUntil)
                    RETURNING id
                    """).all()
                guard !updated.isEmpty else { throw CampaignRunLost() }
                guard status == "done" || status == "control" else { return }
                // Reached or held out: what the report's uplift compares.
                try await sql.raw("""
                    INSERT INTO campaign_members (tenant_id, run_id, customer_id, campaign_id, control, coupon_code, points, gift_card_id, created_at)
                    VALUES (\(bind: tenantID), \(bind: delivery.id), \(bind: delivery.customerID), \(bind: delivery.campaignID), \(bind: control ? 1 : 0),
                            \(bind: couponCode), \(bind: points), \(bind: giftCardID), \(bind: now))
                    ON CONFLICT DO NOTHING
                    """).run()
            }
            guard let campaign = try await CampaignService(services: services).campaign(on: sql, tenantID: tenantID, id: delivery.campaignID),
                campaign.status == "active", let currency = Currency(code: campaign.terms.currency)
            else { return try await settle("skipped", reason: "campaign_not_active") }
            let terms = campaign.terms
            guard let customer = try await CustomerStore(tenantID: tenantID).resolvedRow(on: sql, id: delivery.customerID) else {
                return try await settle("skipped", reason: "customer_gone")
            }
            let facts = try await CustomerFacts.load([customer.id], on: sql, tenantID: tenantID)[customer.id]
            if let rule = terms.audience, let facts {
                let program = try RuleProgram(rule, schema: AudienceSchema.audience)
                let day = Int32(now / 86_400_000)
                guard (try? program.isSatisfied(by: AudienceSchema.value(of: facts.customer(in: currency.code), currency: currency, on: day))) == true else {
                    return try await settle("skipped", reason: "condition_not_met")
                }
            }
            if terms.trigger?.event == "cart_abandoned", try await boughtSince(delivery.triggeredAt, customerID: customer.id, on: sql, tenantID: tenantID) {
                return try await settle("skipped", reason: "recovered")
            }
            if AudienceSchema.isControl(campaignID: campaign.id, customerID: customer.id, basisPoints: terms.controlPercent * 100) {
                return try await settle("control", reason: nil, control: true)
            }
            if let cap = terms.frequencyCap, let maximum = cap.max, let days = cap.perDays {
                let reached = try await sql.raw("""
                    SELECT COUNT(*) AS n FROM campaign_members WHERE tenant_id = \(bind: tenantID) AND campaign_id = \(bind: campaign.id)
                      AND customer_id = \(bind: customer.id) AND control = 0 AND created_at >= \(bind: now - Int64(days) * 86_400_000)
                    """).first(decodingColumn: "n", as: Int.self) ?? 0
                if reached >= maximum { return try await settle("skipped", reason: "frequency_cap") }
            }
            let message = terms.actions.first { $0.type == "message" }
            if message != nil, let quiet = terms.quietHours, let end = Self.quietHoursEnd(quiet, timeZone: timeZone, now: now) {
                return try await settle("scheduled", reason: "quiet_hours", dueAt: end)
            }
            let runs = CampaignRuns(services: services)
            var couponCode: String?
            if let couponCampaignID = terms.actions.first(where: { $0.type == "assign_coupon" })?.couponCampaignId {
                couponCode = try await runs.assignCodes(on: sql, tenantID: tenantID, couponCampaignID: couponCampaignID, to: [customer.id], after: nil, now: now)[customer.id]
                    .map(CouponCode.display)
            }
            let points = terms.actions.filter { $0.type == "grant_points" }.compactMap(\.points).reduce(0, +)
            let granted = points > 0 ? try await runs.grantPoints(on: sql, tenantID: tenantID, currency: currency.code, points: points, to: [customer.id],
                                                                    sourceID: delivery.id, reason: "campaign \(terms.name)", now: now) : 0
            var giftCardID: String?
            if let amount = terms.actions.first(where: { $0.type == "issue_gift_card" })?.amount {
                giftCardID = try await runs.issueGiftCard(on: sql, tenantID: tenantID, currency: currency.code, amount: amount, to: customer.id)
            }
            var channel: String?
            var reason: String?
            if let message {
                let contact = try await self.contact(for: customer.id, preferring: message.channels ?? ["email"], on: sql, tenantID: tenantID)
                if let contact {
                    channel = contact.channel
                    try await services.events.append(on: sql, tenantID: tenantID, type: "campaign.message", data: CampaignMessage(
                        campaignId: campaign.id, deliveryId: delivery.id, customerId: customer.id, channel: contact.channel, to: contact.address,
                        text: Self.render(message.template ?? "", values: [
                            "first_name": customer.profile.firstName ?? "", "coupon_code": couponCode ?? "", "points": granted > 0 ? String(granted) : "",
                            "campaign": terms.name,
                        ]),
                        couponCode: couponCode, points: granted > 0 ? granted : nil, trigger: terms.trigger?.event ?? ""), requestID: nil)
                } else {
                    reason = "no_consent"
                }
            }
            try await settle("done", reason: reason, couponCode: couponCode, points: granted, giftCardID: giftCardID, channel: channel)
        }
    }

    /// Whether the customer bought anything, in any channel, since `time`: an abandoned cart recovered.
    private func boughtSince(_ time: Int64, customerID: String, on sql: any SQLDatabase, tenantID: String) async throws -> Bool {
        try await sql.raw("""
            SELECT 1 AS found FROM transactions WHERE tenant_id = \(bind: tenantID) AND customer_id = \(bind: customerID) AND kind = 'sale'
              AND occurred_at >= \(bind: time) LIMIT 1
            """).first() != nil
    }

    /// When the quiet hours now in force end (the tenant's local time), or nil outside them.
    private static func quietHoursEnd(_ quiet: CampaignQuietHours, timeZone: String, now: Int64) -> Int64? {
        guard let from = quiet.from.flatMap(RuleCalendar.minute).map(Int.init), let to = quiet.to.flatMap(RuleCalendar.minute).map(Int.init), from != to
        else { return nil }
        let minute = Int(LocalClock.day(at: now, timeZone: timeZone).minute)
        let inside = from < to ? (from..<to).contains(minute) : (minute >= from || minute < to)
        guard inside else { return nil }
        let wait = (to - minute + 1_440) % 1_440
        return now + Int64(wait) * 60_000
    }

    /// The first channel of `preferences` the customer granted and has an identifier for, with that address.
    private func contact(for customerID: String, preferring preferences: [String], on sql: any SQLDatabase,
                         tenantID: String) async throws -> (channel: String, address: String)? {
        let granted = try await ConsentService(services: services).granted(on: sql, tenantID: tenantID, customerIDs: [customerID])[customerID] ?? []
        guard preferences.contains(where: granted.contains) else { return nil }
        let identifiers = try await sql.raw("""
            SELECT i.kind, i.value FROM customer_identifiers i JOIN customers c ON c.tenant_id = i.tenant_id AND c.id = i.customer_id
            WHERE i.tenant_id = \(bind: tenantID) AND c.canonical_id = \(bind: customerID) ORDER BY i.created_at
            """).all().reduce(into: [String: String]()) { found, row in
            let kind = try row.decode(column: "kind", as: String.self)
            if found[kind] == nil { found[kind] = try row.decode(column: "value", as: String.self) }
        }
        for channel in preferences where granted.contains(channel) {
            let kind = switch channel {
            case "email": "email"
            case "push": "device_id"
            default: "phone"
            }
            if let address = identifiers[kind] { return (channel, address) }
        }
        return nil
    }

    /// `template` with each `{{name}}` replaced by its value.
    static func render(_ template: String, values: [String: String]) -> String {
        var text = template
        for (name, value) in values {
            for spelling in ["{{\(name)}}", "{{ \(name) }}"] { text = text.replacingOccurrences(of: spelling, with: value) }
        }
        return text
    }
}

/// `campaign.message`: what the messaging system (a webhook's receiver) sends, to whom and by which channel.
struct CampaignMessage: Codable, Sendable {
    let campaignId: String
    let deliveryId: String
    let customerId: String
    /// `email`, `sms`, `whatsapp` or `push`: the first of the campaign's the customer consented to and can be reached by.
    let channel: String
    /// The address on that channel: the customer's email, phone or device id.
    let to: String
    let text: String
    let couponCode: String?
    let points: Int64?
    let trigger: String
}
