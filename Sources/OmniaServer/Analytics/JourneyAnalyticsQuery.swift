import Foundation
import Hummingbird
import OmniaCore
import SQLKit

/// The period and filters of a journey analytics report, read from its query string, shared by
/// every `GET /v1/analytics/…` report of journeys and by the maturity scorecard.
///
/// | parameter | meaning |
/// | --- | --- |
/// | `from`, `to` | RFC 3339 times, or `YYYY-MM-DD` days in the tenant's time zone (`to`'s whole day included); the last 90 days by default; at most 731 days apart |
/// | `channel` | a channel's code or id: only what happened in it |
/// | `channel_kind` | `store`, `web`, `app`, `call_center`, `marketplace` or `social` |
/// | `interval` | `day`, `week` (from Monday) or `month`, cut at the tenant's local midnight |
/// | `by` | `kind` (channel kinds, the default) or `channel` (channel codes) |
/// | `days` | 1–90: a report's window (ROPO's days from research to purchase, a cart's days to recovery) |
/// | `currency` | the currency of the figures, the tenant's default unless given; sales in others are not counted |
///
/// A report refuses a parameter it does not take (`unsupported_parameter`), so a filter is never
/// silently ignored.
struct JourneyAnalyticsQuery: Sendable {
    enum Interval: String, CaseIterable, Sendable { case day, week, month }
    enum Grouping: String, CaseIterable, Sendable { case kind, channel }

    /// The parameters a report takes besides `from` and `to`.
    struct Parameters: OptionSet, Sendable {
        let rawValue: Int
        static let channel = Parameters(rawValue: 1 << 0)
        static let channelKind = Parameters(rawValue: 1 << 1)
        static let interval = Parameters(rawValue: 1 << 2)
        static let grouping = Parameters(rawValue: 1 << 3)
        static let days = Parameters(rawValue: 1 << 4)
        static let currency = Parameters(rawValue: 1 << 5)
    }

    let from: Int64
    let to: Int64
    let timeZone: String
    /// The tenant's offset from UTC now, in milliseconds. Days, weeks and months are cut at local
    /// midnight by this one offset (in SQL, by integer division), so across a daylight-saving change
    /// a bucket's edge is an hour off for the part of the period on the other side of it.
    let offsetMilliseconds: Int64
    let interval: Interval
    let grouping: Grouping
    let channel: Channel?
    let channelKind: String?
    let days: Int
    let currency: String

    static let millisecondsPerDay: Int64 = 86_400_000
    static let defaultDays: Int64 = 90
    /// Two years and a day: a year-on-year comparison fits, and every query stays bounded.
    static let maximumDays: Int64 = 731
    static let windowDays = 1...90

    /// The window of `days`, in milliseconds.
    var window: Int64 { Int64(days) * Self.millisecondsPerDay }

    /// Reads and checks the query string of `request`; every problem at once, as a 400 with field errors.
    static func parse(_ request: Request, caller: Caller, services: AppServices, accepts: Parameters,
                      defaultWindowDays: Int = 7) async throws -> JourneyAnalyticsQuery {
        let query = request.uri.queryParameters
        func text(_ name: String) -> String? { query[Substring(name)].map(String.init) }
        var validator = Validator()
        let now = services.nowMilliseconds
        let timeZone = caller.tenantTimeZone

        let offered: [(Parameters, String)] = [
            (.channel, "channel"), (.channelKind, "channel_kind"), (.interval, "interval"), (.grouping, "by"), (.days, "days"), (.currency, "currency"),
        ]
        for (parameter, name) in offered where text(name) != nil && !accepts.contains(parameter) {
            validator.fail(name, "unsupported_parameter", "this report does not take \(name)")
        }

        func time(_ name: String, endOfDay: Bool) -> Int64? {
            guard let given = text(name) else { return nil }
            if let milliseconds = RFC3339.milliseconds(given) { return milliseconds }
            if let day = RuleCalendar.day(given) {
                let midnight = (Int64(day) + (endOfDay ? 1 : 0)) * millisecondsPerDay
                let local = midnight - Int64(LocalClock.utcOffsetSeconds(at: midnight, timeZone: timeZone)) * 1_000
                return endOfDay ? local - 1 : local
            }
            validator.fail(name, "invalid_time", "\(name) must be an RFC 3339 time such as 2026-03-01T00:00:00Z or a day such as 2026-03-01")
            return nil
        }
        let givenFrom = time("from", endOfDay: false)
        let givenTo = time("to", endOfDay: true)
        let to = givenTo ?? now
        let from = givenFrom ?? to - defaultDays * millisecondsPerDay
        if validator.errors.allSatisfy({ $0.field != "from" && $0.field != "to" }) {
            if from > to {
                validator.fail("from", "invalid_range", "from must not be after to")
            } else if to - from > maximumDays * millisecondsPerDay {
                let spanned = (to - from + millisecondsPerDay - 1) / millisecondsPerDay
                validator.fail("from", "range_too_long", "from and to may be at most \(maximumDays) days apart; these are \(spanned) days apart")
            }
        }

        var interval = Interval.day
        if accepts.contains(.interval), let parsed = validator.oneOf(text("interval"), Interval.self, field: "interval", required: false) {
            interval = parsed
        }
        var grouping = Grouping.kind
        if accepts.contains(.grouping), let parsed = validator.oneOf(text("by"), Grouping.self, field: "by", required: false) {
            grouping = parsed
        }
        var channelKind: String?
        if accepts.contains(.channelKind), let kind = validator.oneOf(text("channel_kind"), ChannelKind.self, field: "channel_kind", required: false) {
            channelKind = kind.rawValue
        }
        var days = defaultWindowDays
        if accepts.contains(.days), let given = text("days") {
            if let parsed = Int(given), windowDays.contains(parsed) {
                days = parsed
            } else {
                validator.fail("days", "out_of_range", "days must be a whole number from \(windowDays.lowerBound) to \(windowDays.upperBound)")
            }
        }
        var currency = caller.tenantCurrency
        if accepts.contains(.currency), let given = text("currency") {
            if let parsed = validator.currency(given.uppercased(), field: "currency") {
                if caller.acceptedCurrencies.contains(parsed.code) {
                    currency = parsed.code
                } else {
                    validator.fail("currency", "currency_not_accepted",
                                   "currency must be one the tenant accepts: \(caller.acceptedCurrencies.sorted().joined(separator: ", "))")
                }
            }
        }
        var channel: Channel?
        if accepts.contains(.channel), let reference = text("channel") {
            // A control character (a NUL decoded from %00) names no channel and must not reach PostgreSQL, which refuses it.
            if reference.isEmpty || reference.count > 100 || reference.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                validator.fail("channel", "unknown_channel", "channel does not name a channel (by code or id) of this tenant")
            } else {
                channel = try await services.database.read { sql in
                    try await services.platform.knownChannel(on: sql, tenantID: caller.tenantID, reference)
                }
                if channel == nil { validator.fail("channel", "unknown_channel", "channel does not name a channel (by code or id) of this tenant") }
            }
        }
        guard validator.isValid else { throw Problem.validation(validator.errors) }
        return JourneyAnalyticsQuery(
            from: from, to: to, timeZone: timeZone, offsetMilliseconds: Int64(LocalClock.utcOffsetSeconds(at: now, timeZone: timeZone)) * 1_000,
            interval: interval, grouping: grouping, channel: channel, channelKind: channelKind, days: days, currency: currency)
    }

    /// ` AND …` limiting rows of `row` (a table with `channel_id`) to the chosen channel, and rows
    /// joined to `channels` as `channelAlias` to the chosen kind; empty without filters.
    func channelFilter(row: String, channelAlias: String) -> SQLQueryString {
        var filter: SQLQueryString = ""
        if let id = channel?.id { filter += " AND \(unsafeRaw: row).channel_id = \(bind: id)" }
        if let channelKind { filter += " AND \(unsafeRaw: channelAlias).kind = \(bind: channelKind)" }
        return filter
    }

    /// The tenant's local day (days since 1970-01-01) at `milliseconds`, by `offsetMilliseconds`.
    func localDay(_ milliseconds: Int64) -> Int64 {
        let shifted = milliseconds + offsetMilliseconds
        let day = shifted / Self.millisecondsPerDay
        return shifted % Self.millisecondsPerDay < 0 ? day - 1 : day
    }

    /// The first local day of the interval holding `day`: itself, its week's Monday, or its month's first day.
    func bucketStart(_ day: Int64) -> Int64 {
        switch interval {
        case .day:
            return day
        case .week:
            // 1970-01-01 was a Thursday: three days after a Monday.
            return day - ((day + 3) % 7 + 7) % 7
        case .month:
            return day - (RFC3339.civilFromDays(day).day - 1)
        }
    }

    /// The starts of every interval from `from` to `to`, in order.
    func bucketStarts() -> [Int64] {
        var starts: [Int64] = []
        var day = localDay(from)
        let last = localDay(to)
        while day <= last {
            let start = bucketStart(day)
            if starts.last != start { starts.append(start) }
            day += 1
        }
        return starts
    }
}
