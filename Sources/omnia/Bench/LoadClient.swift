import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// One keep-alive HTTP/1.1 connection driven entirely on its event loop: when a response ends it
/// records the latency and sends the next request at once. Like wrk, it writes requests as
/// ready-made bytes and reads responses by scanning bytes for the status and `Content-Length`, so
/// the load generator spends as little as possible of the CPU the server under test also needs
/// (with NIO's HTTP codec and a request built per send it took about twice as much as wrk).
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
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
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

    /// Sends requests until `deadline`; returns each latency in nanoseconds, when each response
    /// ended (uptime nanoseconds, for `--timeline`) and the number of responses whose status was
    /// none of `expectedStatuses`. Without `schedule` each request is
    /// sent as soon as the previous one is answered (a closed loop: the server sets the pace). With
    /// it, one request is due every `interval` nanoseconds from `first` (an open loop at a fixed
    /// rate, as wrk2 drives), and a latency counts from when the request was due, not from when a
    /// late answer let it go out: a server that falls behind shows it in the percentiles instead of
    /// slowing its own clients down.
    func drive(until deadline: UInt64, expectedStatuses: [Int], schedule: (first: UInt64, interval: UInt64)? = nil,
               next: @escaping @Sendable () -> LoadRequest) async throws -> LoadOutcome {
        let promise = channel.eventLoop.makePromise(of: LoadOutcome.self)
        channel.eventLoop.execute { [handler, channel] in
            handler.startLoop(on: channel, deadline: deadline, expectedStatuses: expectedStatuses, schedule: schedule, next: next, done: promise)
        }
        return try await promise.futureResult.get()
    }

    func close() async {
        try? await channel.close()
    }

    /// Everything below runs on the connection's event loop only.
    private final class ResponseHandler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        var single: EventLoopPromise<(Int, ByteBuffer)>?
        private var loop: (deadline: UInt64, expected: [Int], next: @Sendable () -> LoadRequest, done: EventLoopPromise<LoadOutcome>)?
        /// When the request in flight was due (open loop) or sent (closed loop): what its latency counts from.
        private var sentAt: UInt64 = 0
        private var interval: UInt64?
        private var latencies: [UInt64] = []
        private var completions: [UInt64] = []
        private var errors = 0
        private var received: ByteBuffer?

        func write(_ request: LoadRequest, on channel: any Channel, dueAt: UInt64? = nil) {
            sentAt = dueAt ?? DispatchTime.now().uptimeNanoseconds
            channel.writeAndFlush(request.bytes, promise: nil)
        }

        func startLoop(on channel: any Channel, deadline: UInt64, expectedStatuses: [Int], schedule: (first: UInt64, interval: UInt64)?,
                       next: @escaping @Sendable () -> LoadRequest, done: EventLoopPromise<LoadOutcome>) {
            latencies = []
            latencies.reserveCapacity(200_000)
            completions = []
            completions.reserveCapacity(200_000)
            errors = 0
            loop = (deadline, expectedStatuses, next, done)
            interval = schedule?.interval
            if let schedule { send(dueAt: schedule.first, on: channel) } else { write(next(), on: channel) }
        }

        /// Sends the next request when it is due: now if it is late, else at its time.
        private func send(dueAt due: UInt64, on channel: any Channel) {
            guard let loop else { return }
            if due <= DispatchTime.now().uptimeNanoseconds {
                write(loop.next(), on: channel, dueAt: due)
            } else {
                channel.eventLoop.scheduleTask(deadline: .uptimeNanoseconds(due)) { [self] in
                    guard let loop = self.loop else { return }
                    self.write(loop.next(), on: channel, dueAt: due)
                }
            }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var part = unwrapInboundIn(data)
            if var pending = received {
                pending.writeBuffer(&part)
                part = pending
            }
            do {
                while let response = try HTTPResponseScanner.take(from: &part) {
                    finished(status: response.status, body: response.body, channel: context.channel)
                }
            } catch {
                errorCaught(context: context, error: error)
                return
            }
            received = part.readableBytes > 0 ? part : nil
        }

        private func finished(status: Int, body: ByteBuffer, channel: any Channel) {
            let now = DispatchTime.now().uptimeNanoseconds
            if let single {
                self.single = nil
                single.succeed((status, body))
            } else if let loop {
                latencies.append(now - sentAt)
                completions.append(now)
                if !loop.expected.contains(status) { errors += 1 }
                if now < loop.deadline {
                    if let interval { send(dueAt: sentAt + interval, on: channel) } else { write(loop.next(), on: channel) }
                } else {
                    self.loop = nil
                    loop.done.succeed(LoadOutcome(latencies: latencies, completions: completions, errors: errors))
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

/// Just enough HTTP/1.1 response parsing for the load client, on bytes: the status code and a body
/// framed by `Content-Length` (every response the scenarios ask for has one).
/// What one connection measured: each latency, when each response ended, and how many answers were unexpected.
struct LoadOutcome: Sendable {
    let latencies: [UInt64]
    let completions: [UInt64]
    let errors: Int
}

enum HTTPResponseScanner {
    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    private struct Head {
        let length: Int
        let status: Int
        let bodyLength: Int
    }

    /// Removes one complete response from the front of `buffer`, or returns nil until one has arrived.
    static func take(from buffer: inout ByteBuffer) throws -> (status: Int, body: ByteBuffer)? {
        guard let head = try buffer.withUnsafeReadableBytes(scanHead) else { return nil }
        guard buffer.readableBytes >= head.length + head.bodyLength else { return nil }
        buffer.moveReaderIndex(forwardBy: head.length)
        return (head.status, buffer.readSlice(length: head.bodyLength)!)
    }

    private static func scanHead(_ bytes: UnsafeRawBufferPointer) throws -> Head? {
        let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
        var end = 0
        while true {
            guard end + 3 < bytes.count else { return nil }
            if bytes[end] == cr && bytes[end + 1] == lf && bytes[end + 2] == cr && bytes[end + 3] == lf { break }
            end += 1
        }
        // "HTTP/1.1 200 OK"
        guard end >= 12, bytes[0] == UInt8(ascii: "H"), bytes[8] == UInt8(ascii: " "),
            (9...11).allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[$0]) })
        else { throw Malformed(description: "not an HTTP/1.1 status line") }
        let status = (9...11).reduce(0) { $0 * 10 + Int(bytes[$1] - UInt8(ascii: "0")) }
        var bodyLength: Int?
        var line = 0
        while line < end {
            while line < end && bytes[line] != lf { line += 1 }
            line += 1
            if let value = valueStart(of: "content-length:", at: line, in: bytes) {
                var index = value
                var length = 0
                while index < end && bytes[index] == UInt8(ascii: " ") { index += 1 }
                while index < end, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                    length = length * 10 + Int(bytes[index] - UInt8(ascii: "0"))
                    index += 1
                }
                bodyLength = length
            } else if valueStart(of: "transfer-encoding:", at: line, in: bytes) != nil {
                throw Malformed(description: "a chunked response; the load client reads Content-Length bodies only")
            }
        }
        return Head(length: end + 4, status: status, bodyLength: bodyLength ?? 0)
    }

    /// Where the value starts if the line at `start` is the header `name` (lower-case, with colon).
    private static func valueStart(of name: StaticString, at start: Int, in bytes: UnsafeRawBufferPointer) -> Int? {
        guard start + name.utf8CodeUnitCount <= bytes.count else { return nil }
        let pattern = UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        for offset in 0..<pattern.count {
            let byte = bytes[start + offset]
            let lowered = (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
            guard lowered == pattern[offset] else { return nil }
        }
        return start + pattern.count
    }
}

/// One request, encoded once: a scenario whose requests do not vary sends the same bytes each time.
struct LoadRequest: Sendable {
    let bytes: ByteBuffer

    init(method: HTTPMethod, path: String, headers: [(String, String)], body: [UInt8]?) {
        var text = "\(method.rawValue) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if let body { text += "Content-Length: \(body.count)\r\n" }
        text += "\r\n"
        var bytes = ByteBuffer(string: text)
        if let body { bytes.writeBytes(body) }
        self.bytes = bytes
    }
}
