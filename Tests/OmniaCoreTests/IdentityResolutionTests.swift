@testable import OmniaCore
import Testing

@Suite("Identity resolution and policy")
struct IdentityResolutionTests {
    let policy = IdentityPolicy.defaults(country: "ES")
    let email = NormalizedIdentifier(kind: "email", value: "ana@example.com")
    let card = NormalizedIdentifier(kind: "loyalty_card", value: "4000123")
    let device = NormalizedIdentifier(kind: "device_id", value: "dev-1")

    @Test("unknown identifiers create a customer; known ones attach the rest to their customer")
    func createAndAttach() {
        #expect(IdentityResolution.resolve([email, card, email], matches: [], policy: policy) == .create(identifiers: [email, card]))
        let matched = [IdentifierMatch(identifier: email, holderID: "cus_b", canonicalID: "cus_a")]
        #expect(IdentityResolution.resolve([email, device], matches: matched, policy: policy) == .attach(customerID: "cus_a", newIdentifiers: [device]))
    }

    @Test("identifiers of two customers merge on strong kinds, the oldest surviving")
    func mergeOnStrong() {
        let matches = [IdentifierMatch(identifier: email, holderID: "cus_2", canonicalID: "cus_2"),
                       IdentifierMatch(identifier: card, holderID: "cus_1", canonicalID: "cus_1")]
        #expect(IdentityResolution.resolve([email, card, device], matches: matches, policy: policy)
            == .merge(survivorID: "cus_1", mergedIDs: ["cus_2"], linkingIdentifiers: [email, card], newIdentifiers: [device]))
    }

    @Test("a customer reached only through a device is never merged")
    func weakForbidden() {
        let matches = [IdentifierMatch(identifier: email, holderID: "cus_1", canonicalID: "cus_1"),
                       IdentifierMatch(identifier: device, holderID: "cus_2", canonicalID: "cus_2")]
        #expect(IdentityResolution.resolve([email, device], matches: matches, policy: policy)
            == .forbidden(customerIDs: ["cus_1", "cus_2"], weakIdentifiers: [device]))
        var strict = policy
        strict.mergeOn = ["account_id"]
        let twoEmails = [IdentifierMatch(identifier: email, holderID: "cus_1", canonicalID: "cus_1"),
                         IdentifierMatch(identifier: card, holderID: "cus_2", canonicalID: "cus_2")]
        if case .forbidden = IdentityResolution.resolve([email, card], matches: twoEmails, policy: strict) {} else {
            Issue.record("a policy that merges only on account_id refuses an email/card merge")
        }
    }

    @Test("policies refuse weak, unknown, duplicate and built-in custom kinds; custom kinds must be declared")
    func policyValidation() {
        #expect(policy.problems().isEmpty)
        #expect(policy.mergeOn == ["email", "loyalty_card", "account_id"])
        var bad = policy
        bad.mergeOn = ["device_id", "crm_id"]
        bad.customKinds = ["email", "Bad", "club", "club"]
        let codes = bad.problems().map(\.code)
        #expect(codes.contains("weak_kind") && codes.contains("unknown_kind") && codes.contains("built_in_kind")
            && codes.contains("invalid_kind_name") && codes.contains("duplicate"))
        #expect(policy.kind(named: "club") == nil, "undeclared custom kinds are unknown, so a typo is an error")
        var custom = policy
        custom.customKinds = ["club"]
        #expect(custom.kind(named: "club") == .custom("club"))
        #expect(custom.kind(named: "emial") == nil)
    }

    @Test("search folds accents and case and reads numbers as cards and phones")
    func search() {
        #expect(CustomerSearch.fold("  García  LÓPEZ ") == "garcia lopez")
        #expect(CustomerSearch.identifierPrefixes("600 11", defaultCountry: "ES") == ["600 11", "60011", "+3460011"])
        #expect(CustomerSearch.identifierPrefixes("+34 600", defaultCountry: "ES") == ["+34 600", "34600", "+34600"])
        #expect(CustomerSearch.identifierPrefixes("Ana@", defaultCountry: "ES") == ["ana@"])
        #expect("garcia lopez" < CustomerSearch.upperBound("garcia") && "garcia" >= "garcia")
        #expect(!("garcib" < CustomerSearch.upperBound("garcia")))
    }
}
