@testable import OmniaServer
import Synchronization
import Testing

@Suite("Known channels")
struct KnownChannelsTests {
    static func channel(_ id: String) -> Channel {
        Channel(id: id, code: "till", name: "Till", kind: "store", locationId: nil, createdAt: StoredTime(milliseconds: 0))
    }

    @Test("a channel is read once per tenant and reference; a reference not found is read again")
    func readsOnce() async throws {
        let known = KnownChannels()
        let reads = Mutex(0)
        func lookup(_ reference: String, tenant: String, found: Channel?) async throws -> Channel? {
            try await known.channel(reference, tenantID: tenant) {
                reads.withLock { $0 += 1 }
                return found
            }
        }
        #expect(try await lookup("till", tenant: "ten_a", found: Self.channel("chn_a"))?.id == "chn_a")
        #expect(try await lookup("till", tenant: "ten_a", found: nil)?.id == "chn_a", "from memory, not read again")
        #expect(reads.withLock { $0 } == 1)
        #expect(try await lookup("till", tenant: "ten_b", found: Self.channel("chn_b"))?.id == "chn_b", "another tenant's till is its own")
        #expect(try await lookup("web", tenant: "ten_a", found: nil) == nil)
        #expect(try await lookup("web", tenant: "ten_a", found: Self.channel("chn_web"))?.id == "chn_web", "created since: found now")
        #expect(reads.withLock { $0 } == 4)
    }
}
