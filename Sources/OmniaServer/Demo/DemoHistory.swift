import Foundation
import OmniaCore
import SQLKit

/// The demo's history: ~2,000 customers and 50,000 sales over the last 18 months across the five
/// channels — returns in other channels than the sale, anonymous till receipts (some claimed later),
/// and the same people recorded twice by the store CRM and the web shop, merged when a later visit
/// links them. Everything is recorded through the real services, so the 360 figures, merges and
/// claims are exactly what the API would produce; the same `seed` makes the same history.
public enum DemoHistory {
    public static let defaultTransactions = 50_000

    /// Seeds the history unless the tenant already has transactions. Returns how many sales were recorded.
    @discardableResult
    public static func seed(_ services: AppServices, tenantID: String, transactions: Int = defaultTransactions, seed: UInt64 = 2026) async throws -> Int {
        guard transactions > 0 else { return 0 }
        let existing = try await services.database.read { sql in
            try await sql.raw("SELECT COUNT(*) AS n FROM transactions WHERE tenant_id = \(bind: tenantID)").first(decodingColumn: "n", as: Int.self) ?? 0
        }
        guard existing == 0 else { return 0 }
        let caller = try await services.database.read { sql in try await Caller.operatorCaller(tenantID: tenantID, on: sql) }
        var random = SplitMix64(seed: seed)
        let people = (0..<max(20, transactions / 25)).map { DemoPerson(number: $0, random: &random) }

        // Customers: everyone by e-mail from the web shop; the first 60 also by loyalty card alone,
        // as a separate store-CRM record, until a till links the two (a merge, below).
        try await inChunks(Array(people.indices), services: services) { sql, index in
            let person = people[index]
            let request = IdentifyRequest(identifiers: person.webIdentifiers, traits: person.traits, channelId: nil)
            _ = try await services.identity.identify(on: sql, tenantID: tenantID, policy: caller.identityPolicy, request, actor: .cli)
            if index < 60 {
                let crm = IdentifyRequest(identifiers: [IdentifierInput(kind: "loyalty_card", value: person.card)], traits: person.traits, channelId: nil)
                _ = try await services.identity.identify(on: sql, tenantID: tenantID, policy: caller.identityPolicy, crm, actor: .cli)
            }
        }

        let now = services.nowMilliseconds
        let span: Int64 = 548 * 86_400_000
        let start = now - span
        var plan: [RecordTransactionRequest] = []
        var claims: [(code: Int, channel: String, person: Int)] = []
        for number in 0..<transactions {
            let at = start + Int64(number) * (span / Int64(transactions)) + Int64(random.next() % 3_600_000)
            let channel = DemoCatalog.channel(&random)
            let isStore = channel.hasPrefix("store")
            let anonymous = isStore && random.next() % 100 < 15
            let buyer = Int(Double(people.count) * pow(random.unit(), 1.6))
            let lines = (0...(random.next() % 4)).map { _ in DemoCatalog.line(&random) }
            let total = lines.map { Int64($0.quantity ?? 1) * ($0.unitPrice ?? 0) }.reduce(0, +)
            let tender = isStore ? (random.next() % 3 == 0 ? "cash" : "card") : (random.next() % 4 == 0 ? "paypal" : "card")
            var customer: [String: String]?
            if !anonymous { customer = isStore && buyer < 60 ? ["loyalty_card": people[buyer].card] : ["email": people[buyer].email] }
            let externalID = "DEMO-\(number)"
            plan.append(RecordTransactionRequest(
                externalId: externalID, channel: channel, occurredAt: Timestamp.text(at), currency: "EUR", customer: customer, lines: lines,
                tenders: [TenderInput(kind: tender, amount: total)]))
            if anonymous && random.next() % 5 == 0 { claims.append((number, channel, buyer)) }
            if random.next() % 100 < 8 {
                let returnedAt = at + Int64(1 + random.next() % 20) * 86_400_000
                if returnedAt < now {
                    let returnChannel = channel == "web" && random.next() % 10 < 6 ? "store-madrid-01" : channel
                    plan.append(RecordTransactionRequest(
                        externalId: "DEMO-R\(number)", kind: "return", channel: returnChannel, occurredAt: Timestamp.text(returnedAt),
                        original: OriginalReference(channel: channel, externalId: externalID),
                        lines: [LineInput(quantity: 1, originalLine: 1, reason: DemoCatalog.reasons[Int(random.next() % 4)])]))
                }
            }
        }
        // The loyalty programme exists before the history, so every identified sale earns and every return takes back.
        try await DemoBenefits.loyaltyProgramme(services, caller: caller)
        // Record in time order, so each return comes after its sale.
        plan.sort { ($0.occurredAt ?? "") < ($1.occurredAt ?? "") }
        try await inChunks(plan, services: services, chunk: 500) { sql, request in
            _ = try await services.transactions.record(on: sql, caller: caller, request, actor: .cli, emitEvents: false)
        }
        try await inChunks(claims, services: services) { sql, claim in
            guard let code = try await sql.raw("""
                SELECT t.claim_code FROM transactions t JOIN channels c ON c.tenant_id = t.tenant_id AND c.id = t.channel_id
                WHERE t.tenant_id = \(bind: tenantID) AND c.code = \(bind: claim.channel) AND t.external_id = \(bind: "DEMO-\(claim.code)")
                """).first(decodingColumn: "claim_code", as: String?.self) ?? nil else { return }
            _ = try await services.transactions.claim(on: sql, caller: caller, ClaimReceiptRequest(
                claimCode: code, identifiers: [IdentifierInput(kind: "email", value: people[claim.person].email)]), actor: .cli)
        }
        // A till finally sees card and e-mail together: the store-CRM record merges into the web one.
        try await inChunks(Array(0..<min(60, people.count)), services: services) { sql, index in
            let linking = IdentifyRequest(identifiers: [IdentifierInput(kind: "email", value: people[index].email),
                                                        IdentifierInput(kind: "loyalty_card", value: people[index].card)])
            _ = try await services.identity.identify(on: sql, tenantID: tenantID, policy: caller.identityPolicy, linking, actor: .cli)
        }
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
        return transactions
    }

    /// Runs `body` for each element, `chunk` per database transaction.
    private static func inChunks<Element: Sendable>(_ elements: [Element], services: AppServices, chunk: Int = 200,
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

/// What the demo chain sells and where.
enum DemoCatalog {
    static let firstNames = ["Ana", "Lucía", "María", "Carmen", "Laura", "Marta", "Elena", "Paula", "Núria", "Sofía", "Javier", "David", "Jorge",
                             "Pablo", "Daniel", "Álvaro", "Sergio", "Marc", "Jordi", "Hugo", "Irene", "Alba", "Raúl", "Iker"]
    static let lastNames = ["García", "Martínez", "López", "Sánchez", "Pérez", "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz",
                            "Moreno", "Álvarez", "Romero", "Navarro", "Torres", "Puig", "Ferrer", "Vidal", "Castro"]
    static let cities = [("Madrid", "28013"), ("Madrid", "28004"), ("Barcelona", "08007"), ("Barcelona", "08012"), ("Valencia", "46002"),
                         ("Sevilla", "41001"), ("Bilbao", "48001"), ("Zaragoza", "50001")]
    static let streets = ["Calle Mayor", "Gran Vía", "Calle de Alcalá", "Passeig de Gràcia", "Carrer de Balmes", "Avenida de la Constitución",
                          "Calle Colón", "Calle Larios", "Rúa do Franco", "Calle San Vicente"]
    static let reasons = ["too small", "too large", "changed my mind", "faulty"]
    static let products: [(sku: String, name: String, category: String, price: Int64)] = [
        ("JMP-01", "Merino jumper", "women/knitwear", 5995), ("CRD-02", "Cotton cardigan", "women/knitwear", 4595),
        ("DRS-03", "Linen dress", "women/dresses", 6995), ("DRS-04", "Midi dress", "women/dresses", 5495),
        ("JNS-05", "Slim jeans", "women/denim", 3995), ("SHR-06", "Oxford shirt", "men/shirts", 3995),
        ("SHR-07", "Linen shirt", "men/shirts", 4495), ("CHN-08", "Chinos", "men/trousers", 4995),
        ("SNK-09", "Leather sneakers", "men/shoes", 8995), ("BOT-10", "Ankle boots", "women/shoes", 9995),
        ("BAG-11", "Tote bag", "accessories/bags", 2995), ("SCF-12", "Wool scarf", "accessories/scarves", 1995),
        ("TEE-13", "Basic tee", "kids/tops", 995), ("PJM-14", "Pyjamas", "kids/sleepwear", 1995),
    ]

    static func line(_ random: inout SplitMix64) -> LineInput {
        let product = products[Int(random.next() % UInt64(products.count))]
        return LineInput(sku: product.sku, name: product.name, category: product.category, quantity: Int64(1 + random.next() % 100 / 85),
                         unitPrice: product.price)
    }

    /// Madrid 30 %, Barcelona 25 %, web 25 %, app 15 %, call centre 5 %.
    static func channel(_ random: inout SplitMix64) -> String {
        switch random.next() % 100 {
        case 0..<30: "store-madrid-01"
        case 30..<55: "store-barcelona-01"
        case 55..<80: "web"
        case 80..<95: "app"
        default: "call-center"
        }
    }
}
