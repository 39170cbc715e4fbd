import Foundation
import Hummingbird
import OmniaCore
import SQLKit

/// Campaigns: audiences reached with coupons and points, a control group held out, and what came of it.
///
/// | route | scope |
/// | --- | --- |
/// | `POST /v1/campaigns`, `PATCH /v1/campaigns/{id}` | service |
/// | `GET /v1/campaigns?status=`, `GET /v1/campaigns/{id}` | service, analytics:read |
/// | `POST /v1/campaigns/{id}/runs` (202: queued) | service |
/// | `GET /v1/campaigns/{id}/runs`, `GET /v1/campaign_runs/{id}` | service, analytics:read |
/// | `GET /v1/campaigns/{id}/report` | service, analytics:read |
struct CampaignController {
    let services: AppServices

    func addRoutes(to routes: Routes) {
        let campaigns = CampaignService(services: services)
        let runs = CampaignRuns(services: services)
        let readers: Set<Scope> = [.service, .analyticsRead]
        routes.post("campaigns", scopes: [.service]) { request, context, caller in
            let body = try await request.decode(CampaignRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context) { sql in try await campaigns.create(on: sql, caller: caller, body, actor: actor) }
        }
        routes.get("campaigns", scopes: readers) { request, _, caller in
            let page = try PageRequest(request)
            let status = request.uri.queryParameters["status"].map(String.init)
            if let status, !CampaignService.statuses.contains(status) {
                throw Problem.validation([FieldError(field: "status", code: "invalid_enum", detail: "status must be one of: \(CampaignService.statuses.joined(separator: ", "))")])
            }
            let found = try await services.database.read { sql in try await campaigns.page(on: sql, tenantID: caller.tenantID, status: status, page: page) }
            return try JSONResponse.make(page.page(found.map(\.view), id: \.id))
        }
        routes.get("campaigns/:id", scopes: readers) { request, context, caller in
            let id = try request.id("id", .campaign, context: context, what: "campaign")
            guard let campaign = try await services.database.read({ sql in try await campaigns.campaign(on: sql, tenantID: caller.tenantID, id: id) })
            else { throw Problem.notFound("campaign") }
            return try JSONResponse.make(campaign.view)
        }
        routes.patch("campaigns/:id", scopes: [.service]) { request, context, caller in
            let id = try request.id("id", .campaign, context: context, what: "campaign")
            let body = try await request.decode(CampaignRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context, status: .ok) { sql in try await campaigns.update(on: sql, caller: caller, id: id, body, actor: actor) }
        }
        routes.post("campaigns/:id/runs", scopes: [.service]) { request, context, caller in
            let id = try request.id("id", .campaign, context: context, what: "campaign")
            return try await services.mutation(context, status: .accepted) { sql in
                guard let campaign = try await campaigns.campaign(on: sql, tenantID: caller.tenantID, id: id) else { throw Problem.notFound("campaign") }
                guard campaign.terms.kind == "audience" else {
                    throw Problem(.conflict, code: "not_an_audience_campaign", detail: "a triggered campaign acts when its trigger fires; it has no runs")
                }
                guard campaign.status == "active" else {
                    throw Problem(.conflict, code: "campaign_not_active", detail: "only an active campaign runs; it is \(campaign.status)")
                }
                return try await runs.queue(on: sql, tenantID: caller.tenantID, campaign: campaign)
            }
        }
        routes.get("campaigns/:id/runs", scopes: readers) { request, context, caller in
            let id = try request.id("id", .campaign, context: context, what: "campaign")
            let page = try PageRequest(request)
            let found = try await services.database.read { sql in
                guard try await campaigns.campaign(on: sql, tenantID: caller.tenantID, id: id) != nil else { throw Problem.notFound("campaign") }
                var query: SQLQueryString = "SELECT * FROM campaign_runs WHERE tenant_id = \(bind: caller.tenantID) AND campaign_id = \(bind: id)"
                if let cursor = page.startingAfter { query += " AND id < \(bind: cursor)" }
                return try await runs.runs(on: sql, query + " ORDER BY id DESC LIMIT \(literal: page.limit + 1)")
            }
            return try JSONResponse.make(page.page(found, id: \.id))
        }
        routes.get("campaign_runs/:id", scopes: readers) { request, context, caller in
            let id = try request.id("id", .campaignRun, context: context, what: "campaign run")
            guard let run = try await services.database.read({ sql in try await runs.run(on: sql, tenantID: caller.tenantID, id: id) })
            else { throw Problem.notFound("campaign run") }
            return try JSONResponse.make(run)
        }
        routes.get("campaigns/:id/report", scopes: readers) { request, context, caller in
            let id = try request.id("id", .campaign, context: context, what: "campaign")
            let report = try await services.database.read { sql in try await CampaignReports(services: services).report(on: sql, tenantID: caller.tenantID, id: id) }
            return try JSONResponse.make(report)
        }
    }
}
