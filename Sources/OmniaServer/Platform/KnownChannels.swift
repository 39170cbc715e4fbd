import Synchronization

/// The channels this process has read, by tenant and by id or code. A channel is never changed or
/// deleted once created, so what was read stays true on every server sharing the database: a sale
/// names its channel without a statement once its till's channel is known. A reference not found
/// is not remembered (the channel may be created a moment later).
///
/// Filled only from reads of committed channels: the sale and journey paths never create a
/// channel, so they never see one a rolled-back transaction wrote.
final class KnownChannels: Sendable {
    private struct Key: Hashable {
        let tenantID: String
        let reference: String
    }

    /// Far more than the channels of every tenant a server sees; past it the memory starts over.
    static let capacity = 10_000
    private let channels = Mutex<[Key: Channel]>([:])

    init() {}

    /// The channel `reference` (its id or code) names, read once from the database and then from memory.
    func channel(_ reference: String, tenantID: String, read: () async throws -> Channel?) async throws -> Channel? {
        let key = Key(tenantID: tenantID, reference: reference)
        if let known = channels.withLock({ $0[key] }) { return known }
        guard let channel = try await read() else { return nil }
        channels.withLock { channels in
            if channels.count >= Self.capacity { channels.removeAll(keepingCapacity: true) }
            channels[key] = channel
        }
        return channel
    }
}
