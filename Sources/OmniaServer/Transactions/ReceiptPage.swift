import Foundation
import OmniaCore

/// The printable, mobile-friendly HTML page of a receipt: self-contained (inline style, inline
/// SVG), so it prints and opens offline from a mail. Every text from a request is escaped.
enum ReceiptPage {
    static func html(_ receipt: Receipt) -> String {
        let transaction = receipt.transaction
        let currency = Currency(code: transaction.currency)
        func money(_ amount: Int64) -> String { format(amount, currency: currency) }
        let title = transaction.kind == TransactionKind.return.rawValue ? "Return receipt" : "Receipt"
        var rows = ""
        for line in transaction.lines {
            let detail = line.quantity > 1 || line.discount > 0
                ? "<div class=\"muted\">\(line.quantity) × \(money(line.unitPrice))\(line.discount > 0 ? " − \(money(line.discount))" : "")</div>" : ""
            rows += "<tr><td>\(escape(line.name ?? line.sku))\(detail)</td><td class=\"amount\">\(money(line.total))</td></tr>\n"
        }
        for discount in transaction.discounts {
            rows += "<tr><td>\(escape(discount.description ?? discount.code ?? "Discount"))</td><td class=\"amount\">−\(money(discount.amount))</td></tr>\n"
        }
        var taxes = ""
        for tax in transaction.taxes {
            let rate = tax.rate.map { " \(percent(basisPoints: $0))" } ?? ""
            taxes += "<tr class=\"muted\"><td>\(escape(tax.name))\(rate)\(transaction.taxesIncluded ? " (included)" : "")</td><td class=\"amount\">\(money(tax.amount))</td></tr>\n"
        }
        var tenders = ""
        for tender in transaction.tenders {
            tenders += "<tr class=\"muted\"><td>\(escape(tender.kind.replacingOccurrences(of: "_", with: " ")))</td><td class=\"amount\">\(money(tender.amount))</td></tr>\n"
        }
        let place = receipt.store.map { store in
            "<p>\(escape(store.name))<br>\([store.addressLine1, [store.postcode, store.city].compactMap { $0 }.joined(separator: " ")].compactMap { $0 }.filter { !$0.isEmpty }.map(escape).joined(separator: "<br>"))</p>"
        } ?? "<p>\(escape(receipt.channel.name))</p>"
        let claim = transaction.claimCode.map { code in
            """
            <section class="claim"><h2>Add this purchase to your account</h2>\(receipt.claimQrSvg ?? "")
            <p>Claim code <strong>\(escape(code))</strong></p></section>
            """
        } ?? ""
        let policy = receipt.returnPolicy.map { "<p class=\"muted\">\(escape($0))</p>" } ?? ""
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(title) \(escape(transaction.externalId)) — \(escape(receipt.tenantName))</title>
            <style>
            body{font-family:system-ui,-apple-system,sans-serif;max-width:28rem;margin:0 auto;padding:1rem;color:#111}
            h1{font-size:1.3rem;margin:.2rem 0}h2{font-size:1rem}table{width:100%;border-collapse:collapse}
            td{padding:.3rem 0;vertical-align:top}.amount{text-align:right;white-space:nowrap}.muted{color:#555;font-size:.9rem}
            .total td{border-top:2px solid #111;font-weight:bold;font-size:1.1rem}.claim{text-align:center;border:1px dashed #999;padding:1rem;margin-top:1rem}
            .claim svg{width:9rem;height:9rem}@media print{body{max-width:none}}
            </style></head>
            <body><header><h1>\(escape(receipt.tenantName))</h1>\(place)
            <p class="muted">\(title) \(escape(transaction.externalId)) · \(transaction.occurredAt.text) UTC</p></header>
            <table>
            \(rows)<tr class="total"><td>\(transaction.kind == TransactionKind.return.rawValue ? "Refund" : "Total")</td><td class="amount">\(money(transaction.total))</td></tr>
            \(taxes)\(tenders)</table>
            \(claim)\(policy)
            </body></html>
            """
    }

    /// `3995` EUR → `39.95 EUR`: the currency's own minor-unit digits, integer arithmetic only.
    static func format(_ amount: Int64, currency: Currency?) -> String {
        let digits = currency?.minorUnitDigits ?? 2
        let code = currency?.code ?? ""
        guard digits > 0 else { return "\(amount) \(code)" }
        var scale: Int64 = 1
        for _ in 0..<digits { scale *= 10 }
        let sign = amount < 0 ? "-" : ""
        let magnitude = amount.magnitude
        let fraction = String(magnitude % UInt64(scale))
        return "\(sign)\(magnitude / UInt64(scale)).\(String(repeating: "0", count: digits - fraction.count))\(fraction) \(code)"
    }

    /// `2100` → `21%`, `550` → `5.5%`, `1` → `0.01%`.
    static func percent(basisPoints: Int64) -> String {
        let whole = basisPoints / 100, fraction = basisPoints % 100
        guard fraction != 0 else { return "\(whole)%" }
        let digits = fraction % 10 == 0 ? "\(fraction / 10)" : (fraction < 10 ? "0\(fraction)" : "\(fraction)")
        return "\(whole).\(digits)%"
    }

    static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}

extension StoredTime {
    /// `2026-03-01 10:15` — how a receipt shows a time.
    var text: String { String(Timestamp.text(milliseconds).prefix(16)).replacingOccurrences(of: "T", with: " ") }
}
