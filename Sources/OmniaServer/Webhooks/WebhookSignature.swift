import Crypto
import Foundation

/// Signatures per the Standard Webhooks spec: `v1,` + base64(HMAC-SHA256(secret, "id.timestamp.body")),
/// where the secret is `whsec_` + base64 of its random bytes.
public enum WebhookSignature {
    public static let secretPrefix = "whsec_"

    /// A new secret with 32 random bytes.
    static func generateSecret() -> String {
        let bytes = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        return secretPrefix + bytes.base64EncodedString()
    }

    public static func sign(secret: String, id: String, timestamp: Int64, body: Data) -> String {
        let key = SymmetricKey(data: Data(base64Encoded: String(secret.dropFirst(secretPrefix.count))) ?? Data(secret.utf8))
        var message = Data("\(id).\(timestamp).".utf8)
        message.append(body)
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: key)
        return "v1," + Data(mac).base64EncodedString()
    }

    /// What a receiver does: true when any `v1,` signature in `header` matches.
    public static func verify(secret: String, id: String, timestamp: Int64, body: Data, header: String) -> Bool {
        let expected = sign(secret: secret, id: id, timestamp: timestamp, body: body)
        return header.split(separator: " ").contains { $0 == expected }
    }
}
