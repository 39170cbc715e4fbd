import Logging
import ServiceLifecycle

/// Runs queued campaign runs in the background of `omnia serve`, one at a time per server, queues
/// the runs scheduled campaigns are due for, schedules what triggers fire and carries out the
/// deliveries that are due. A run is claimed with a conditional write, so
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
                    try await CampaignTriggers(services: services).scan()
                    // A full batch of due deliveries: look again at once.
                    if try await CampaignDeliveries(services: services).deliverDue() == CampaignDeliveries.batch { continue }
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
