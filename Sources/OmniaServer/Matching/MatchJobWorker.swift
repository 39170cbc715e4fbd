import Logging
import ServiceLifecycle

/// Runs queued match jobs in the background of `omnia serve`, one at a time per server; a job is
/// claimed with a conditional write, so with several servers each job runs on one of them.
struct MatchJobWorker: Service {
    let services: AppServices
    static let interval = Duration.seconds(2)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    // After a job, look again at once: another may be waiting.
                    if try await MatchJobs(services: services).runNext() != nil { continue }
                } catch {
                    services.logger.error("match job runner failed", metadata: ["error": .string(String(describing: error))])
                }
                try? await Task.sleep(for: Self.interval)
            }
        }
    }
}
