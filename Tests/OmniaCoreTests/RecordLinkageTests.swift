import Foundation
@testable import OmniaCore
import Testing

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
        let (crm, shop, truth) = generator.twoSystems(crm: 1_000, shop: 1_000, overlap: 600)
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

@Suite("Record linkage within one set")
struct RecordLinkageDeduplicationTests {
    /// What a match job does: both systems' records loaded as one tenant's customers and
    /// deduplicated together, so pairs within each system are candidates too.
    @Test("deduplicating both systems together reaches F1 ≥ 0.99", arguments: [20261123, 99] as [UInt64])
    func deduplication(seed: UInt64) {
        var generator = SyntheticCustomers(seed: seed)
        let (crm, shop, truth) = generator.twoSystems(crm: 1_000, shop: 1_000, overlap: 600)
        let records = crm + shop
        let (_, pairs) = RecordLinkage.link(records)
        let predicted = Set(pairs.filter { $0.probability >= 0.5 }.map { pair in
            let ids = [records[pair.left].id, records[pair.right].id].sorted { $0.hasPrefix("p") && !$1.hasPrefix("p") || ($0.hasPrefix("p") == $1.hasPrefix("p") && $0 < $1) }
            return "\(ids[0])|\(ids[1])"
        })
        let truePositives = Double(predicted.intersection(truth).count)
        let precision = truePositives / Double(max(predicted.count, 1))
        let recall = truePositives / Double(truth.count)
        let f1 = 2 * precision * recall / (precision + recall)
        print("deduplication: \(pairs.count) candidate pairs, precision \(precision), recall \(recall), F1 \(f1)")
        #expect(f1 >= 0.99, "precision \(precision), recall \(recall)")
    }
}
