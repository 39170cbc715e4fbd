import Foundation

/// A reproducible generator of people and of a second system's messy copies of them.
public struct SyntheticCustomers: Sendable {
    private var random: SplitMix64

    public init(seed: UInt64) { random = SplitMix64(seed: seed) }

    mutating func below(_ bound: Int) -> Int { random.below(bound) }
    mutating func chance(_ probability: Double) -> Bool { Double(random.next() % 1_000_000) / 1_000_000 < probability }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    static let firstNames = ["María", "Carmen", "Ana", "Laura", "Lucía", "Marta", "Elena", "Sara", "Paula", "Isabel", "Cristina", "Raquel",
                             "Antonio", "José", "Manuel", "Francisco", "David", "Juan", "Javier", "Daniel", "Carlos", "Miguel", "Pablo", "Sergio",
                             "Jorge", "Alberto", "Luis", "Álvaro", "Diego", "Adrián", "Nuria", "Pilar", "Rosa", "Beatriz", "Silvia", "Irene"]
    static let lastNames = ["García", "Rodríguez", "González", "Fernández", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Martín",
                            "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Muñoz", "Álvarez", "Romero", "Alonso", "Gutiérrez",
                            "Navarro", "Torres", "Domínguez", "Vázquez", "Ramos", "Gil", "Ramírez", "Serrano", "Blanco", "Molina",
                            "Castro", "Ortiz", "Rubio", "Marín", "Sanz", "Iglesias", "Núñez", "Medina", "Garrido", "Cortés"]
    static let streets = ["Calle Mayor", "Gran Vía", "Calle de Alcalá", "Paseo de Gracia", "Calle Serrano", "Avenida Diagonal",
                          "Calle Princesa", "Rambla de Catalunya", "Calle Colón", "Avenida de América", "Calle Goya", "Calle Velázquez"]

    public mutating func person(_ id: Int) -> RecordLinkage.Record {
        let first = pick(Self.firstNames), last = pick(Self.lastNames) + " " + pick(Self.lastNames)
        let birth = "19\(50 + below(50))-\(String(format: "%02d", 1 + below(12)))-\(String(format: "%02d", 1 + below(28)))"
        let postcode = String(format: "%05d", 1000 + below(50_000))
        let phone = "+346\(String(format: "%08d", below(100_000_000)))"
        let email = "\(StringSimilarity.matchKey(first).prefix(3))\(StringSimilarity.matchKey(last).replacingOccurrences(of: " ", with: ""))\(below(100))@example.com"
        return .init(id: "p\(id)", firstName: first, lastName: last, birthDate: birth, address: "\(pick(Self.streets)) \(1 + below(200))",
                     postcode: postcode, phone: phone, email: email)
    }

    /// A typo: a character dropped, doubled, replaced or swapped with its neighbour.
    mutating func typo(_ text: String) -> String {
        var characters = Array(text)
        guard characters.count > 3 else { return text }
        let at = 1 + below(characters.count - 2)
        switch below(4) {
        case 0: characters.remove(at: at)
        case 1: characters.insert(characters[at], at: at)
        case 2: characters[at] = pick(Array("aeiourstnl"))
        default: characters.swapAt(at, at + 1)
        }
        return String(characters)
    }

    /// How the same person looks in another system: typos, swapped names, missing values, another email.
    public mutating func messyCopy(_ person: RecordLinkage.Record, id: String) -> RecordLinkage.Record {
        var copy = person
        copy.id = id
        if chance(0.15) { copy.firstName = copy.firstName.map { typo($0) } }
        if chance(0.15) { copy.lastName = copy.lastName.map { typo($0) } }
        if chance(0.05) { swap(&copy.firstName, &copy.lastName) }
        if chance(0.1) { copy.lastName = copy.lastName?.uppercased() }
        if chance(0.2) { copy.birthDate = nil }
        if chance(0.05) { copy.birthDate = copy.birthDate.map { typo($0) } }
        if chance(0.3) { copy.address = nil } else if chance(0.15) { copy.address = copy.address.map { typo($0) } }
        if chance(0.1) { copy.postcode = nil }
        if chance(0.3) { copy.phone = nil }
        if chance(0.4) { copy.email = nil } else if chance(0.2) { copy.email = "other\(below(1000))@mail.example" }
        return copy
    }

    /// Two systems' records of overlapping people, and which pairs are truly one person: `crm` people
    /// in the first; in the second, messy copies of the last `overlap` of them followed by
    /// `shop - overlap` others. Truth pairs are `crm id|shop id`.
    public mutating func twoSystems(crm crmCount: Int, shop shopCount: Int, overlap: Int)
        -> (crm: [RecordLinkage.Record], shop: [RecordLinkage.Record], truth: Set<String>) {
        let people = (0..<(crmCount + shopCount - overlap)).map { person($0) }
        let crm = Array(people[0..<crmCount])
        var shop: [RecordLinkage.Record] = []
        var truth = Set<String>()
        for (index, person) in people[(crmCount - overlap)...].enumerated() {
            let id = "s\(index)"
            shop.append(messyCopy(person, id: id))
            if index < overlap { truth.insert("\(person.id)|\(id)") }
        }
        return (crm, shop, truth)
    }
}
