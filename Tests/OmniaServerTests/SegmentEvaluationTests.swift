import OmniaCore
@testable import OmniaServer
import Testing

/// A refresh's diff of a segment's members, and its split of the profiles between tasks.
@Suite("Segment evaluation")
struct SegmentEvaluationTests {
    @Test("the change from the present members to the wanted ones is who entered and who left, both ascending")
    func change() {
        let change = SegmentEvaluation.change(from: ["a", "c", "d", "f"], to: ["b", "c", "e", "f", "g"])
        #expect(change.entered == ["b", "e", "g"])
        #expect(change.exited == ["a", "d"])
        #expect(SegmentEvaluation.change(from: [], to: ["a"]) == (["a"], []))
        #expect(SegmentEvaluation.change(from: ["a", "b"], to: []) == ([], ["a", "b"]))
        #expect(SegmentEvaluation.change(from: ["a"], to: ["a"]) == ([], []))
    }

    @Test("profiles split between tasks give the members one pass gives, ascending, whatever order the profiles came in")
    func split() async throws {
        let program = try RuleProgram("customer.orders >= 2", schema: ProfileSchema.segment(attributes: []))
        let evaluation = SegmentEvaluation(programs: [program, try RuleProgram("true", schema: ProfileSchema.segment(attributes: []))],
                                           attributes: ProfileAttributes.Compiled(definitions: [], programs: [], record: RuleRecordType("attributes", [])))
        // 12,000 profiles in a collation's order rather than bytes' ("B" sorts before "a" by bytes).
        let profiles = (0..<12_000).map { index -> LiveProfile in
            var profile = LiveProfile(id: index % 2 == 0 ? "cus_a\(index)" : "cus_B\(index)", currency: Currency(code: "EUR")!)
            profile.orders = Int64(index % 3)
            return profile
        }
        let single = evaluation.members(of: profiles, on: 20_000)
        let split = await evaluation.members(of: profiles, on: 20_000, tasks: 2)
        #expect(split == single)
        #expect(split[0].count == 4_000 && split[1].count == 12_000)
        #expect(split[1] == profiles.map(\.id).sorted())
    }
}
