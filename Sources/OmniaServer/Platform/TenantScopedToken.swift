import OmniaCore

/// The shape of Omnia's bearer secrets, `<prefix><tenant>_<secret>` (API keys, receipt links): the
/// tenant part routes a lookup to one tenant's rows, so even a secret's index leads with
/// `tenant_id`; the 160-bit secret part, from the system CSPRNG, is what makes it unguessable.
enum TenantScopedToken {
    static func generate(prefix: String, tenantID: String) -> String {
        var secret: [UInt8] = []
        for _ in 0..<4 {
            // 40 bits from each draw, 160 bits in all.
            CrockfordBase32.append(UInt64.random(in: .min ... .max) >> 24, bitCount: 40, to: &secret)
        }
        let tenantSuffix = tenantID.dropFirst(IDPrefix.tenant.rawValue.count + 1)
        return "\(prefix)\(tenantSuffix)_\(String(decoding: secret, as: UTF8.self))"
    }

    /// The tenant of a presented token, or nil when it cannot be a token with `prefix`.
    static func tenantID(of text: String, prefix: String) -> String? {
        guard text.hasPrefix(prefix), text.utf8.count == prefix.utf8.count + 26 + 1 + 32 else { return nil }
        let parts = text.dropFirst(prefix.count).split(separator: "_")
        guard parts.count == 2, parts[0].count == 26, parts[1].count == 32, CrockfordBase32.isValid(parts[0]), CrockfordBase32.isValid(parts[1])
        else { return nil }
        return "\(IDPrefix.tenant.rawValue)_\(parts[0])"
    }
}
