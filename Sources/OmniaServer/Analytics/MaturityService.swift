import Foundation
import OmniaCore
import SQLKit

/// `GET /v1/analytics/maturity`: the omnichannel maturity scorecard, from each indicator measured
/// here and the counts behind it.
struct MaturityReport: Encodable, Sendable {
    struct Indicator: Encodable, Sendable {
        let indicator: MaturityIndicator
        let unit: MaturityUnit
        /// Nil when not measurable: then `unmeasurable` says why and `advice` how to measure it.
        let value: Double?
        let level: MaturityLevel?
        /// 1 (ad hoc) to 5 (optimized).
        let levelNumber: Int?
        /// The values that reach levels 2, 3, 4 and 5.
        let thresholds: [Double]
        let nextLevel: MaturityLevel?
        let nextThreshold: Double?
        let advice: String?
        /// What is counted: `value` is `numerator / denominator`.
        let definition: String
        let numerator: Double?
        let denominator: Int64?
        let unmeasurable: String?
    }

    let from: StoredTime
    let to: StoredTime
    let level: MaturityLevel?
    let levelNumber: Int?
    let limitingIndicators: [MaturityIndicator]
    let measuredIndicators: Int
    let indicators: [Indicator]
}

/// Measures the maturity indicators in the tenant's own data over a period (in every currency)
/// and scores them with `MaturityScorecard`.
///
/// - identified sales share: store sales with a customer over store sales.
/// - cross-channel customers: customers who bought in two or more channel kinds over customers who bought.
/// - cross-channel benefit use: benefit uses in the period whose issuing channel is recorded, the
///   share used in another channel kind than the one that issued them. Recorded are: loyalty points
///   (earned by a sale in its channel; points are fungible, so a redemption counts as cross-channel
///   in proportion to the account's points earned elsewhere before it), and coupons and gift cards
///   a sale's promotion issued (`promotion_redemptions.issued`, in the sale's channel) — used through
///   a checkout (`checkout_holds`) or, for coupons, a committed sale. Gift cards sold over the API,
///   campaign coupons and store credit record no issuing channel and are left out of both counts.
/// - cross-channel returns: returns linked to their sale made in another channel kind, over linked returns.
/// - personalization coverage: customers who bought in the period and who are in an active segment
///   now or were reached (not held out) by a campaign in the period, over customers who bought.
///   Recommendations are not stored per customer yet and are not counted.
/// - service response time: Omnia has no customer conversations yet; not measurable.
struct MaturityService: Sendable {
    let services: AppServices

    /// One indicator's measurement: nil value with the reason when its denominator is empty.
    struct Measured: Sendable {
        let numerator: Double
        let denominator: Int64
        let emptyReason: String

        var value: Double? { denominator > 0 ? AnalyticsFigures.ratio(numerator, Double(denominator)) : nil }
    }

    static let definitions: [MaturityIndicator: String] = [
        .identifiedSalesShare: "store sales with a known customer, over all store sales",
        .crossChannelCustomers: "customers who bought in two or more channel kinds, over all customers who bought",
        .crossChannelBenefitUse: "uses of points, and of coupons and gift cards issued by a sale's promotion, in another channel kind than the "
            + "one that issued them (points in proportion to where the account's points were earned), over all such uses",
        .crossChannelReturns: "returns made in another channel kind than their sale's, over all returns linked to their sale",
        .personalizationCoverage: "customers who bought and are in an active segment or were reached by a campaign in the period, "
            + "over all customers who bought",
        .serviceResponseTime: "median hours from a customer's message to the first response",
    ]

    func report(_ query: JourneyAnalyticsQuery, tenantID: String) async throws -> MaturityReport {
        let (from, to) = (query.from, query.to)
        // Each indicator on a reader of its own, all at once; the buyers by ranges of customers too.
        let database = services.database
        let basis = try await JourneyAnalytics.basis(in: database, tenantID: tenantID)
        async let identified = database.read { sql in
            try await Self.identifiedSales(on: sql, tenantID: tenantID, channels: basis.channels, from: from, to: to)
        }
        async let benefits = database.read { sql in try await self.benefitUse(on: sql, tenantID: tenantID, from: from, to: to) }
        async let returns = database.read { sql in try await Self.returns(on: sql, tenantID: tenantID, from: from, to: to) }
        let reached: JourneyAnalytics.Reached = database.dialect == .postgres
            ? .set { inRange in Self.reachedSet(tenantID: tenantID, from: from, to: to, inRange: inRange) }
            : .condition(Self.reached("g.ckey", tenantID: tenantID, from: from, to: to))
        let buyers = try await JourneyAnalytics.buyers(in: database, basis: basis, tenantID: tenantID, from: from, to: to, reached: reached)
        var measured: [MaturityIndicator: Measured] = [:]
        measured[.identifiedSalesShare] = try await identified
        measured[.crossChannelCustomers] = Measured(numerator: Double(buyers.crossChannel), denominator: Int64(buyers.customers),
                                                    emptyReason: "no customer bought in the period")
        measured[.crossChannelBenefitUse] = try await benefits
        measured[.crossChannelReturns] = try await returns
        measured[.personalizationCoverage] = Measured(numerator: Double(buyers.reached), denominator: Int64(buyers.customers),
                                                      emptyReason: "no customer bought in the period")
        let measurements = MaturityMeasurements(
            identifiedSalesShare: measured[.identifiedSalesShare]?.value, crossChannelCustomers: measured[.crossChannelCustomers]?.value,
            crossChannelBenefitUse: measured[.crossChannelBenefitUse]?.value, crossChannelReturns: measured[.crossChannelReturns]?.value,
            personalizationCoverage: measured[.personalizationCoverage]?.value, serviceResponseTime: nil)
        let card = MaturityScorecard(measurements)
        let indicators = card.indicators.map { score -> MaturityReport.Indicator in
            let measurement = measured[score.indicator]
            var reason: String?
            if score.value == nil {
                reason = measurement?.emptyReason ?? "Omnia does not handle customer conversations yet, so there is no response to time"
            }
            return MaturityReport.Indicator(
                indicator: score.indicator, unit: score.unit, value: score.value, level: score.level, levelNumber: score.level?.number,
                thresholds: score.thresholds, nextLevel: score.nextLevel, nextThreshold: score.nextThreshold, advice: score.advice,
                definition: Self.definitions[score.indicator] ?? "", numerator: measurement.map { ($0.numerator * 10_000).rounded() / 10_000 },
                denominator: measurement?.denominator, unmeasurable: reason)
        }
        return MaturityReport(from: StoredTime(milliseconds: from), to: StoredTime(milliseconds: to), level: card.level, levelNumber: card.level?.number,
                              limitingIndicators: card.limitingIndicators, measuredIndicators: card.measuredIndicators, indicators: indicators)
    }

    /// From the hourly sums (`TransactionHours`), in every currency.
    static func identifiedSales(on sql: any SQLDatabase, tenantID: String, channels: TenantChannels, from: Int64, to: Int64) async throws -> Measured {
        let cells = try await TransactionHours.cells(on: sql, tenantID: tenantID, from: from, to: to, kind: TransactionKind.sale.rawValue)
        let stores = cells.filter { channels.isStore($0.channelId) }
        return Measured(numerator: Double(stores.reduce(0) { $0 + $1.identified }), denominator: stores.reduce(0) { $0 + $1.transactions },
                        emptyReason: "no store sales in the period")
    }

    static func returns(on sql: any SQLDatabase, tenantID: String, from: Int64, to: Int64) async throws -> Measured {
        let row = try await sql.raw("""
            SELECT COUNT(*) AS linked, COALESCE(SUM(CASE WHEN oc.kind <> rc.kind THEN 1 ELSE 0 END), 0) AS cross_channel
            FROM transactions r JOIN channels rc ON rc.tenant_id = r.tenant_id AND rc.id = r.channel_id
            JOIN transactions o ON o.tenant_id = r.tenant_id AND o.id = r.original_id
            JOIN channels oc ON oc.tenant_id = o.tenant_id AND oc.id = o.channel_id
            WHERE r.tenant_id = \(bind: tenantID) AND r.kind = 'return' AND r.occurred_at >= \(bind: from) AND r.occurred_at <= \(bind: to)
            """).first()
        return Measured(numerator: Double(try row?.decode(column: "cross_channel", as: Int64.self) ?? 0),
                        denominator: try row?.decode(column: "linked", as: Int64.self) ?? 0, emptyReason: "no returns linked to their sale in the period")
    }

    /// Whether the buyer `key` (a cluster's key) is in an active segment or was reached by a campaign
    /// in the period: looked up in each active segment's members (their primary key; `CROSS JOIN`
    /// makes SQLite take the segments first) and in the campaigns' reached members by customer,
    /// never a join of the two whole sets. Read with the buyers (`JourneyAnalytics.buyers`), so the
    /// period's sales are grouped by buyer once.
    static func reached(_ key: String, tenantID: String, from: Int64, to: Int64) -> SQLQueryString {
        """
        EXISTS (
          SELECT 1 FROM segments s CROSS JOIN segment_members m
          WHERE s.tenant_id = \(bind: tenantID) AND s.status = 'active'
            AND m.tenant_id = s.tenant_id AND m.segment_id = s.id AND m.customer_id = \(unsafeRaw: key))
        OR EXISTS (
          SELECT 1 FROM campaign_members cm
          WHERE cm.tenant_id = \(bind: tenantID) AND cm.customer_id = \(unsafeRaw: key) AND cm.control = 0
            AND cm.created_at >= \(bind: from) AND cm.created_at <= \(bind: to))
        """
    }

    /// `reached` as the set of customers it holds for (PostgreSQL, see `JourneyAnalytics.Reached`):
    /// the members of every active segment and the customers a campaign reached in the period, each
    /// once, within the range of customers read.
    static func reachedSet(tenantID: String, from: Int64, to: Int64, inRange: (String) -> SQLQueryString) -> SQLQueryString {
        """
        SELECT m.customer_id FROM segments s JOIN segment_members m ON m.tenant_id = s.tenant_id AND m.segment_id = s.id
        WHERE s.tenant_id = \(bind: tenantID) AND s.status = 'active'\(inRange("m.customer_id"))
        UNION
        SELECT cm.customer_id FROM campaign_members cm
        WHERE cm.tenant_id = \(bind: tenantID) AND cm.control = 0 AND cm.created_at >= \(bind: from) AND cm.created_at <= \(bind: to)\(inRange("cm.customer_id"))
        """
    }

    /// Benefit uses in the period with a recorded issuing channel, and how many of them (points in
    /// proportion) were used in another channel kind than the one that issued them.
    func benefitUse(on sql: any SQLDatabase, tenantID: String, from: Int64, to: Int64) async throws -> Measured {
        struct PointsUse: Decodable, Sendable {
            let earned: Int64
            let elsewhere: Int64
        }
        struct Use: Decodable, Sendable {
            let instrumentType: String
            let instrument: String
            let redeemedIn: String
        }
        let redeemedAt = "COALESCE(h.occurred_at, h.created_at)"
        // Each points part with the account's points earned by sales up to the redemption, and those earned in another kind of channel.
        let points = try await sql.raw("""
            SELECT CAST(COALESCE(SUM(CASE WHEN sc.kind IS NULL THEN 0 ELSE l.points END), 0) AS BIGINT) AS earned,
              CAST(COALESCE(SUM(CASE WHEN sc.kind IS NOT NULL AND sc.kind <> rc.kind THEN l.points ELSE 0 END), 0) AS BIGINT) AS elsewhere
            FROM checkout_holds h JOIN checkout_hold_parts p ON p.tenant_id = h.tenant_id AND p.hold_id = h.id
            JOIN channels rc ON rc.tenant_id = h.tenant_id AND rc.id = h.channel_id
            LEFT JOIN loyalty_lots l ON l.tenant_id = p.tenant_id AND l.account_id = p.instrument_id AND l.kind = 'earn'
              AND l.earned_at <= \(unsafeRaw: redeemedAt)
            LEFT JOIN transactions s ON s.tenant_id = l.tenant_id AND s.id = l.source_id
            LEFT JOIN channels sc ON sc.tenant_id = s.tenant_id AND sc.id = s.channel_id
            WHERE h.tenant_id = \(bind: tenantID) AND h.status = 'captured' AND p.instrument_type = 'points' AND p.captured > 0
              AND \(unsafeRaw: redeemedAt) >= \(bind: from) AND \(unsafeRaw: redeemedAt) <= \(bind: to)
            GROUP BY p.hold_id, p.position
            """).rows(PointsUse.self)
        var attributable = Int64(points.filter { $0.earned > 0 }.count)
        var cross = points.filter { $0.earned > 0 }.reduce(0.0) { $0 + Double($1.elsewhere) / Double($1.earned) }

        // Gift cards and coupons used through a checkout, and coupons that unlocked a committed sale's promotion (codes compared in their stored form).
        let uses = try await sql.raw("""
            SELECT p.instrument_type,
              CASE WHEN p.instrument_type = 'coupon' THEN LOWER(REPLACE(p.instrument_id, '-', '')) ELSE p.instrument_id END AS instrument,
              rc.kind AS redeemed_in
            FROM checkout_holds h JOIN checkout_hold_parts p ON p.tenant_id = h.tenant_id AND p.hold_id = h.id
            JOIN channels rc ON rc.tenant_id = h.tenant_id AND rc.id = h.channel_id
            WHERE h.tenant_id = \(bind: tenantID) AND h.status = 'captured' AND p.instrument_type IN ('gift_card', 'coupon') AND p.captured > 0
              AND \(unsafeRaw: redeemedAt) >= \(bind: from) AND \(unsafeRaw: redeemedAt) <= \(bind: to)
            UNION ALL
            SELECT 'coupon', LOWER(REPLACE(pr.coupon_code, '-', '')), rc.kind
            FROM promotion_redemptions pr JOIN channels rc ON rc.tenant_id = pr.tenant_id AND rc.id = pr.channel_id
            WHERE pr.tenant_id = \(bind: tenantID) AND pr.coupon_code IS NOT NULL AND pr.occurred_at >= \(bind: from) AND pr.occurred_at <= \(bind: to)
            """).rows(Use.self)
        if !uses.isEmpty {
            let dialect = JourneyAnalyticsSQL(dialect: services.database.dialect)
            var issuedIn: [String: String] = [:]
            for (instrumentType, key) in [("gift_card", "gift_cards"), ("coupon", "coupons")] {
                let wanted = Array(Set(uses.filter { $0.instrumentType == instrumentType }.map(\.instrument))).sorted()
                let (elements, element) = dialect.jsonArrayElements("pr.issued", key)
                let normalized = instrumentType == "coupon" ? "LOWER(REPLACE(\(element), '-', ''))" : element
                for batch in wanted.chunks(of: 200) {
                    for row in try await sql.raw("""
                        SELECT \(unsafeRaw: normalized) AS instrument, c.kind
                        FROM promotion_redemptions pr, \(unsafeRaw: elements), channels c
                        WHERE pr.tenant_id = \(bind: tenantID) AND pr.issued IS NOT NULL AND c.tenant_id = pr.tenant_id AND c.id = pr.channel_id
                          AND \(unsafeRaw: normalized) IN (\(binds: Array(batch)))
                        """).all() {
                        issuedIn[instrumentType + ":" + (try row.decode(column: "instrument", as: String.self))] = try row.decode(column: "kind", as: String.self)
                    }
                }
            }
            for use in uses {
                guard let issued = issuedIn[use.instrumentType + ":" + use.instrument] else { continue }
                attributable += 1
                if issued != use.redeemedIn { cross += 1 }
            }
        }
        return Measured(numerator: cross, denominator: attributable,
                        emptyReason: "no benefit whose issuing channel is recorded (points earned by sales, coupons and gift cards issued by a "
                            + "sale's promotion) was used in the period")
    }
}
