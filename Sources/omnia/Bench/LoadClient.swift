import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// One keep-alive HTTP/1.1 connection driven entirely on its event loop: when a response ends it
/// records the latency and sends the next request at once, like wrk, so the load generator spends
/// as little as possible of the CPU the server under test also needs.
final class LoadConnection: @unchecked Sendable {
    private let channel: any Channel
    private let handler: ResponseHandler

    private init(channel: any Channel, handler: ResponseHandler) {
        self.channel = channel
        self.handler = handler
    }

    static func connect(host: String, port: Int, group: any EventLoopGroup) async throws -> LoadConnection {
        let handler = ResponseHandler()
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(host: host, port: port).get()
        return LoadConnection(channel: channel, handler: handler)
    }

    /// Sends one request and waits for its response (set-up and probes, not measurement).
    func send(method: HTTPMethod, path: String, headers: [(String, String)], body: [UInt8]?) async throws -> (status: Int, body: ByteBuffer) {
        let promise = channel.eventLoop.makePromise(of: (Int, ByteBuffer).self)
        let request = LoadRequest(method: method, path: path, headers: headers, body: body)
        channel.eventLoop.execute { [handler, channel] in
            handler.single = promise
            handler.write(request, on: channel)
        }
        return try await promise.futureResult.get()
    }

    /// Sends requests back to back until `deadline`; returns each latency in nanoseconds and the
    /// number of responses whose status was not `expectedStatus`.
    func drive(until deadline: UInt64, expectedStatus: Int, next: @escaping @Sendable () -> LoadRequest) async throws -> (latencies: [UInt64], errors: Int) {
        let promise = channel.eventLoop.makePromise(of: ([UInt64], Int).self)
        channel.eventLoop.execute { [handler, channel] in
            handler.startLoop(on: channel, deadline: deadline, expectedStatus: expectedStatus, next: next, done: promise)
        }
        return try await promise.futureResult.get()
    }

    func close() async {
        try? await channel.close()
    }

    /// Everything below runs on the connection's event loop only.
    private final class ResponseHandler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPClientResponsePart
        var single: EventLoopPromise<(Int, ByteBuffer)>?
        private var loop: (deadline: UInt64, expected: Int, next: @Sendable () -> LoadRequest, done: EventLoopPromise<([UInt64], Int)>)?
        private var latencies: [UInt64] = []
        private var errors = 0
        private var sentAt: UInt64 = 0
        private var status = 0
        private var body = ByteBuffer()
        private weak var channel: (any Channel)?

        func write(_ request: LoadRequest, on channel: any Channel) {
            var head = HTTPRequestHead(version: .http1_1, method: request.method, uri: request.path)
            head.headers.add(name: "Host", value: "127.0.0.1")
            for (name, value) in request.headers { head.headers.add(name: name, value: value) }
            if let bytes = request.body { head.headers.add(name: "Content-Length", value: String(bytes.count)) }
            sentAt = DispatchTime.now().uptimeNanoseconds
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            if let bytes = request.body { channel.write(HTTPClientRequestPart.body(.byteBuffer(channel.allocator.buffer(bytes: bytes))), promise: nil) }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }

        func startLoop(on channel: any Channel, deadline: UInt64, expectedStatus: Int, next: @escaping @Sendable () -> LoadRequest,
                       done: EventLoopPromise<([UInt64], Int)>) {
            self.channel = channel
            latencies = []
            latencies.reserveCapacity(200_000)
            errors = 0
            loop = (deadline, expectedStatus, next, done)
            write(next(), on: channel)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                status = Int(head.status.code)
                body.clear()
            case .body(var part):
                body.writeBuffer(&part)
            case .end:
                let now = DispatchTime.now().uptimeNanoseconds
                if let single {
                    self.single = nil
                    single.succeed((status, body))
                } else if let loop {
                    latencies.append(now - sentAt)
                    if status != loop.expected { errors += 1 }
                    if now < loop.deadline {
                        write(loop.next(), on: context.channel)
                    } else {
                        self.loop = nil
                        loop.done.succeed((latencies, errors))
                    }
                }
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            fail(error)
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            fail(ChannelError.ioOnClosedChannel)
        }

        private func fail(_ error: any Error) {
            single?.fail(error)
            single = nil
            loop?.done.fail(error)
            loop = nil
        }
    }
}

/// One request of a scenario.
struct LoadRequest: Sendable {
    let method: HTTPMethod
    let path: String
    let headers: [(String, String)]
    let body: [UInt8]?
}
