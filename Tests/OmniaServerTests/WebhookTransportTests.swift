import Foundation
import NIOCore
import NIOPosix
@testable import OmniaServer
import Testing

@Suite("Webhook transport")
struct WebhookTransportTests {
    /// Accepts connections and never answers, like an endpoint that hangs.
    private final class Silent: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
    }

    @Test("a cancelled delivery ends by its own timeout instead of deadlocking the worker")
    func cancelledDeliveryEnds() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in channel.pipeline.addHandler(Silent()) }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(server.localAddress?.port)
        let transport = URLSessionWebhookTransport(timeout: 1)
        let started = ContinuousClock.now
        let delivery = Task {
            try await transport.post(url: URL(string: "http://127.0.0.1:\(port)/hook")!, headers: ["Content-Type": "application/json"], body: Data("{}".utf8))
        }
        try await Task.sleep(for: .milliseconds(200))
        delivery.cancel()
        await #expect(throws: (any Error).self) { try await delivery.value }
        // The 1 s timeout ends it; the bound is loose because a loaded 2-core machine running the
        // whole suite has taken 12 s (URLSession's own scheduling), while a deadlock never ends.
        #expect(ContinuousClock.now - started < .seconds(30))
        try await server.close()
    }
}
