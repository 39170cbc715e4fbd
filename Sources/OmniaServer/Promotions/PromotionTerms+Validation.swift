import Foundation
import HTTPTypes
import OmniaCore
import SQLKit

extension PromotionTerms {
    static let statuses = ["draft", "active", "paused", "archived"]
    static let effectTypes = ["percent_off_cart", "amount_off_cart", "percent_off_lines", "amount_off_lines", "cheapest_free", "buy_x_get_y",
                              "bundle_price", "tiered", "free_shipping", "bonus_points", "issue_coupon", "issue_gift_card"]
    static let maximumEffects = 20
    static let maximumTiers = 10
    /// How many of the tenant's most recent sale lines a SKU named by an effect is looked for in.
    static let skuLookback = 200_000

    /// The request's terms over `base` (a PATCH's current terms; nil for a create), every field
    /// checked; the rules parsed and type-checked, kept as their canonical text.
    static func validated(_ request: PromotionRequest, over base: PromotionTerms?, caller: Caller, services: AppServices,
                          on sql: any SQLDatabase, into validator: inout Validator) async throws -> PromotionTerms? {
        let name = request.name == nil && base != nil ? base?.name : validator.text(request.name, field: "name", maxLength: 200)
        // An empty text clears the description, as it clears the condition, the group and the codes.
        let description = request.description == nil ? base?.description
            : request.description!.isEmpty ? nil : validator.text(request.description, field: "description", maxLength: 2_000)
        var condition = base?.condition
        if request.condition != nil && request.conditionJson != nil {
            validator.fail("condition_json", "conflicting_fields", "give the condition as text (condition) or as JSON (condition_json), not both")
        } else if let text = request.condition {
            condition = text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : rule(text, schema: PromotionSchema.checkout, field: "condition", into: &validator)
        } else if let json = request.conditionJson {
            do {
                condition = rule(try RuleJSON.expression(json).description, schema: PromotionSchema.checkout, field: "condition_json", into: &validator)
            } catch {
                validator.fail("condition_json", error.code.rawValue, error.message)
            }
        }
        let currency = request.currency == nil ? base?.currency : validator.currency(request.currency, field: "currency")?.code
        if let currency, request.currency != nil, !caller.acceptedCurrencies.contains(currency) {
            validator.fail("currency", "currency_not_accepted", "currency must be one the tenant accepts: \(caller.acceptedCurrencies.sorted().joined(separator: ", "))")
        }
        var effects = base?.effects ?? []
        if let base, request.currency != nil, currency != base.currency, request.effects == nil,
            effects.contains(where: { $0.amount != nil || $0.price != nil || $0.tiers != nil })
        {
            validator.fail("currency", "effects_required", "the effects name amounts in \(base.currency ?? "no currency"); send them again with the new currency")
        }
        if let given = request.effects {
            effects = try await checkedEffects(given, currency: currency, tenantID: caller.tenantID, services: services, on: sql, into: &validator)
        } else if base == nil {
            validator.fail("effects", "required", "effects is required: what the promotion gives (see docs/promotions.md)")
        }
        let priority = request.priority ?? base?.priority ?? 0
        if !(-1_000...1_000).contains(priority) { validator.fail("priority", "out_of_range", "priority must be -1000 to 1000 (higher applies first)") }
        let stacking = request.stacking ?? base?.stacking ?? "stackable"
        if !["stackable", "exclusive"].contains(stacking) { validator.fail("stacking", "invalid_enum", "stacking must be one of: stackable, exclusive") }
        var group = base?.stackingGroup
        if let given = request.stackingGroup { group = given.isEmpty ? nil : validator.code(given, field: "stacking_group") }
        if stacking == "exclusive", group != nil {
            validator.fail("stacking_group", "not_for_exclusive", "an exclusive promotion applies alone; a stacking group is for stackable ones")
        }
        var channels = base?.channels ?? []
        if let given = request.channels {
            channels = given.isEmpty ? [] : try await GiftCardService(services: services).channelCodes(given, on: sql, tenantID: caller.tenantID, into: &validator) ?? []
        }
        var kinds = base?.channelKinds ?? []
        if let given = request.channelKinds {
            kinds = []
            for (index, kind) in given.enumerated() {
                if let parsed = validator.oneOf(kind, ChannelKind.self, field: "channel_kinds[\(index)]"), !kinds.contains(parsed.rawValue) { kinds.append(parsed.rawValue) }
            }
        }
        var countries = base?.countries ?? []
        if let given = request.countries {
            countries = []
            for (index, country) in given.enumerated() {
                if let code = validator.country(country, field: "countries[\(index)]"), !countries.contains(code) { countries.append(code) }
            }
        }
        let schedule = request.schedule == nil ? base?.schedule : checkedSchedule(request.schedule!, into: &validator)
        var code = base?.code, campaign = base?.couponCampaignId
        if let given = request.code {
            let upper = given.trimmingCharacters(in: .whitespaces).uppercased()
            code = upper.isEmpty ? nil : upper
            if let code, !CouponService.isWellFormedGenericCode(code) { validator.fail("code", "invalid_code", "code must be 3 to 32 letters, digits or dashes") }
        }
        if let given = request.couponCampaignId {
            campaign = given.isEmpty ? nil : given
            if let campaign {
                do {
                    _ = try await CouponService(services: services).campaign(on: sql, tenantID: caller.tenantID, id: campaign)
                } catch let problem as Problem where problem.status == .notFound {
                    validator.fail("coupon_campaign_id", "unknown_campaign", "coupon_campaign_id does not name a coupon campaign of this tenant")
                }
            }
        }
        if code != nil, campaign != nil { validator.fail("code", "conflicting_fields", "a promotion is unlocked by its own code or by a coupon campaign, not both") }
        let budget = request.budget == nil ? base?.budget : checkedBudget(request.budget!, currency: currency, into: &validator)
        // The budget is an account of the ledger in the promotion's currency: it keeps that currency.
        if base?.budget?.amount != nil, request.currency != nil, currency != base?.currency {
            validator.fail("currency", "budget_currency", "the promotion's budget is in \(base?.currency ?? ""); its currency cannot change")
        }
        let limits = request.limits == nil ? base?.limits : checkedLimits(request.limits!, into: &validator)
        guard validator.isValid, let name else { return nil }
        return PromotionTerms(name: name, description: description, condition: condition, effects: effects, currency: currency, priority: priority,
                              stacking: stacking, stackingGroup: group, channels: channels, channelKinds: kinds, countries: countries, schedule: schedule,
                              code: code, couponCampaignId: campaign, budget: budget, limits: limits)
    }

    /// The rule's canonical text, or nil with the rule's error (code, `line:column: message`) recorded.
    static func rule(_ source: String, schema: RuleRecordType, type: RuleType = .bool, field: String, into validator: inout Validator) -> String? {
        program(source, schema: schema, type: type, field: field, into: &validator)?.text
    }

    /// The rule compiled, or nil with its error recorded as `rule(_:schema:field:into:)` records it.
    static func program(_ source: String, schema: RuleRecordType, type: RuleType = .bool, field: String,
                        into validator: inout Validator) -> RuleProgram? {
        do {
            return try RuleProgram(source, schema: schema, type: type)
        } catch {
            validator.fail(field, error.code.rawValue, "\(error.line):\(error.column): \(error.message)")
            return nil
        }
    }

    private static func checkedEffects(_ inputs: [PromotionEffectInput], currency: String?, tenantID: String, services: AppServices,
                                       on sql: any SQLDatabase, into validator: inout Validator) async throws -> [PromotionEffectInput] {
        guard (1...maximumEffects).contains(inputs.count) else {
            validator.fail("effects", "invalid_length", "effects must list 1 to \(maximumEffects) effects")
            return []
        }
        var checked: [PromotionEffectInput] = []
        for (index, input) in inputs.enumerated() {
            let field = "effects[\(index)]"
            guard let type = input.type, effectTypes.contains(type) else {
                validator.fail("\(field).type", input.type == nil ? "required" : "invalid_enum", "\(field).type must be one of: \(effectTypes.joined(separator: ", "))")
                continue
            }
            var effect = PromotionEffectInput(type: type)
            let before = validator.errors.count
            func percent(_ value: PercentText?, _ name: String, default fallback: String? = nil) -> PercentText? {
                guard let value = value ?? fallback.map(PercentText.init) else {
                    validator.fail("\(field).\(name)", "required", "\(field).\(name) is required for \(type)")
                    return nil
                }
                guard value.basisPoints != nil else {
                    validator.fail("\(field).\(name)", "out_of_range", "\(field).\(name) must be more than 0 and at most 100, with at most two decimals")
                    return nil
                }
                return value
            }
            func count(_ value: Int?, _ name: String, _ range: ClosedRange<Int>, default fallback: Int? = nil) -> Int? {
                guard let value = value ?? fallback else {
                    validator.fail("\(field).\(name)", "required", "\(field).\(name) is required for \(type)")
                    return nil
                }
                guard range.contains(value) else {
                    validator.fail("\(field).\(name)", "out_of_range", "\(field).\(name) must be \(range.lowerBound) to \(range.upperBound)")
                    return nil
                }
                return value
            }
            func money(_ value: Int64?, _ name: String, allowZero: Bool = false) -> Int64? {
                if currency == nil { validator.fail("currency", "required", "currency is required: \(field) names an amount") }
                guard let value else {
                    validator.fail("\(field).\(name)", "required", "\(field).\(name) is required for \(type)")
                    return nil
                }
                guard value >= (allowZero ? 0 : 1), value <= 1_000_000_000_00 else {
                    validator.fail("\(field).\(name)", "out_of_range", "\(field).\(name) must be \(allowZero ? 0 : 1) to 100000000000 minor units")
                    return nil
                }
                return value
            }
            func selector(_ value: String?, _ name: String) -> String? {
                guard let value, !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return nil }
                return rule(value, schema: PromotionSchema.line, field: "\(field).\(name)", into: &validator)
            }
            var used: Set<String> = ["type"]
            switch type {
            case "percent_off_cart":
                effect.percent = percent(input.percent, "percent")
                used = ["type", "percent"]
            case "amount_off_cart":
                effect.amount = money(input.amount, "amount")
                used = ["type", "amount"]
            case "percent_off_lines":
                effect.lines = selector(input.lines, "lines")
                effect.percent = percent(input.percent, "percent")
                used = ["type", "lines", "percent"]
            case "amount_off_lines":
                effect.lines = selector(input.lines, "lines")
                effect.amount = money(input.amount, "amount")
                used = ["type", "lines", "amount"]
            case "cheapest_free":
                effect.lines = selector(input.lines, "lines")
                effect.every = count(input.every, "every", 2...100)
                used = ["type", "lines", "every"]
            case "buy_x_get_y":
                effect.buy = selector(input.buy, "buy")
                effect.buyQuantity = count(input.buyQuantity, "buy_quantity", 1...100)
                effect.get = selector(input.get, "get")
                effect.getQuantity = count(input.getQuantity, "get_quantity", 1...100)
                effect.percent = percent(input.percent, "percent", default: "100")
                used = ["type", "buy", "buy_quantity", "get", "get_quantity", "percent"]
            case "bundle_price":
                effect.lines = selector(input.lines, "lines")
                effect.quantity = count(input.quantity, "quantity", 2...100)
                effect.price = money(input.price, "price", allowZero: true)
                used = ["type", "lines", "quantity", "price"]
            case "tiered":
                effect.tiers = checkedTiers(input.tiers, field: field, currency: currency, into: &validator)
                used = ["type", "tiers"]
            case "bonus_points":
                if let points = input.points, (1...1_000_000).contains(points) { effect.points = points } else {
                    validator.fail("\(field).points", input.points == nil ? "required" : "out_of_range", "\(field).points must be 1 to 1000000")
                }
                used = ["type", "points"]
            case "issue_coupon":
                let found = input.campaignId.flatMap { IDGenerator.isWellFormed($0, prefix: .couponCampaign) ? $0 : nil }
                let campaign = try await found.asyncMap { try? await CouponService(services: services).campaign(on: sql, tenantID: tenantID, id: $0) } ?? nil
                if let campaign, campaign.kind != "unique" {
                    // A committed sale assigns one of its codes to the customer: a generic code is everyone's already.
                    validator.fail("\(field).campaign_id", "not_unique_campaign", "issue_coupon assigns a code of a unique coupon campaign to the customer")
                } else if let campaign {
                    effect.campaignId = campaign.id
                } else {
                    validator.fail("\(field).campaign_id", input.campaignId == nil ? "required" : "unknown_campaign",
                                   "\(field).campaign_id must name a coupon campaign of this tenant")
                }
                used = ["type", "campaign_id"]
            case "issue_gift_card":
                effect.amount = money(input.amount, "amount")
                used = ["type", "amount"]
            default:
                used = ["type"]
            }
            for (name, present) in presentFields(input) where !used.contains(name) && present {
                validator.fail("\(field).\(name)", "not_for_type", "\(field).\(name) is not a field of \(type)")
            }
            if validator.errors.count == before { checked.append(effect) }
        }
        return checked
    }

    private static func presentFields(_ input: PromotionEffectInput) -> [(String, Bool)] {
        [("percent", input.percent != nil), ("amount", input.amount != nil), ("lines", input.lines != nil), ("every", input.every != nil),
         ("buy", input.buy != nil), ("buy_quantity", input.buyQuantity != nil), ("get", input.get != nil), ("get_quantity", input.getQuantity != nil),
         ("quantity", input.quantity != nil), ("price", input.price != nil), ("tiers", input.tiers != nil), ("points", input.points != nil),
         ("campaign_id", input.campaignId != nil)]
    }

    private static func checkedTiers(_ tiers: [PromotionTierInput]?, field: String, currency: String?, into validator: inout Validator) -> [PromotionTierInput]? {
        guard let tiers, (1...maximumTiers).contains(tiers.count) else {
            validator.fail("\(field).tiers", tiers == nil ? "required" : "invalid_length", "\(field).tiers must list 1 to \(maximumTiers) tiers")
            return nil
        }
        if currency == nil { validator.fail("currency", "required", "currency is required: \(field)'s tiers have spending thresholds") }
        var thresholds = Set<Int64>()
        for (index, tier) in tiers.enumerated() {
            let at = "\(field).tiers[\(index)]"
            if let threshold = tier.threshold, (1...1_000_000_000_00).contains(threshold) {
                if !thresholds.insert(threshold).inserted { validator.fail("\(at).threshold", "duplicate", "two tiers have the threshold \(threshold)") }
            } else {
                validator.fail("\(at).threshold", tier.threshold == nil ? "required" : "out_of_range", "\(at).threshold must be 1 to 100000000000 minor units")
            }
            switch (tier.amountOff, tier.percentOff) {
            case (let amount?, nil) where (1...1_000_000_000_00).contains(amount): break
            case (nil, let percent?) where percent.basisPoints != nil: break
            default: validator.fail(at, "invalid_discount", "\(at) needs exactly one of amount_off (1 to 100000000000 minor units) or percent_off (more than 0, at most 100)")
            }
        }
        return tiers
    }

    private static func checkedSchedule(_ input: PromotionScheduleInput, into validator: inout Validator) -> PromotionScheduleInput? {
        var schedule = PromotionScheduleInput()
        for (name, value) in [("starts_on", input.startsOn), ("ends_on", input.endsOn)] {
            guard let value else { continue }
            if RuleCalendar.day(value) == nil { validator.fail("schedule.\(name)", "invalid_date", "schedule.\(name) must be a day written YYYY-MM-DD") }
        }
        schedule.startsOn = input.startsOn
        schedule.endsOn = input.endsOn
        if let start = input.startsOn.flatMap(RuleCalendar.day), let end = input.endsOn.flatMap(RuleCalendar.day), end < start {
            validator.fail("schedule.ends_on", "before_start", "schedule.ends_on must not be before starts_on")
        }
        if let weekdays = input.weekdays {
            for (index, day) in weekdays.enumerated() where !CheckoutInput.weekdays.contains(day) {
                validator.fail("schedule.weekdays[\(index)]", "invalid_enum", "weekdays are monday, tuesday, wednesday, thursday, friday, saturday, sunday")
            }
            schedule.weekdays = weekdays.isEmpty ? nil : CheckoutInput.weekdays.filter(weekdays.contains)
        }
        switch (input.hoursFrom, input.hoursTo) {
        case (nil, nil): break
        case (let from?, let to?):
            let start = RuleCalendar.minute(from), end = RuleCalendar.minute(to)
            if start == nil { validator.fail("schedule.hours_from", "invalid_time", "schedule.hours_from must be a time written HH:MM") }
            if end == nil { validator.fail("schedule.hours_to", "invalid_time", "schedule.hours_to must be a time written HH:MM") }
            if let start, let end, start == end { validator.fail("schedule.hours_to", "empty_hours", "schedule.hours_to must differ from hours_from") }
            schedule.hoursFrom = from
            schedule.hoursTo = to
        default:
            validator.fail("schedule.hours_to", "required", "give both schedule.hours_from and schedule.hours_to, or neither")
        }
        return schedule
    }

    /// `status` when it is one of `statuses`; the failure recorded otherwise (the status is returned either way).
    /// A budget: an amount needs the promotion's currency (a discount in euros and one in pounds do
    /// not add up). `{}` is no budget.
    private static func checkedBudget(_ input: PromotionBudget, currency: String?, into validator: inout Validator) -> PromotionBudget? {
        if let amount = input.amount {
            if amount < 1 || amount > 1_000_000_000_00 {
                validator.fail("budget.amount", "out_of_range", "budget.amount is the total discount in minor units, from 1 to 100000000000")
            } else if currency == nil {
                validator.fail("budget.amount", "currency_required", "a budget amount is in the promotion's currency: set currency")
            }
        }
        if let redemptions = input.redemptions, !(1...1_000_000_000).contains(redemptions) {
            validator.fail("budget.redemptions", "out_of_range", "budget.redemptions must be 1 to 1000000000")
        }
        return input.isEmpty ? nil : input
    }

    private static func checkedLimits(_ input: PromotionLimits, into validator: inout Validator) -> PromotionLimits? {
        for (value, name) in [(input.perCustomer, "per_customer"), (input.perDay, "per_day")] {
            if let value, !(1...1_000_000_000).contains(value) {
                validator.fail("limits.\(name)", "out_of_range", "limits.\(name) must be 1 to 1000000000")
            }
        }
        return input.isEmpty ? nil : input
    }

    static func checkedStatus(_ status: String, into validator: inout Validator) -> String {
        if !statuses.contains(status) { validator.fail("status", "invalid_enum", "status must be one of: \(statuses.joined(separator: ", "))") }
        return status
    }

    /// A warning for each SKU of `unknownSKUs`.
    func skuWarnings(on sql: any SQLDatabase, tenantID: String) async throws -> [String] {
        try await unknownSKUs(on: sql, tenantID: tenantID).map { "no sale line of the tenant has the SKU \($0) (checked the last \(Self.skuLookback) lines)" }
    }

    /// SKUs an effect's selectors compare `sku` with (`sku == "X"`, `sku in [...]`) that the tenant's
    /// most recent sale lines never had: likely typos, reported as warnings, not refused.
    func unknownSKUs(on sql: any SQLDatabase, tenantID: String) async throws -> [String] {
        var skus = Set<String>()
        for effect in effects {
            for source in [effect.lines, effect.buy, effect.get].compactMap({ $0 }) {
                if let expression = try? RuleParser.parse(source) { Self.collectSKUs(expression, into: &skus) }
            }
        }
        guard !skus.isEmpty else { return [] }
        let sold = try await sql.raw("""
            SELECT DISTINCT sku FROM (SELECT sku FROM transaction_lines WHERE tenant_id = \(bind: tenantID)
                                      ORDER BY transaction_id DESC LIMIT \(literal: Self.skuLookback)) AS recent
            WHERE sku IN (\(binds: skus.sorted()))
            """).all().map { try $0.decode(column: "sku", as: String.self) }
        return skus.subtracting(sold).sorted()
    }

    private static func collectSKUs(_ expression: RuleExpression, into skus: inout Set<String>) {
        switch expression.kind {
        case .binary(let operation, let left, let right):
            if [.equal, .in].contains(operation), case .field(["sku"]) = left.kind {
                switch right.kind {
                case .literal(.string(let sku)): skus.insert(sku)
                case .list(let items):
                    for item in items { if case .literal(.string(let sku)) = item.kind { skus.insert(sku) } }
                default: break
                }
            }
            collectSKUs(left, into: &skus)
            collectSKUs(right, into: &skus)
        case .not(let operand), .negate(let operand): collectSKUs(operand, into: &skus)
        case .call(_, let arguments), .list(let arguments): arguments.forEach { collectSKUs($0, into: &skus) }
        default: break
        }
    }
}
