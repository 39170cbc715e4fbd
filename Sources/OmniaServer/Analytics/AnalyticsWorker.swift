import Logging
import ServiceLifecycle

/// Scores RFM and fits lifetime value for every tenant with sales once a day, in the background of `omnia serve`.
struct AnalyticsWorker: Service {
    let services: AppServices
    static let interval = Duration.seconds(60)
    static let every: Int64 = 86_400_000

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let jobs = AnalyticsJobs(services: services)
                    for tenantID in try await jobs.due(kind: RFMService.kind, olderThan: Self.every) {
                        _ = try await RFMService(services: services).run(tenantID: tenantID)
                    }
                    for tenantID in try await jobs.due(kind: LifetimeValueService.kind, olderThan: Self.every) {
                        // Too little history or a fit that does not settle is recorded on the model row and tried again tomorrow.
                        _ = try? await LifetimeValueService(services: services).run(tenantID: tenantID, LifetimeValueRunRequest())
                    }
                    for tenantID in try await jobs.due(kind: RecommendationModelStore.kind, olderThan: Self.every) {
                        // A failed rebuild is recorded on the model row (the previous model kept) and tried again tomorrow.
                        _ = try? await RecommendationModelStore(services: services).rebuild(tenantID: tenantID)
                    }
                } catch {
                    services.logger.error("analytics job failed", metadata: ["error": .string(String(describing: error))])
                }
                try? await Task.sleep(for: Self.interval)
            }
        }
    }
}
