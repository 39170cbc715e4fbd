import Hummingbird
import OmniaCore

/// Probabilistic matching and its review queue.
///
/// | route | scope |
/// | --- | --- |
/// | `POST /v1/identity/match_jobs` (202: queued) | admin |
/// | `GET /v1/identity/match_jobs`, `GET /v1/identity/match_jobs/{id}` | service, analytics:read |
/// | `GET /v1/identity/candidates` (`?status=`, `?job_id=`), `GET /v1/identity/candidates/{id}` | service, analytics:read |
/// | `POST /v1/identity/candidates/{id}/accept`, `/reject` | service |
struct MatchController {
    let services: AppServices
    static let readScopes: Set<Scope> = [.service, .analyticsRead]

    func addRoutes(to routes: Routes) {
        let jobs = MatchJobs(services: services)
        let review = MatchReview(services: services)
        routes.post("identity/match_jobs", scopes: [.admin]) { request, context, caller in
            let body = try await request.decode(CreateMatchJobRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context, status: .accepted) { sql in
                try await jobs.create(on: sql, tenantID: caller.tenantID, body, actor: actor)
            }
        }
        routes.get("identity/match_jobs", scopes: Self.readScopes) { request, _, caller in
            let page = try PageRequest(request)
            let rows = try await services.database.page(MatchJobRow.self, from: "match_jobs", tenantID: caller.tenantID, page: page)
            return try JSONResponse.make(page.page(rows.map(MatchJob.init), id: \.id))
        }
        routes.get("identity/match_jobs/:id", scopes: Self.readScopes) { request, context, caller in
            let id = try request.id("id", .matchJob, context: context, what: "match job")
            guard let row = try await jobs.fetch(tenantID: caller.tenantID, id: id) else { throw Problem.notFound("match job") }
            return try JSONResponse.make(MatchJob(row))
        }
        routes.get("identity/candidates", scopes: Self.readScopes) { request, _, caller in
            let page = try PageRequest(request)
            let filter = try Self.filter(request)
            let candidates = try await review.page(tenantID: caller.tenantID, filter: filter, page: page)
            return try JSONResponse.make(page.page(candidates, id: \.id))
        }
        routes.get("identity/candidates/:id", scopes: Self.readScopes) { request, context, caller in
            let id = try request.id("id", .matchCandidate, context: context, what: "candidate")
            guard let detail = try await review.detail(tenantID: caller.tenantID, id: id) else { throw Problem.notFound("candidate") }
            return try JSONResponse.make(detail)
        }
        for (verb, decide) in [("accept", review.accept), ("reject", review.reject)] {
            routes.post("identity/candidates/:id/\(verb)", scopes: [.service]) { request, context, caller in
                let id = try request.id("id", .matchCandidate, context: context, what: "candidate")
                let body = try await request.decode(DecideMatchCandidateRequest.self, maxBytes: services.config.maxBodyBytes)
                let actor = Actor(id: caller.keyID, requestID: context.requestID)
                return try await services.mutation(context, status: .ok) { sql in
                    try await decide(sql, caller.tenantID, id, body, actor)
                }
            }
        }
    }

    /// `?status=` one of the candidate statuses (default `pending` without `job_id`, any with it); `?job_id=` a job's id.
    static func filter(_ request: Request) throws -> MatchReview.Filter {
        let query = request.uri.queryParameters
        var errors: [FieldError] = []
        var filter = MatchReview.Filter()
        if let job = query["job_id"].map(String.init) {
            if IDGenerator.isWellFormed(job, prefix: .matchJob) {
                filter.jobID = job
            } else {
                errors.append(FieldError(field: "job_id", code: "invalid_id", detail: "job_id must be a match job id (mjb_…)"))
            }
        }
        if let text = query["status"].map(String.init) {
            if let status = MatchCandidate.Status(rawValue: text) {
                filter.status = status
            } else {
                let allowed = MatchCandidate.Status.allCases.map(\.rawValue).joined(separator: ", ")
                errors.append(FieldError(field: "status", code: "invalid_value", detail: "status must be one of \(allowed)"))
            }
        } else if filter.jobID == nil {
            filter.status = .pending
        }
        guard errors.isEmpty else { throw Problem.validation(errors) }
        return filter
    }
}
