import Hummingbird
import OmniaCore

/// Journey analytics and the omnichannel maturity scorecard, computed on request from the
/// tenant's sales, returns, journey events and benefits. Every report takes `from` and `to`
/// (RFC 3339 times or local `YYYY-MM-DD` days; the last 90 days by default, at most 731), and
/// the other parameters listed (see `JourneyAnalyticsQuery`); money is in `currency`, the
/// tenant's default unless given.
///
/// | route | scope |
/// | --- | --- |
/// | `GET /v1/analytics/channel-mix?interval=day\|week\|month&by=kind\|channel&channel=&channel_kind=&currency=` | service, analytics:read |
/// | `GET /v1/analytics/channel-transitions?by=kind\|channel` (identified sales in any currency) | service, analytics:read |
/// | `GET /v1/analytics/cross-channel?channel=&channel_kind=&currency=` | service, analytics:read |
/// | `GET /v1/analytics/ropo?days=7&currency=` (and the reverse: store visit, then online purchase) | service, analytics:read |
/// | `GET /v1/analytics/abandoned-carts?days=7&channel=&channel_kind=` (`days`: to recovery) | service, analytics:read |
/// | `GET /v1/analytics/store-identification?channel=&currency=` | service, analytics:read |
/// | `GET /v1/analytics/returns?currency=` (sale channel kind × return channel kind) | service, analytics:read |
/// | `GET /v1/analytics/maturity` (in every currency) | service, analytics:read |
struct JourneyAnalyticsController {
    let services: AppServices

    func addRoutes(to routes: Routes) {
        let readers: Set<Scope> = [.service, .analyticsRead]
        let analytics = JourneyAnalytics(services: services)
        routes.get("analytics/channel-mix", scopes: readers) { request, _, caller in
            let parsed = try await JourneyAnalyticsQuery.parse(
                request, caller: caller, services: services, accepts: [.channel, .channelKind, .interval, .grouping, .currency])
            return try JSONResponse.make(try await analytics.channelMix(parsed, tenantID: caller.tenantID))
        }
        routes.get("analytics/channel-transitions", scopes: readers) { request, _, caller in
            let parsed = try await JourneyAnalyticsQuery.parse(
                request, caller: caller, services: services, accepts: [.grouping])
            return try JSONResponse.make(try await analytics.channelTransitions(parsed, tenantID: caller.tenantID))
        }
        routes.get("analytics/cross-channel", scopes: readers) { request, _, caller in
            let parsed = try await JourneyAnalyticsQuery.parse(
                request, caller: caller, services: services, accepts: [.channel, .channelKind, .currency])
            return try JSONResponse.make(try await analytics.crossChannel(parsed, tenantID: caller.tenantID))
        }
        routes.get("analytics/ropo", scopes: readers) { request, _, caller in
            let parsed = try await JourneyAnalyticsQuery.parse(
                request, caller: caller, services: services, accepts: [.days, .currency])
            return try JSONResponse.make(try await analytics.ropo(parsed, tenantID: caller.tenantID))
        }
        routes.get("analytics/abandoned-carts", scopes: readers) { request, _, caller in
            let parsed = try await JourneyAnalyticsQuery.parse(
                request, caller: caller, services: services, accepts: [.days, .channel, .channelKind])
            return try JSONResponse.make(try await analytics.abandonedCarts(parsed, tenantID: caller.tenantID))
        }
        routes.get("analytics/store-identification", scopes: readers) { request, _, caller in
            let parsed = try await JourneyAnalyticsQuery.parse(
                request, caller: caller, services: services, accepts: [.channel, .currency])
            return try JSONResponse.make(try await analytics.storeIdentification(parsed, tenantID: caller.tenantID))
        }
        routes.get("analytics/returns", scopes: readers) { request, _, caller in
            let parsed = try await JourneyAnalyticsQuery.parse(
                request, caller: caller, services: services, accepts: [.currency])
            return try JSONResponse.make(try await analytics.returns(parsed, tenantID: caller.tenantID))
        }
        routes.get("analytics/maturity", scopes: readers) { request, _, caller in
            let parsed = try await JourneyAnalyticsQuery.parse(
                request, caller: caller, services: services, accepts: [])
            return try JSONResponse.make(try await MaturityService(services: services).report(parsed, tenantID: caller.tenantID))
        }
    }
}
