import Foundation
import OmniaCore
@testable import OmniaServer
import Testing

/// What a refresh reads of the profiles: the parts its rules (and the attributes they read) name,
/// and local days of many times computed with one zone lookup per quarter hour.
@Suite("Live profile parts")
struct LiveProfilePartsTests {
    private static let schema = ProfileSchema.segment(attributes: [.init("big_spender", .bool, "")])

    private static func parts(_ rules: [String], attributes: ProfileAttributes.Compiled = ProfileAttributes.Compiled(
        definitions: [], programs: [], record: RuleRecordType("attributes", []))) throws -> LiveProfiles.Parts {
        LiveProfiles.Parts.read(by: try rules.map { try RuleProgram($0, schema: schema) }, attributes: attributes)
    }

    @Test("each field reads its part; the id, birthday and context read none")
    func fields() throws {
        #expect(try Self.parts(["customer.orders >= 3"]) == .channels)
        #expect(try Self.parts(["customer.rfm.group == \"champions\"", "customer.clv.probability_alive < 0.5"]) == [.rfm, .predictions])
        #expect(try Self.parts(["any(customer.channels, .kind == \"app\") or \"grocery/coffee\" in customer.top_categories"])
            == [.channels, .categories])
        #expect(try Self.parts(["customer.preferred_store == \"MAD\" and customer.tier == \"gold\" and \"email\" in customer.consents"])
            == [.stores, .tier, .consents])
        #expect(try Self.parts(["\"vip\" in customer.segments"]) == .segments)
        #expect(try Self.parts(["customer.days_to_birthday < 7 and context.weekday == \"monday\" and customer.id != \"cus_x\""]) == [])
        #expect(try Self.parts([]) == [])
    }

    @Test("a rule reading a computed attribute reads what the attribute's own rule reads")
    func attributes() throws {
        let program = try RuleProgram("customer.lifetime_spend >= 500.00 EUR and customer.rfm.recency_score >= 4",
                                      schema: ProfileAttributes.ruleSchema)
        let definition = ProfileAttribute(code: "big_spender", type: "bool", rule: program.text, description: nil,
                                          createdAt: StoredTime(milliseconds: 0), updatedAt: StoredTime(milliseconds: 0))
        let compiled = ProfileAttributes.Compiled(definitions: [definition], programs: [program],
                                                  record: RuleRecordType("attributes", [.init("big_spender", .bool, "")]))
        #expect(try Self.parts(["customer.attributes.big_spender == true"], attributes: compiled) == [.channels, .rfm])
        #expect(try Self.parts(["customer.tier == \"gold\""], attributes: compiled) == .tier, "attributes no rule reads are not read for")
    }

    @Test("days by quarter-hour offsets are the days of a lookup per time, across daylight saving changes and odd offsets",
          arguments: ["Europe/Madrid", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe", "Pacific/Chatham", "UTC"])
    func days(timeZone: String) {
        var days = LocalClock.Days(timeZone: timeZone)
        // 2026 in steps of 7 minutes 13 seconds: every transition of the year is crossed at many phases.
        let start: Int64 = 1_767_225_600_000, end: Int64 = 1_798_761_600_000
        var mismatches = 0
        for time in stride(from: start, to: end, by: 433_000) where days.day(at: time) != LocalClock.day(at: time, timeZone: timeZone).day {
            mismatches += 1
        }
        #expect(mismatches == 0)
        #expect(days.day(at: -1) == LocalClock.day(at: -1, timeZone: timeZone).day)
    }
}
