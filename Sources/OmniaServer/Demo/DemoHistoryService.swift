import Logging
import ServiceLifecycle

/// Seeds the demo's history in the background of `omnia serve --demo`, as a service of the server's
/// lifecycle: a shutdown stops it between chunks (each chunk commits whole), and the database is
/// closed only after it has stopped. Once done it waits for the shutdown like the other services,
/// so finishing does not end the server.
public struct DemoHistoryService: Service {
    let services: AppServices
    let tenantID: String
    let transactions: Int

    public init(services: AppServices, tenantID: String, transactions: Int) {
        self.services = services
        self.tenantID = tenantID
        self.transactions = transactions
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            do {
                let seeded = try await DemoHistory.seed(services, tenantID: tenantID, transactions: transactions)
                if seeded > 0 { services.logger.info("demo history seeded", metadata: ["transactions": .stringConvertible(seeded)]) }
            } catch is CancellationError {
                services.logger.info("demo history interrupted by shutdown; it is not resumed, start from a new database for the full history")
            } catch {
                services.logger.error("demo history failed", metadata: ["error": .string(String(describing: error))])
            }
        }
        try? await gracefulShutdown()
    }
}
