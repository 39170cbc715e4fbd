import Foundation
import HTTPTypes
import OmniaCore
import SQLKit

/// Campaigns created, changed and read by marketers. Activating an audience campaign queues its
/// first run (`CampaignRuns`); every change emits `campaign.created` / `campaign.updated` and is audited.
struct CampaignService: Sendable {
    let services: AppServices
    static let statuses = ["draft", "active", "paused", "archived"]
    static let actionTypes = ["assign_coupon", "grant_points", "issue_gift_card", "message"]
    static let kinds = ["audience", "triggered"]
    static let triggerEvents = ["cart_abandoned", "return_recorded", "first_store_purchase", "birthday", "points_expiring", "segment_entered"]
    static let placeholders = ["first_name", "coupon_code", "points", "campaign"]

    func create(on sql: any SQLDatabase, caller: Caller, _ request: CampaignRequest, actor: Actor) async throws -> CampaignView {
        var validator = Validator()
        let status = PromotionTerms.checkedStatus(request.status ?? "draft", into: &validator)
        let terms = try await validated(request, over: nil, caller: caller, on: sql, into: &validator)
        guard validator.isValid, let terms else { throw Problem.validation(validator.errors) }
        let now = services.nowMilliseconds
        let stored = StoredCampaign(id: services.ids.make(.campaign), version: 1, status: status, terms: terms, createdAt: now, updatedAt: now)
        try await sql.raw("""
            INSERT INTO campaigns (tenant_id, id, version, name, kind, status, definition, created_at, updated_at)
            VALUES (\(bind: caller.tenantID), \(bind: stored.id), 1, \(bind: terms.name), \(bind: terms.kind), \(bind: status),
                    \(bind: try JSONCoding.text(terms)), \(bind: now), \(bind: now))
            """).run()
        return try await recorded(stored, queue: status == "active" && terms.kind == "audience", event: "campaign.created", on: sql, tenantID: caller.tenantID, actor: actor)
    }

    func update(on sql: any SQLDatabase, caller: Caller, id: String, _ request: CampaignRequest, actor: Actor) async throws -> CampaignView {
        guard let current = try await campaign(on: sql, tenantID: caller.tenantID, id: id, locked: true) else { throw Problem.notFound("campaign") }
        if current.status == "archived" { throw Problem(.conflict, code: "campaign_archived", detail: "an archived campaign cannot change; create a new one") }
        var validator = Validator()
        let status = PromotionTerms.checkedStatus(request.status ?? current.status, into: &validator)
        if status == "draft" && current.status != "draft" {
            validator.fail("status", "invalid_transition", "a campaign that has been active goes to paused or archived, not back to draft")
        }
        if request.kind != nil && request.kind != current.terms.kind {
            validator.fail("kind", "immutable", "a campaign's kind does not change; create another campaign")
        }
        let terms = try await validated(request, over: current.terms, caller: caller, on: sql, into: &validator)
        guard validator.isValid, let terms else { throw Problem.validation(validator.errors) }
        let now = services.nowMilliseconds
        let version = terms != current.terms ? current.version + 1 : current.version
        try await sql.raw("""
            UPDATE campaigns SET version = \(bind: version), name = \(bind: terms.name), status = \(bind: status),
              definition = \(bind: try JSONCoding.text(terms)), updated_at = \(bind: now)
            WHERE tenant_id = \(bind: caller.tenantID) AND id = \(bind: id)
            """).run()
        let stored = StoredCampaign(id: id, version: version, status: status, terms: terms, createdAt: current.createdAt, updatedAt: now)
        return try await recorded(stored, queue: status == "active" && current.status != "active" && terms.kind == "audience", event: "campaign.updated", on: sql,
                                  tenantID: caller.tenantID, actor: actor)
    }

    /// Activation queues the campaign's run (none when one is already queued or running).
    private func recorded(_ campaign: StoredCampaign, queue: Bool, event: String, on sql: any SQLDatabase, tenantID: String,
                          actor: Actor) async throws -> CampaignView {
        var view = campaign.view
        if queue { view.queuedRun = try await CampaignRuns(services: services).queue(on: sql, tenantID: tenantID, campaign: campaign) }
        try await services.events.append(on: sql, tenantID: tenantID, type: event, data: view, requestID: actor.requestID)
        try await services.audit.record(on: sql, tenantID: tenantID, actor: actor.id, action: event, targetType: "campaign", targetID: campaign.id,
                                        details: ["status": .string(campaign.status), "version": .integer(Int64(campaign.version))],
                                        requestID: actor.requestID)
        return view
    }

    /// The request's terms over `base` (a PATCH's current terms), every field checked.
    private func validated(_ request: CampaignRequest, over base: CampaignTerms?, caller: Caller, on sql: any SQLDatabase,
                           into validator: inout Validator) async throws -> CampaignTerms? {
        let name = request.name == nil && base != nil ? base?.name : validator.text(request.name, field: "name", maxLength: 200)
        let description = request.description == nil ? base?.description
            : request.description!.isEmpty ? nil : validator.text(request.description, field: "description", maxLength: 2_000)
        let kind = request.kind ?? base?.kind ?? "audience"
        if !Self.kinds.contains(kind) { validator.fail("kind", "invalid_enum", "kind must be one of: \(Self.kinds.joined(separator: ", "))") }
        var trigger = base?.trigger
        if let given = request.trigger {
            trigger = checkedTrigger(given, into: &validator)
            if let code = trigger?.segment, try await sql.raw("""
                SELECT id FROM segments WHERE tenant_id = \(bind: caller.tenantID) AND code = \(bind: code) AND status = 'active'
                """).first() == nil {
                validator.fail("trigger.segment", "segment_not_found", "no active segment has the code \(code)")
            }
        }
        if kind == "triggered" && trigger == nil && request.trigger == nil {
            validator.fail("trigger", "required", "a triggered campaign names its trigger: {\"event\": \"cart_abandoned\", \"delay_minutes\": 120}")
        }
        if kind == "audience" && request.trigger != nil { validator.fail("trigger", "not_for_kind", "an audience campaign has no trigger; its runs reach its audience") }
        var quietHours = base?.quietHours
        if let given = request.quietHours {
            quietHours = given.from == nil && given.to == nil ? nil : given
            for (value, name) in [(given.from, "from"), (given.to, "to")] where quietHours != nil && value.flatMap(RuleCalendar.minute) == nil {
                validator.fail("quiet_hours.\(name)", value == nil ? "required" : "invalid_time", "quiet_hours.\(name) is a local time of day, HH:MM")
            }
        }
        var audience = base?.audience
        if let text = request.audience {
            audience = text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil
                : PromotionTerms.rule(text, schema: AudienceSchema.audience, field: "audience", into: &validator)
        }
        var currency = base?.currency ?? caller.tenantCurrency
        if let given = request.currency, let code = validator.currency(given, field: "currency")?.code {
            if caller.acceptedCurrencies.contains(code) {
                currency = code
            } else {
                validator.fail("currency", "currency_not_accepted", "currency must be one the tenant accepts: \(caller.acceptedCurrencies.sorted().joined(separator: ", "))")
            }
        }
        let control = request.controlPercent ?? base?.controlPercent ?? 10
        if !(0...50).contains(control) { validator.fail("control_percent", "out_of_range", "control_percent must be 0 to 50") }
        var actions = base?.actions ?? []
        if let given = request.actions {
            actions = try await checkedActions(given, tenantID: caller.tenantID, on: sql, into: &validator)
        } else if base == nil {
            validator.fail("actions", "required", "actions is required: what the campaign does for each customer it reaches")
        }
        var everyDays = base?.everyDays
        if let given = request.everyDays {
            everyDays = given == 0 ? nil : given
            if !(0...365).contains(given) { validator.fail("every_days", "out_of_range", "every_days must be 1 to 365, or 0 to run once") }
        }
        if kind == "triggered" && request.everyDays != nil && request.everyDays != 0 {
            validator.fail("every_days", "not_for_kind", "a triggered campaign acts when its trigger fires, not on a schedule")
        }
        for (index, action) in actions.enumerated() where action.type == "message" && kind != "triggered" {
            validator.fail("actions[\(index)].type", "not_for_kind", "messages are sent by triggered campaigns")
        }
        var cap = base?.frequencyCap
        if let given = request.frequencyCap {
            cap = given.max == nil && given.perDays == nil ? nil : given
            if cap != nil {
                if !(1...1_000).contains(given.max ?? 0) { validator.fail("frequency_cap.max", "out_of_range", "frequency_cap.max must be 1 to 1000") }
                if !(1...365).contains(given.perDays ?? 0) { validator.fail("frequency_cap.per_days", "out_of_range", "frequency_cap.per_days must be 1 to 365") }
            }
        }
        guard validator.isValid, let name else { return nil }
        return CampaignTerms(name: name, description: description, kind: kind, trigger: kind == "triggered" ? trigger : nil, quietHours: quietHours,
                             audience: audience, currency: currency, controlPercent: control, actions: actions,
                             everyDays: kind == "audience" ? everyDays : nil, frequencyCap: cap)
    }

    private func checkedActions(_ inputs: [CampaignActionInput], tenantID: String, on sql: any SQLDatabase,
                                into validator: inout Validator) async throws -> [CampaignActionInput] {
        guard (1...5).contains(inputs.count) else {
            validator.fail("actions", "invalid_length", "actions lists 1 to 5 actions")
            return []
        }
        var actions: [CampaignActionInput] = []
        for (index, input) in inputs.enumerated() {
            let field = "actions[\(index)]"
            switch input.type {
            case "assign_coupon":
                if input.points != nil { validator.fail("\(field).points", "not_for_type", "assign_coupon does not read points") }
                guard let campaignID = input.couponCampaignId else {
                    validator.fail("\(field).coupon_campaign_id", "required", "assign_coupon names a unique coupon campaign (cpc_…)")
                    continue
                }
                let campaign = try? await CouponService(services: services).campaign(on: sql, tenantID: tenantID, id: campaignID)
                if campaign == nil {
                    validator.fail("\(field).coupon_campaign_id", "unknown_campaign", "coupon_campaign_id does not name a coupon campaign of this tenant")
                } else if campaign?.kind != "unique" {
                    validator.fail("\(field).coupon_campaign_id", "not_unique_campaign", "a campaign assigns codes of a unique coupon campaign, one per customer")
                }
                actions.append(CampaignActionInput(type: "assign_coupon", couponCampaignId: campaignID))
            case "grant_points":
                if input.couponCampaignId != nil { validator.fail("\(field).coupon_campaign_id", "not_for_type", "grant_points does not read coupon_campaign_id") }
                guard let points = input.points, (1...1_000_000).contains(points) else {
                    validator.fail("\(field).points", input.points == nil ? "required" : "out_of_range", "grant_points gives 1 to 1000000 points")
                    continue
                }
                actions.append(CampaignActionInput(type: "grant_points", points: points))
            case "issue_gift_card":
                for (present, name) in [(input.points != nil, "points"), (input.couponCampaignId != nil, "coupon_campaign_id")] where present {
                    validator.fail("\(field).\(name)", "not_for_type", "issue_gift_card does not read \(name)")
                }
                guard let amount = input.amount, (1...1_000_000_00).contains(amount) else {
                    validator.fail("\(field).amount", input.amount == nil ? "required" : "out_of_range",
                                   "issue_gift_card gives a card of 1 to 100000000 minor units of the campaign's currency")
                    continue
                }
                actions.append(CampaignActionInput(type: "issue_gift_card", amount: amount))
            case "message":
                for (present, name) in [(input.points != nil, "points"), (input.couponCampaignId != nil, "coupon_campaign_id"), (input.amount != nil, "amount")]
                where present {
                    validator.fail("\(field).\(name)", "not_for_type", "message does not read \(name)")
                }
                guard let template = validator.text(input.template, field: "\(field).template", maxLength: 2_000) else { continue }
                for placeholder in Self.placeholderNames(in: template) where !Self.placeholders.contains(placeholder) {
                    validator.fail("\(field).template", "unknown_placeholder",
                                   "{{\(placeholder)}} is not a placeholder; use \(Self.placeholders.map { "{{\($0)}}" }.joined(separator: ", "))")
                }
                let channels = input.channels ?? ["email"]
                if channels.isEmpty || channels.count > 4 { validator.fail("\(field).channels", "invalid_length", "channels lists 1 to 4 channels of contact") }
                for (position, channel) in channels.enumerated() where !ConsentService.channels.contains(channel) {
                    validator.fail("\(field).channels[\(position)]", "invalid_enum", "a channel of contact is one of: \(ConsentService.channels.joined(separator: ", "))")
                }
                actions.append(CampaignActionInput(type: "message", template: template, channels: channels))
            default:
                validator.fail("\(field).type", input.type == nil ? "required" : "invalid_enum", "type must be one of: \(Self.actionTypes.joined(separator: ", "))")
            }
        }
        return actions
    }

    private func checkedTrigger(_ input: CampaignTrigger, into validator: inout Validator) -> CampaignTrigger? {
        guard let event = input.event, Self.triggerEvents.contains(event) else {
            validator.fail("trigger.event", input.event == nil ? "required" : "invalid_enum", "trigger.event must be one of: \(Self.triggerEvents.joined(separator: ", "))")
            return nil
        }
        let delay = input.delayMinutes ?? 0
        if !(0...43_200).contains(delay) { validator.fail("trigger.delay_minutes", "out_of_range", "trigger.delay_minutes must be 0 to 43200 (30 days)") }
        var daysBefore: Int?
        if ["birthday", "points_expiring"].contains(event) {
            daysBefore = input.daysBefore ?? (event == "birthday" ? 0 : 7)
            if !(0...60).contains(daysBefore!) { validator.fail("trigger.days_before", "out_of_range", "trigger.days_before must be 0 to 60") }
        } else if input.daysBefore != nil {
            validator.fail("trigger.days_before", "not_for_event", "days_before is for birthday and points_expiring")
        }
        if event == "segment_entered" && input.segment == nil {
            validator.fail("trigger.segment", "required", "a segment_entered trigger names the segment's code: {\"event\": \"segment_entered\", \"segment\": \"vip\"}")
        } else if event != "segment_entered" && input.segment != nil {
            validator.fail("trigger.segment", "not_for_event", "segment is for segment_entered")
        }
        return CampaignTrigger(event: event, delayMinutes: delay, daysBefore: daysBefore, segment: event == "segment_entered" ? input.segment : nil)
    }

    /// The names between `{{` and `}}` in a template.
    static func placeholderNames(in template: String) -> [String] {
        var names: [String] = []
        var rest = Substring(template)
        while let open = rest.range(of: "{{"), let close = rest.range(of: "}}", range: open.upperBound..<rest.endIndex) {
            names.append(String(rest[open.upperBound..<close.lowerBound]).trimmingCharacters(in: .whitespaces))
            rest = rest[close.upperBound...]
        }
        return names
    }

    // MARK: Reading

    func campaign(on sql: any SQLDatabase, tenantID: String, id: String, locked: Bool = false) async throws -> StoredCampaign? {
        guard IDGenerator.isWellFormed(id, prefix: .campaign) else { return nil }
        let lock = locked && sql.dialect.name != "sqlite" ? " FOR UPDATE" : ""
        return try await campaigns(on: sql, "SELECT * FROM campaigns WHERE tenant_id = \(bind: tenantID) AND id = \(bind: id)\(unsafeRaw: lock)").first
    }

    func page(on sql: any SQLDatabase, tenantID: String, status: String?, page: PageRequest) async throws -> [StoredCampaign] {
        var query: SQLQueryString = "SELECT * FROM campaigns WHERE tenant_id = \(bind: tenantID)"
        if let status { query += " AND status = \(bind: status)" }
        if let cursor = page.startingAfter { query += " AND id > \(bind: cursor)" }
        return try await campaigns(on: sql, query + " ORDER BY id LIMIT \(literal: page.limit + 1)")
    }

    func campaigns(on sql: any SQLDatabase, _ query: SQLQueryString) async throws -> [StoredCampaign] {
        try await sql.raw(query).all().map(Self.stored)
    }

    static func stored(_ row: any SQLRow) throws -> StoredCampaign {
            StoredCampaign(
                id: try row.decode(column: "id", as: String.self), version: try row.decode(column: "version", as: Int.self),
                status: try row.decode(column: "status", as: String.self),
                terms: try JSONCoding.decoder.decode(CampaignTerms.self, from: Data(try row.decode(column: "definition", as: String.self).utf8)),
                createdAt: try row.decode(column: "created_at", as: Int64.self), updatedAt: try row.decode(column: "updated_at", as: Int64.self))
    }
}

/// A campaign as stored: its current terms and status.
struct StoredCampaign: Sendable {
    let id: String
    let version: Int
    let status: String
    let terms: CampaignTerms
    let createdAt: Int64
    let updatedAt: Int64

    var view: CampaignView {
        CampaignView(id: id, version: version, status: status, name: terms.name, description: terms.description, kind: terms.kind,
                     trigger: terms.trigger, audience: terms.audience, currency: terms.currency, controlPercent: terms.controlPercent,
                     actions: terms.actions, everyDays: terms.everyDays, frequencyCap: terms.frequencyCap, quietHours: terms.quietHours, queuedRun: nil, createdAt: StoredTime(milliseconds: createdAt),
                     updatedAt: StoredTime(milliseconds: updatedAt))
    }
}
