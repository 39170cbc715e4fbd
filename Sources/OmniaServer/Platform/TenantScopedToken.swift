import OmniaCore

/// The shape of Omnia's bearer secrets, `<prefix><tenant>_<secret>` (API keys, receipt links): the
/// tenant part routes a lookup to one tenant's rows, so even a secret's index leads with
/// `tenant_id`; the 160-bit secret part, from the system CSPRNG, is what makes it unguessable.
enum TenantScopedToken {
    /// A new token. With `issuedAt` (Unix milliseconds) the secret starts with that time in 10
    /// characters, as a ULID does, so tokens issued one after another sort one after another and
    /// their unique index grows at one end instead of at a random place per token — a random
    /// insert dirties a page of the index for almost every row written. The 160 random bits
    /// follow unchanged; the time tells nothing the holder of a receipt does not see on it.
    static func generate(prefix: String, tenantID: String, issuedAt: Int64? = nil) -> String {
        var secret: [UInt8] = []
        if let issuedAt { CrockfordBase32.append(UInt64(max(issuedAt, 0)), bitCount: 50, to: &secret) }
        for _ in 0..<4 {
            // 40 bits from each draw, 160 bits in all.
            CrockfordBase32.append(UInt64.random(in: .min ... .max) >> 24, bitCount: 40, to: &secret)
        }
        let tenantSuffix = tenantID.dropFirst(IDPrefix.tenant.rawValue.count + 1)
        return "\(prefix)\(tenantSuffix)_\(String(decoding: secret, as: UTF8.self))"
    }

    /// The tenant of a presented token, or nil when it cannot be a token with `prefix` — with a
    /// time-ordered secret when `timeOrdered`, or (as tokens issued before were) without.
    static func tenantID(of text: String, prefix: String, timeOrdered: Bool = false) -> String? {
        let secretLengths = timeOrdered ? [32, 42] : [32]
        guard text.hasPrefix(prefix), secretLengths.contains(text.utf8.count - prefix.utf8.count - 26 - 1) else { return nil }
        let parts = text.dropFirst(prefix.count).split(separator: "_")
        guard parts.count == 2, parts[0].count == 26, secretLengths.contains(parts[1].count), CrockfordBase32.isValid(parts[0]),
              CrockfordBase32.isValid(parts[1])
        else { return nil }
        return "\(IDPrefix.tenant.rawValue)_\(parts[0])"
    }
}
