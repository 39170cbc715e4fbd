import Foundation
@testable import OmniaCore
import Testing

/// A reproducible generator of people and of a second system's messy copies of them.
struct SyntheticCustomers {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// SplitMix64: small, fast and the same on every platform.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    mutating func chance(_ probability: Double) -> Bool { Double(next() % 1_000_000) / 1_000_000 < probability }
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

    mutating func person(_ id: Int) -> RecordLinkage.Record {
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
    mutating func messyCopy(_ person: RecordLinkage.Record, id: String) -> RecordLinkage.Record {
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
}

@Suite("Record linkage")
struct RecordLinkageTests {
    @Test("crossed names still agree; missing values say nothing")
    func comparison() {
        let a = RecordLinkage.Record(id: "a", firstName: "María", lastName: "Muñoz", postcode: "28013")
        let b = RecordLinkage.Record(id: "b", firstName: "MUÑOZ", lastName: "maria", postcode: "28013")
        let levels = RecordLinkage.compare(a, b)
        #expect(levels[RecordLinkage.Field.firstName.rawValue] == .same)
        #expect(levels[RecordLinkage.Field.lastName.rawValue] == .same)
        #expect(levels[RecordLinkage.Field.postcode.rawValue] == .same)
        #expect(levels[RecordLinkage.Field.phone.rawValue] == .missing)
        #expect(RecordLinkage.codes("1970-03-12", "1970-03-21") == .similar)
        #expect(RecordLinkage.names("Gutiérrez", "Gutierez") == .similar)
        #expect(RecordLinkage.names("García", "Navarro") == .different)
    }

    /// A store CRM of 1,000 people and an e-commerce base holding messy copies of 600 of them plus
    /// 400 others; the weights are learned from the pairs alone, then checked against the truth.
    @Test("learned without labels, linkage reaches F1 ≥ 0.99 on typo-ridden synthetic data", arguments: [20261123, 7, 424242] as [UInt64])
    func syntheticPrecisionRecall(seed: UInt64) {
        var generator = SyntheticCustomers(seed: seed)
        let people = (0..<1_400).map { generator.person($0) }
        let crm = Array(people[0..<1_000])
        var shop: [RecordLinkage.Record] = []
        var truth = Set<String>()
        for (index, person) in people[400..<1_400].enumerated() {
            let id = "s\(index)"
            shop.append(generator.messyCopy(person, id: id))
            if let crmIndex = crm.firstIndex(where: { $0.id == person.id }) { truth.insert("\(crm[crmIndex].id)|\(id)") }
        }
        let (model, pairs) = RecordLinkage.link(crm, shop)
        let predicted = Set(pairs.filter { $0.probability >= 0.5 }.map { "\(crm[$0.left].id)|\(shop[$0.right].id)" })
        let truePositives = Double(predicted.intersection(truth).count)
        let precision = truePositives / Double(max(predicted.count, 1))
        let recall = truePositives / Double(truth.count)
        let f1 = 2 * precision * recall / (precision + recall)
        print("record linkage: \(pairs.count) candidate pairs, \(truth.count) true matches, precision \(precision), recall \(recall), F1 \(f1), match share \(model.matchShare)")
        #expect(truth.count == 600)
        #expect(f1 >= 0.99, "precision \(precision), recall \(recall)")
        // What EM learned makes sense: agreement on an email is far likelier among matches.
        let email = RecordLinkage.Field.email.rawValue, same = RecordLinkage.Level.same.rawValue
        #expect(model.m[email][same] > 10 * model.u[email][same])
    }
}
