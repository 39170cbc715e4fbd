import OmniaCore

/// A probabilistic matching run over a tenant's customers (`POST /v1/identity/match_jobs`,
/// `omnia identity match`). Counts and the learned model are filled in when it finishes.
struct MatchJob: Encodable, Sendable {
    let id: String
    let status: String
    let dryRun: Bool
    let threshold: Double
    let reviewThreshold: Double
    let records: Int64?
    let candidatePairs: Int64?
    let merged: Int64?
    let queuedForReview: Int64?
    let alreadyDecided: Int64?
    let model: JSONValue?
    let error: String?
    let actor: String
    let createdAt: StoredTime
    let startedAt: StoredTime?
    let finishedAt: StoredTime?

    enum Status: String, CaseIterable {
        case queued, running, succeeded, failed
    }

    init(_ row: MatchJobRow) {
        id = row.id
        status = row.status
        dryRun = row.dryRun != 0
        threshold = row.threshold
        reviewThreshold = row.reviewThreshold
        records = row.records
        candidatePairs = row.candidatePairs
        merged = row.merged
        queuedForReview = row.queuedForReview
        alreadyDecided = row.alreadyDecided
        model = row.model?.value
        error = row.error
        actor = row.actor
        createdAt = row.createdAt
        startedAt = row.startedAt
        finishedAt = row.finishedAt
    }

    func encode(to encoder: any Encoder) throws {
        // Every key always present (null until the job finishes), so clients can test one field.
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(status, forKey: .status)
        try container.encode(dryRun, forKey: .dryRun)
        try container.encode(threshold, forKey: .threshold)
        try container.encode(reviewThreshold, forKey: .reviewThreshold)
        try container.encode(records, forKey: .records)
        try container.encode(candidatePairs, forKey: .candidatePairs)
        try container.encode(merged, forKey: .merged)
        try container.encode(queuedForReview, forKey: .queuedForReview)
        try container.encode(alreadyDecided, forKey: .alreadyDecided)
        try container.encode(model, forKey: .model)
        try container.encode(error, forKey: .error)
        try container.encode(actor, forKey: .actor)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(finishedAt, forKey: .finishedAt)
    }

    enum CodingKeys: String, CodingKey {
        case id, status, dryRun, threshold, reviewThreshold, records, candidatePairs, merged, queuedForReview, alreadyDecided, model, error, actor
        case createdAt, startedAt, finishedAt
    }
}

/// `match_jobs` as stored.
struct MatchJobRow: Decodable, Sendable {
    let id: String
    let status: String
    let dryRun: Int64
    let threshold: Double
    let reviewThreshold: Double
    let records: Int64?
    let candidatePairs: Int64?
    let merged: Int64?
    let queuedForReview: Int64?
    let alreadyDecided: Int64?
    let model: StoredJSON?
    let error: String?
    let actor: String
    let requestId: String?
    let createdAt: StoredTime
    let startedAt: StoredTime?
    let finishedAt: StoredTime?
}

/// A pair of customers a job found likely to be one person, with the evidence: the posterior match
/// probability, the Fellegi–Sunter weight and how each field compared.
struct MatchCandidate: Codable, Sendable {
    let id: String
    let jobId: String
    let leftCustomerId: String
    let rightCustomerId: String
    let probability: Double
    let weight: Double
    let comparison: StoredJSON
    /// What the job's thresholds made of the pair: `merge` or `review`.
    let action: String
    let status: String
    let mergeId: String?
    let decidedBy: String?
    let decidedAt: StoredTime?
    let reason: String?
    let createdAt: StoredTime

    enum Action: String {
        case merge, review
    }

    /// `merged` by the job; `pending` review, then `accepted` (merged) or `rejected`; `proposed` by a dry run.
    enum Status: String, CaseIterable {
        case merged, pending, accepted, rejected, proposed
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(jobId, forKey: .jobId)
        try container.encode(leftCustomerId, forKey: .leftCustomerId)
        try container.encode(rightCustomerId, forKey: .rightCustomerId)
        try container.encode(probability, forKey: .probability)
        try container.encode(weight, forKey: .weight)
        try container.encode(comparison, forKey: .comparison)
        try container.encode(action, forKey: .action)
        try container.encode(status, forKey: .status)
        try container.encode(mergeId, forKey: .mergeId)
        try container.encode(decidedBy, forKey: .decidedBy)
        try container.encode(decidedAt, forKey: .decidedAt)
        try container.encode(reason, forKey: .reason)
        try container.encode(createdAt, forKey: .createdAt)
    }
}

/// `GET /v1/identity/candidates/{id}`: the candidate with both customers as they are now (after
/// merges since, each side shows the customer it resolves to).
struct MatchCandidateDetail: Encodable, Sendable {
    let candidate: MatchCandidate
    let customers: [Customer]

    func encode(to encoder: any Encoder) throws {
        try candidate.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(customers, forKey: .customers)
    }

    enum CodingKeys: String, CodingKey {
        case customers
    }
}
