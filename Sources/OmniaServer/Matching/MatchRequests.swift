import HTTPTypes
import OmniaCore

/// `POST /v1/identity/match_jobs`
struct CreateMatchJobRequest: RequestBody {
    /// Pairs at or above this probability are merged (default 0.99).
    var threshold: Double?
    /// Pairs at or above this and below `threshold` go to the review queue (default 0.5).
    var reviewThreshold: Double?
    /// Score and list the pairs, merge and queue nothing.
    var dryRun: Bool?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case threshold, reviewThreshold, dryRun
    }
}

/// `POST /v1/identity/candidates/{id}/accept` and `/reject`
struct DecideMatchCandidateRequest: RequestBody {
    var reason: String?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case reason
    }
}

/// A job's settings, checked.
struct MatchJobSettings: Sendable {
    static let defaultThreshold = 0.99
    static let defaultReviewThreshold = 0.5

    let threshold: Double
    let reviewThreshold: Double
    let dryRun: Bool

    /// Both thresholds are probabilities in (0, 1], the review threshold at most the merge threshold.
    init(_ request: CreateMatchJobRequest) throws {
        var validator = Validator()
        func probability(_ value: Double?, field: String, default fallback: Double) -> Double {
            guard let value else { return fallback }
            guard value.isFinite, value > 0, value <= 1 else {
                validator.fail(field, "out_of_range", "\(field) must be a probability greater than 0 and at most 1")
                return fallback
            }
            return value
        }
        threshold = probability(request.threshold, field: "threshold", default: Self.defaultThreshold)
        reviewThreshold = probability(request.reviewThreshold, field: "review_threshold",
                                      default: min(Self.defaultReviewThreshold, threshold))
        if validator.isValid, reviewThreshold > threshold {
            validator.fail("review_threshold", "above_threshold", "review_threshold must not be above threshold (\(threshold))")
        }
        dryRun = request.dryRun ?? false
        guard validator.isValid else { throw Problem.validation(validator.errors) }
    }
}

/// Errors of matching, each with its problem code.
enum MatchError: ProblemConvertible {
    /// The tenant already has a queued or running job.
    case jobActive
    /// Accept or reject of a candidate that is not waiting for review.
    case candidateNotPending(id: String, status: String)

    var problem: Problem {
        switch self {
        case .jobActive:
            Problem(.conflict, code: "match_job_active", detail: "a match job of this tenant is already queued or running; wait for it to finish")
        case .candidateNotPending(let id, let status):
            Problem(.conflict, code: "candidate_not_pending", detail: "candidate \(id) is \(status), not pending review",
                    extensions: ["candidate_status": .string(status)])
        }
    }
}
