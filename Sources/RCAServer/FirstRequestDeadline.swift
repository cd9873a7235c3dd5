import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// Closes a connection whose first request head has not fully arrived within
/// `timeout` of connecting.
///
/// Hummingbird's idle timeout starts watching a connection only once the
/// WebSocket upgrade check has seen a complete request head, so a client that
/// connects and then sends nothing, or sends its headers a few bytes at a time
/// (a slowloris attack), could hold a connection for ever. After the first
/// head, Hummingbird's own timeout covers stalls between requests and inside
/// bodies.
struct FirstRequestDeadline<Base: ServerChildChannel>: ServerChildChannel {
    let timeout: TimeAmount
    let base: Base

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Base.Value> {
        let timeout = timeout
        let base = base
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(HeadDeadlineHandler(timeout: timeout), position: .first)
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Base.Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Watches the bytes of a new connection for the blank line that ends the
/// first request head (CRLF CRLF, or LF LF from lenient clients), closing the
/// connection if it has not come by the deadline, and leaves the pipeline
/// once it has.
private final class HeadDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let timeout: TimeAmount
    private var deadline: Scheduled<Void>?
    /// The last two bytes seen, to find the blank line across reads.
    private var previous: (UInt8, UInt8) = (0, 0)

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        var headEnded = false
        for byte in buffer.readableBytesView where !headEnded {
            headEnded = byte == UInt8(ascii: "\n")
                && (previous.1 == UInt8(ascii: "\n") || (previous.1 == UInt8(ascii: "\r") && previous.0 == UInt8(ascii: "\n")))
            previous = (previous.1, byte)
        }
        context.fireChannelRead(data)
        if headEnded {
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }
}
