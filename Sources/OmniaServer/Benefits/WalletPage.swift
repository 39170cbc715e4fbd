import Crypto
import Foundation
import OmniaCore
import SQLKit

/// A shopper's own wallet, reached without a login by an unguessable link the retailer puts behind
/// its app or in a mail: `wlt_<tenant>_<secret>` (`TenantScopedToken`, 160 random bits). Only the
/// token's hash is stored, so a copy of the database opens no wallet. The page is self-contained,
/// mobile-friendly HTML (or JSON), every text escaped. A link opens the wallet for `lifetimeDays`
/// after it was made; `DELETE /v1/customers/{id}/wallet_links` ends every link of a customer at
/// once (a phone lost, a mail forwarded), and the retailer makes a new one.
enum WalletLink {
    static let prefix = "wlt_"
    static let lifetimeDays = 90
    static let lifetimeMilliseconds = Int64(lifetimeDays) * 86_400_000

    static func generate(tenantID: String) -> String { TenantScopedToken.generate(prefix: prefix, tenantID: tenantID) }

    static func hash(_ token: String) -> String { SHA256.hash(data: Data(token.utf8)).hexString }

    static func path(_ token: String) -> String { "/v1/wallets/\(token)" }

    /// Makes a new link to the wallet of `customerID` (resolved to its survivor when merged).
    static func create(on sql: any SQLDatabase, services: AppServices, tenantID: String, customerID requested: String, actor: Actor) async throws -> Created {
        let customer = try await CustomerStore(tenantID: tenantID).requiredResolvedRow(on: sql, id: requested)
        let token = generate(tenantID: tenantID)
        let now = services.nowMilliseconds
        try await sql.raw("""
            INSERT INTO wallet_links (tenant_id, token_hash, customer_id, created_at)
            VALUES (\(bind: tenantID), \(bind: hash(token)), \(bind: customer.id), \(bind: now))
            """).run()
        try await services.audit.record(on: sql, tenantID: tenantID, actor: actor.id, action: "wallet_link.create", targetType: "customer",
                                        targetID: customer.id, requestID: actor.requestID)
        return Created(token: token, path: path(token), customerId: customer.id, createdAt: StoredTime(milliseconds: now),
                       expiresAt: StoredTime(milliseconds: now + lifetimeMilliseconds))
    }

    /// Ends every link to the wallet of `customerID`'s merged cluster, including links made for a
    /// customer merged into it since (they open the survivor's wallet). Returns how many ended.
    static func revokeAll(on sql: any SQLDatabase, services: AppServices, tenantID: String, customerID requested: String, actor: Actor) async throws -> Revoked {
        let customer = try await CustomerStore(tenantID: tenantID).requiredResolvedRow(on: sql, id: requested)
        let revoked = try await sql.raw("""
            DELETE FROM wallet_links WHERE tenant_id = \(bind: tenantID)
              AND customer_id IN (SELECT id FROM customers WHERE tenant_id = \(bind: tenantID) AND canonical_id = \(bind: customer.id))
            RETURNING token_hash
            """).all().count
        try await services.audit.record(on: sql, tenantID: tenantID, actor: actor.id, action: "wallet_link.revoke", targetType: "customer",
                                        targetID: customer.id, details: ["revoked": .integer(Int64(revoked))], requestID: actor.requestID)
        return Revoked(customerId: customer.id, revoked: revoked)
    }

    /// The tenant and customer a presented token opens (the customer's survivor if merged since),
    /// or nil: unknown, revoked and expired links alike.
    static func open(on sql: any SQLDatabase, token: String, now: Int64) async throws -> (tenantID: String, customerID: String)? {
        guard let tenantID = TenantScopedToken.tenantID(of: token, prefix: prefix),
            let customerID = try await sql.raw("""
                SELECT c.canonical_id FROM wallet_links w JOIN customers c ON c.tenant_id = w.tenant_id AND c.id = w.customer_id
                WHERE w.tenant_id = \(bind: tenantID) AND w.token_hash = \(bind: hash(token)) AND w.created_at > \(bind: now - lifetimeMilliseconds)
                """).first(decodingColumn: "canonical_id", as: String.self)
        else { return nil }
        return (tenantID, customerID)
    }

    /// `POST /v1/customers/{id}/wallet_link`: the token is shown once.
    struct Created: Codable, Sendable {
        let token: String
        let path: String
        let customerId: String
        let createdAt: StoredTime
        /// When the link stops opening the wallet (`lifetimeDays` after it was made).
        let expiresAt: StoredTime
    }

    /// `DELETE /v1/customers/{id}/wallet_links`.
    struct Revoked: Codable, Sendable {
        let customerId: String
        let revoked: Int
    }
}

enum WalletPage {
    static func html(_ wallet: Wallet, tenantName: String) -> String {
        func money(_ amount: Int64, _ currency: String) -> String { ReceiptPage.format(amount, currency: Currency(code: currency)) }
        let escape = ReceiptPage.escape
        var cards = ""
        for card in wallet.giftCards where card.status == "active" || card.status == "inactive" {
            let expiry = card.expiresAt.map { " · valid until \(escape(String($0.text.prefix(10))))" } ?? ""
            cards += "<tr><td>Gift card ···· \(escape(card.codeLast4))<div class=\"muted\">\(escape(card.status))\(expiry)</div></td>"
                + "<td class=\"amount\">\(money(card.available, card.currency))</td></tr>\n"
        }
        var credit = ""
        for account in wallet.storeCredit where account.balance > 0 {
            credit += "<tr><td>Store credit</td><td class=\"amount\">\(money(account.available, account.currency))</td></tr>\n"
        }
        var points = ""
        for membership in wallet.points {
            let next = membership.nextExpiries.first.map { " · \($0.points) expire \(escape(String($0.expiresAt.text.prefix(10))))" } ?? ""
            points += "<tr><td>\(membership.available) points<div class=\"muted\">\(escape(membership.tier.name))\(next)</div></td>"
                + "<td class=\"amount\">\(money(membership.availableValue, membership.currency))</td></tr>\n"
        }
        var coupons = ""
        for coupon in wallet.coupons {
            let until = coupon.endsAt.map { "<div class=\"muted\">until \(escape(String($0.text.prefix(10))))</div>" } ?? ""
            coupons += "<li><strong>\(escape(coupon.code))</strong> — \(escape(coupon.campaignName))\(until)</li>\n"
        }
        let empty = cards.isEmpty && credit.isEmpty && points.isEmpty && coupons.isEmpty ? "<p class=\"muted\">Nothing here yet.</p>" : ""
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="robots" content="noindex"><title>Your wallet — \(escape(tenantName))</title>
            <style>
            body{font-family:system-ui,-apple-system,sans-serif;max-width:28rem;margin:0 auto;padding:1rem;color:#111}
            h1{font-size:1.3rem;margin:.2rem 0}h2{font-size:1rem;margin-top:1.2rem}table{width:100%;border-collapse:collapse}
            td{padding:.4rem 0;vertical-align:top;border-bottom:1px solid #eee}.amount{text-align:right;white-space:nowrap;font-weight:bold}
            .muted{color:#555;font-size:.9rem}ul{padding-left:1.1rem}li{margin:.4rem 0}
            </style></head>
            <body><header><h1>\(escape(tenantName))</h1><p class="muted">Your wallet: use it in any store, online or in the app.</p></header>
            \(cards.isEmpty && credit.isEmpty && points.isEmpty ? "" : "<h2>Balances</h2><table>\n\(cards)\(credit)\(points)</table>")
            \(coupons.isEmpty ? "" : "<h2>Your coupons</h2><ul>\n\(coupons)</ul>")
            \(empty)
            </body></html>
            """
    }
}
