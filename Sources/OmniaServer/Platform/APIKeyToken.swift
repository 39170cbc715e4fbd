import Crypto
import Foundation
import OmniaCore

/// The secret a client presents: `omk_<tenant>_<secret>` (see `TenantScopedToken`). Only a SHA-256
/// hash of the whole token is stored.
struct APIKeyToken: Sendable {
    static let prefix = "omk_"
    let tenantID: String
    let text: String

    /// A fresh token for `tenantID` (`ten_…`).
    static func generate(tenantID: String) -> APIKeyToken {
        APIKeyToken(tenantID: tenantID, text: TenantScopedToken.generate(prefix: prefix, tenantID: tenantID))
    }

    /// Parses a presented token; nil when it cannot be one of ours.
    init?(parsing text: String) {
        guard let tenantID = TenantScopedToken.tenantID(of: text, prefix: Self.prefix) else { return nil }
        self.tenantID = tenantID
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
