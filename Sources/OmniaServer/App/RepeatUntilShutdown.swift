import Logging
import ServiceLifecycle

/// The loop of a background worker: runs `round` every `interval` until a graceful shutdown. A
/// round that fails is logged as `failure` and the next one runs as usual.
func repeatUntilShutdown(every interval: Duration, logger: Logger, failure: String,
                         _ round: @escaping @Sendable () async throws -> Void) async {
    await cancelWhenGracefulShutdown {
        while !Task.isCancelled {
            do {
                try await round()
            } catch {
                logger.error("\(failure)", metadata: ["error": .string(String(describing: error))])
            }
            try? await Task.sleep(for: interval)
        }
    }
}
