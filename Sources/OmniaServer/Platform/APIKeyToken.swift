import Crypto
import Foundation
import OmniaCore

/// The secret a client presents: `omk_<tenant>_<secret>`. The tenant part routes the lookup to one
/// tenant's rows (so even the key index leads with `tenant_id`); the 160-bit secret part is what
/// makes it unguessable. Only a SHA-256 hash of the whole token is stored.
struct APIKeyToken: Sendable {
    static let prefix = "omk_"
    let tenantID: String
    let text: String

    /// A fresh token for `tenantID` (`ten_…`).
    static func generate(tenantID: String) -> APIKeyToken {
        var secret: [UInt8] = []
        for _ in 0..<4 {
            // 40 bits from each draw of the system CSPRNG, 160 bits in all.
            CrockfordBase32.append(UInt64.random(in: .min ... .max) >> 24, bitCount: 40, to: &secret)
        }
        let tenantSuffix = tenantID.dropFirst(IDPrefix.tenant.rawValue.count + 1)
        return APIKeyToken(tenantID: tenantID, text: "\(prefix)\(tenantSuffix)_\(String(decoding: secret, as: UTF8.self))")
    }

    /// Parses a presented token; nil when it cannot be one of ours.
    init?(parsing text: String) {
        guard text.hasPrefix(Self.prefix), text.utf8.count == Self.prefix.utf8.count + 26 + 1 + 32 else { return nil }
        let parts = text.dropFirst(Self.prefix.count).split(separator: "_")
        guard parts.count == 2, parts[0].count == 26, parts[1].count == 32,
            CrockfordBase32.isValid(parts[0]), CrockfordBase32.isValid(parts[1])
        else { return nil }
        self.tenantID = "\(IDPrefix.tenant.rawValue)_\(parts[0])"
        self.text = text
    }

    private init(tenantID: String, text: String) {
        self.tenantID = tenantID
        self.text = text
    }

    /// Hex SHA-256 of the token, the only form stored.
    var hash: String { Self.hash(text) }

    static func hash(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).hexString
    }

    /// What a listing shows so a person can tell keys apart: the start and the last four characters.
    var hint: String { "\(text.prefix(8))…\(text.suffix(4))" }
}

extension Sequence<UInt8> {
    /// Lower-case hexadecimal, without `String(format:)` (slow, and on the path of every request).
    var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = []
        for byte in self {
            bytes.append(digits[Int(byte >> 4)])
            bytes.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
