import Logging
import ServiceLifecycle

/// Runs queued campaign runs in the background of `omnia serve`, one at a time per server, and
/// queues the runs scheduled campaigns are due for. A run is claimed with a conditional write, so
/// with several servers each run has one runner.
struct CampaignWorker: Service {
    let services: AppServices
    static let interval = Duration.seconds(1)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let runs = CampaignRuns(services: services)
                    try await runs.queueScheduled()
                    // After a run, look again at once: another may be waiting.
                    if try await runs.runNext() != nil { continue }
                } catch {
                    services.logger.error("campaign runner failed", metadata: ["error": .string(String(describing: error))])
                }
                try? await Task.sleep(for: Self.interval)
            }
        }
    }
}
