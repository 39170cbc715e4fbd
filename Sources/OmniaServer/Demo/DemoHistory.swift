import Foundation
import OmniaCore
import SQLKit

/// The demo's history: 18 months of a fashion and lifestyle chain's trade across its five
/// channels, about 50,000 sales from some 6,000 shoppers — most loyal to stores or to the web
/// shop and app, a fifth buying in both; busy at Christmas, Black Friday and the sales, quiet in
/// February; items that go together bought together; socks, cosmetics and coffee bought again
/// when they run out; shoppers who come often or rarely, and who stop coming (`DemoHistory.Plan`).
/// Around the sales, what a web shop, an app and a store check-in track: products looked at
/// online before a store purchase, store visits before an online order, carts that become orders,
/// and carts left behind — some bought days later in another channel (`DemoHistory.Journeys`).
/// And what a chain's data holds besides: returns in other channels than the sale, anonymous till
/// receipts (some claimed later), and the same people recorded twice by the store CRM and the web
/// shop, merged when a later visit links them.
///
/// Everything is recorded through the real services, so the 360 figures, merges, claims, carts
/// and analytics are exactly what the API would produce. The same `seed` and end day make the same history.
public enum DemoHistory {
    public static let defaultTransactions = 50_000

    /// Seeds the history unless the tenant already has transactions. Returns how many sales were
    /// recorded. The history ends at `endingAt` (milliseconds), by default at the start of today (UTC).
    @discardableResult
    public static func seed(_ services: AppServices, tenantID: String, transactions: Int = defaultTransactions, seed: UInt64 = 2026,
                            endingAt: Int64? = nil) async throws -> Int {
        guard transactions > 0 else { return 0 }
        let existing = try await services.database.read { sql in
            try await sql.raw("SELECT COUNT(*) AS n FROM transactions WHERE tenant_id = \(bind: tenantID)").first(decodingColumn: "n", as: Int.self) ?? 0
        }
        guard existing == 0 else { return 0 }
        let caller = try await services.database.read { sql in try await Caller.operatorCaller(tenantID: tenantID, on: sql) }
        let end = endingAt ?? services.nowMilliseconds / Plan.dayLength * Plan.dayLength
        let plan = Plan(transactions: transactions, seed: seed, endingAt: end)
        let people = plan.people
        var random = SplitMix64(seed: seed &+ 4)

        // Customers: everyone by e-mail from the web shop; the first 60 also by loyalty card alone,
        // as a separate store-CRM record, until a till links the two (a merge, below).
        try await inChunks(Array(people.indices), services: services) { sql, index in
            let person = people[index]
            let request = IdentifyRequest(identifiers: person.webIdentifiers, traits: person.traits, channelId: nil)
            _ = try await services.identity.identify(on: sql, tenantID: tenantID, policy: caller.identityPolicy, request, actor: .cli)
            if index < Plan.cardHolders {
                let crm = IdentifyRequest(identifiers: [IdentifierInput(kind: "loyalty_card", value: person.card)], traits: person.traits, channelId: nil)
                _ = try await services.identity.identify(on: sql, tenantID: tenantID, policy: caller.identityPolicy, crm, actor: .cli)
            }
        }

        var requests: [(at: Int64, order: Int, request: RecordTransactionRequest)] = []
        var claims: [(number: Int, channel: String, person: Int)] = []
        for (number, sale) in plan.sales.enumerated() {
            let store = DemoCatalog.isStore(sale.channel)
            let lines = sale.lines.map { line in
                let item = plan.shelf.items[line.item]
                return LineInput(sku: item.sku, name: item.name, category: plan.shelf.category(of: line.item).path, quantity: line.quantity,
                                 unitPrice: item.price)
            }
            let total = sale.lines.reduce(Int64(0)) { $0 + $1.quantity * plan.shelf.items[$1.item].price }
            let tender = store ? (number % 3 == 0 ? "cash" : "card") : sale.channel == DemoCatalog.callCenter ? "card" : (number % 4 == 0 ? "paypal" : "card")
            var customer: [String: String]?
            if let shopper = sale.shopper, !sale.anonymous {
                // The CRM's shoppers show their loyalty card at a till.
                customer = store && shopper < Plan.cardHolders ? ["loyalty_card": people[shopper].card] : ["email": people[shopper].email]
            }
            requests.append((sale.at, requests.count, RecordTransactionRequest(
                externalId: Plan.externalID(ofSale: number), channel: sale.channel, occurredAt: Timestamp.text(sale.at), currency: "EUR",
                customer: customer, lines: lines, tenders: [TenderInput(kind: tender, amount: total)])))
            if sale.claimed, let shopper = sale.shopper { claims.append((number, sale.channel, shopper)) }
        }
        for returned in plan.returns {
            let sale = plan.sales[returned.sale]
            requests.append((returned.at, requests.count, RecordTransactionRequest(
                externalId: "DEMO-R\(returned.sale)", kind: "return", channel: returned.channel, occurredAt: Timestamp.text(returned.at),
                original: OriginalReference(channel: sale.channel, externalId: Plan.externalID(ofSale: returned.sale)),
                lines: [LineInput(quantity: 1, originalLine: returned.line, reason: returned.reason)])))
        }
        // The loyalty programme exists before the history, so every identified sale earns and every return takes back.
        try await DemoBenefits.loyaltyProgramme(services, caller: caller)
        // Record in time order, so each return comes after its sale.
        requests.sort { $0.at != $1.at ? $0.at < $1.at : $0.order < $1.order }
        try await inChunks(requests.map(\.request), services: services, chunk: 500) { sql, request in
            _ = try await services.transactions.record(on: sql, caller: caller, request, actor: .cli, emitEvents: false)
        }
        try await inChunks(claims, services: services) { sql, claim in
            guard let code = try await sql.raw("""
                SELECT t.claim_code FROM transactions t JOIN channels c ON c.tenant_id = t.tenant_id AND c.id = t.channel_id
                WHERE t.tenant_id = \(bind: tenantID) AND c.code = \(bind: claim.channel) AND t.external_id = \(bind: Plan.externalID(ofSale: claim.number))
                """).first(decodingColumn: "claim_code", as: String?.self) ?? nil else { return }
            _ = try await services.transactions.claim(on: sql, caller: caller, ClaimReceiptRequest(
                claimCode: code, identifiers: [IdentifierInput(kind: "email", value: people[claim.person].email)]), actor: .cli)
        }
        // A till finally sees card and e-mail together: the store-CRM record merges into the web one.
        try await inChunks(Array(0..<min(Plan.cardHolders, people.count)), services: services) { sql, index in
            let linking = IdentifyRequest(identifiers: [IdentifierInput(kind: "email", value: people[index].email),
                                                        IdentifierInput(kind: "loyalty_card", value: people[index].card)])
            _ = try await services.identity.identify(on: sql, tenantID: tenantID, policy: caller.identityPolicy, linking, actor: .cli)
        }
        // Views, visits and carts around the sales, with the carts left behind abandoned as the worker would have.
        _ = try await Journeys(plan: plan, seed: seed).record(services, caller: caller)
        // The call centre keyed 30 shoppers in again, with a slip in the surname, two digits of the
        // phone swapped and another e-mail: no identifier links them, so only matching finds them. A
        // match job is queued for the server's worker; its pairs show in GET /v1/identity/candidates.
        // Half of them were keyed without birth date and address: those are less certain, and wait
        // in the review queue instead of being merged.
        let phones = Set(people.map(\.phone))
        let retyped = stride(from: 5, to: people.count, by: max(1, people.count / 30)).prefix(30).filter { !phones.contains(DemoPerson.slipped(people[$0].phone)) }
        try await inChunks(Array(retyped.enumerated()), services: services) { sql, entry in
            let (order, index) = entry
            let person = people[index]
            let complete = order % 2 == 0
            let request = IdentifyRequest(
                identifiers: [IdentifierInput(kind: "email", value: "cc.\(person.card)@mail.example"), IdentifierInput(kind: "phone", value: DemoPerson.slipped(person.phone))],
                traits: ProfileInput(firstName: person.firstName, lastName: DemoPerson.slipped(person.lastName), birthDate: complete ? person.birthDate : nil,
                                     language: "es", addressLine1: complete ? person.address : nil, city: person.city, postcode: person.postcode,
                                     country: "ES"),
                channelId: nil)
            _ = try await services.identity.identify(on: sql, tenantID: tenantID, policy: caller.identityPolicy, request, actor: .cli)
        }
        do {
            _ = try await services.database.transaction { sql in
                try await MatchJobs(services: services).create(on: sql, tenantID: tenantID, CreateMatchJobRequest(), actor: .cli)
            }
        } catch MatchError.jobActive {
            // A job already queued or running will see these customers too.
        }
        _ = try await DemoBenefits.seed(services, tenantID: tenantID, caller: caller, random: &random)
        try await DemoPromotions.seed(services, caller: caller)
        try await DemoCampaigns.seed(services, caller: caller)
        return plan.sales.count
    }

    /// Runs `body` for each element, `chunk` per database transaction.
    static func inChunks<Element: Sendable>(_ elements: [Element], services: AppServices, chunk: Int = 200,
                                            _ body: @escaping @Sendable (any SQLDatabase, Element) async throws -> Void) async throws {
        var start = 0
        while start < elements.count {
            try Task.checkCancellation()
            let slice = Array(elements[start..<min(elements.count, start + chunk)])
            try await services.database.transaction { sql in
                for element in slice { try await body(sql, element) }
            }
            start += chunk
        }
    }
}

/// A demo shopper: a name, an e-mail, a phone, a loyalty card and where they live.
struct DemoPerson: Sendable {
    let firstName: String
    let lastName: String
    let email: String
    let phone: String
    let card: String
    let city: String
    let postcode: String
    /// What the chain's CRM knows beyond the name, so matching can tell apart two people who share
    /// a common name and a postcode.
    let birthDate: String
    let address: String

    init(number: Int, random: inout SplitMix64) {
        firstName = DemoCatalog.firstNames[Int(random.next() % UInt64(DemoCatalog.firstNames.count))]
        lastName = DemoCatalog.lastNames[Int(random.next() % UInt64(DemoCatalog.lastNames.count))]
        let folded = "\(firstName).\(lastName)".folding(options: [.diacriticInsensitive, .caseInsensitive], locale: nil).lowercased()
        // A random part as real addresses have: two namesakes' addresses must differ by more than a
        // slip, or matching reads them as one person who mistyped.
        email = "\(folded).\(String(1_679_616 + random.next() % 58_786_560, radix: 36))\(number)@example.com"
        phone = "+346\(String(format: "%08d", 10_000_000 + number * 37 % 89_999_999))"
        card = String(40_000_000 + number)
        let (city, postcode) = DemoCatalog.cities[Int(random.next() % UInt64(DemoCatalog.cities.count))]
        self.city = city
        self.postcode = postcode
        birthDate = String(format: "%04d-%02d-%02d", 1950 + Int(random.next() % 55), 1 + Int(random.next() % 12), 1 + Int(random.next() % 28))
        address = "\(DemoCatalog.streets[Int(random.next() % UInt64(DemoCatalog.streets.count))]) \(1 + random.next() % 180)"
    }

    /// The text with its two characters before the last swapped: a typing slip.
    static func slipped(_ text: String) -> String {
        var characters = Array(text)
        guard characters.count > 3 else { return text }
        characters.swapAt(characters.count - 3, characters.count - 2)
        return String(characters)
    }

    var webIdentifiers: [IdentifierInput] { [IdentifierInput(kind: "email", value: email), IdentifierInput(kind: "phone", value: phone)] }

    var traits: ProfileInput {
        ProfileInput(firstName: firstName, lastName: lastName, birthDate: birthDate, language: "es", addressLine1: address, city: city,
                     postcode: postcode, country: "ES")
    }
}
