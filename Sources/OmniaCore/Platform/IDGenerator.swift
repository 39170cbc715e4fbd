import Foundation
import Synchronization

/// The prefixes of Omnia's public identifiers; the prefix tells a reader what an ID names.
public enum IDPrefix: String, Sendable, CaseIterable {
    case tenant = "ten"
    case channel = "chn"
    case location = "loc"
    case apiKey = "key"
    case event = "evt"
    case webhookEndpoint = "whe"
    case webhookDelivery = "whd"
    case auditEntry = "aud"
    case request = "req"
    case customer = "cus"
    case customerMerge = "mrg"
    case transaction = "txn"
    case journeyEvent = "jev"
    case matchJob = "mjb"
    case matchCandidate = "mca"
    case ledgerAccount = "acc"
    case ledgerTransfer = "trf"
    case giftCard = "gc"
    case checkoutHold = "hld"
    case storeCredit = "scr"
    case couponCampaign = "cpc"
    case redemptionException = "rex"
    case loyaltyProgramme = "lpg"
    /// A member's points account in a programme: the ledger account points are earned onto and spent from.
    case loyaltyAccount = "pts"
    case loyaltyLot = "lot"
    case loyaltyAdjustment = "adj"
    case promotion = "prm"
    /// One promotion's part of a committed sale: what it took off which lines, kept for returns and reporting.
    case promotionRedemption = "prd"
    case campaign = "cmp"
    case campaignRun = "crn"
    /// A triggered campaign's reach of one customer, scheduled for when its delay ends.
    case campaignDelivery = "cdl"
    case segment = "seg"
}

/// Makes prefixed, time-sortable IDs: `prefix_` + 10 characters of milliseconds since the epoch
/// + 16 characters (80 bits) of randomness, in Crockford base-32 — the ULID layout in lower case.
/// Within one millisecond the random part counts up (ULID's monotonic mode), so IDs made by one
/// process always sort in creation order, which cursor pagination relies on.
public struct IDGenerator: Sendable {
    private final class State: Sendable {
        let last = Mutex<(milliseconds: UInt64, high: UInt64, low: UInt64)>((0, 0, 0))
    }

    private let now: @Sendable () -> Date
    private let random: @Sendable () -> UInt64
    private let state = State()

    /// `now` and `random` are injected so tests can make IDs deterministic.
    public init(now: @escaping @Sendable () -> Date = Date.init, random: @escaping @Sendable () -> UInt64 = { UInt64.random(in: .min ... .max) }) {
        self.now = now
        self.random = random
    }

    public func make(_ prefix: IDPrefix) -> String {
        let wallClock = UInt64(max(0, now().timeIntervalSince1970 * 1000))
        let (milliseconds, high, low) = state.last.withLock { last in
            if wallClock > last.milliseconds {
                last = (wallClock, random() >> 24, random() >> 24)
            } else {
                // Same millisecond (or the clock stepped back): count up from the previous ID.
                last.low += 1
                if last.low >> 40 != 0 {
                    last.low = 0
                    last.high = (last.high + 1) & 0xff_ffff_ffff
                }
            }
            return last
        }
        var bytes: [UInt8] = Array(prefix.rawValue.utf8)
        bytes.append(UInt8(ascii: "_"))
        CrockfordBase32.append(milliseconds, bitCount: 50, to: &bytes)
        CrockfordBase32.append(high, bitCount: 40, to: &bytes)
        CrockfordBase32.append(low, bitCount: 40, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether `id` has the shape of an ID with `prefix` (cheap syntactic check before a lookup).
    public static func isWellFormed(_ id: String, prefix: IDPrefix) -> Bool {
        let parts = id.split(separator: "_", maxSplits: 1)
        return parts.count == 2 && parts[0] == prefix.rawValue && parts[1].count == 26 && CrockfordBase32.isValid(parts[1])
    }
}
