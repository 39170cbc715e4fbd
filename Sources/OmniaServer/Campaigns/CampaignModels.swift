import OmniaCore

/// `POST /v1/campaigns` and `PATCH /v1/campaigns/{id}` (every field optional there, each sent
/// replacing the current one; a change of terms makes a new version, a change of status does not).
struct CampaignRequest: RequestBody {
    var name: String?
    var description: String?
    /// `draft` (the default), `active`, `paused` or `archived`.
    var status: String?
    /// `audience`: a rule over customers, reached once when activated or every `every_days`;
    /// `triggered`: each customer a `trigger` fires for, after its delay.
    var kind: String?
    var trigger: CampaignTrigger?
    /// The audience as a rule over `customer` and `context` (docs/campaigns.md); every customer when absent.
    var audience: String?
    /// The currency the audience's `customer.lifetime_spend` and `customer.tier` are read in, and
    /// points are granted in; the tenant's by default.
    var currency: String?
    /// The share of the audience held out as a control group, 0 to 50 (10 by default).
    var controlPercent: Int?
    var actions: [CampaignActionInput]?
    /// Run again every so many days while active (1 to 365); once, when activated, when absent.
    var everyDays: Int?
    var frequencyCap: CampaignFrequencyCap?
    /// Local hours (the tenant's time zone) no message is sent in: one due then waits until they end.
    var quietHours: CampaignQuietHours?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, description, status, kind, trigger, audience, currency, controlPercent, actions, everyDays, frequencyCap, quietHours
    }
}

/// What fires a triggered campaign for a customer, and how long after it acts.
struct CampaignTrigger: Codable, Sendable, Equatable {
    /// `cart_abandoned`, `return_recorded`, `first_store_purchase` (a customer who had bought only
    /// elsewhere buys in a store), `birthday`, `points_expiring`, `segment_entered`.
    var event: String?
    /// Minutes after the event (0 to 43,200; 0 by default).
    var delayMinutes: Int?
    /// Of `birthday` and `points_expiring`: how many days ahead (0 to 60; 0 and 7 by default).
    var daysBefore: Int?
    /// Of `segment_entered`: the code of the segment whose new members the campaign reaches.
    var segment: String?
}

/// `HH:MM` to `HH:MM`, local; `from` after `to` runs over midnight.
struct CampaignQuietHours: Codable, Sendable, Equatable {
    var from: String?
    var to: String?
}

/// What a campaign does for each customer it reaches (not for its control group).
struct CampaignActionInput: Codable, Sendable, Equatable {
    /// `assign_coupon` (a code of a unique coupon campaign, to the customer's wallet),
    /// `grant_points` (in the loyalty programme of the campaign's currency), `issue_gift_card` (a
    /// gift card of `amount` in the campaign's currency, the customer's) or, in a triggered
    /// campaign, `message` (a `campaign.message` event for the messaging system to send).
    var type: String?
    var couponCampaignId: String?
    var points: Int64?
    /// Of `issue_gift_card`: its value, in minor units of the campaign's currency.
    var amount: Int64?
    /// Of `message`: its text, with `{{first_name}}`, `{{coupon_code}}`, `{{points}}` and `{{campaign}}` filled in.
    var template: String?
    /// Of `message`: the channels of contact in order of preference; the first the customer consented to and can be reached by is used.
    var channels: [String]?
}

/// At most `max` reaches of one customer by the campaign within `per_days` days.
struct CampaignFrequencyCap: Codable, Sendable, Equatable {
    var max: Int?
    var perDays: Int?
}

/// The validated terms of one version of a campaign, stored as JSON.
struct CampaignTerms: Codable, Sendable, Equatable {
    var name: String
    var description: String?
    var kind: String
    var trigger: CampaignTrigger?
    var quietHours: CampaignQuietHours?
    /// Canonical text of the audience rule.
    var audience: String?
    var currency: String
    var controlPercent: Int
    var actions: [CampaignActionInput]
    var everyDays: Int?
    var frequencyCap: CampaignFrequencyCap?
}

/// A campaign as the API shows it.
struct CampaignView: Codable, Sendable {
    let id: String
    let version: Int
    let status: String
    let name: String
    let description: String?
    let kind: String
    let trigger: CampaignTrigger?
    let audience: String?
    let currency: String
    let controlPercent: Int
    let actions: [CampaignActionInput]
    let everyDays: Int?
    let frequencyCap: CampaignFrequencyCap?
    let quietHours: CampaignQuietHours?
    /// The run queued by this change (activating an audience campaign queues its first run).
    var queuedRun: CampaignRun?
    let createdAt: StoredTime
    let updatedAt: StoredTime
}

/// A run of a campaign: a job any server may claim, resumable where it stopped.
struct CampaignRun: Codable, Sendable {
    let id: String
    let campaignId: String
    /// The version of the campaign's terms it runs.
    let version: Int
    /// `queued`, `running`, `succeeded` or `failed`.
    let status: String
    /// Customers read so far.
    let considered: Int64
    /// Customers in the audience reached (actions taken).
    let targeted: Int64
    /// Customers in the audience held out as control.
    let control: Int64
    /// Customers in the audience left out by the frequency cap.
    let capped: Int64
    let coupons: Int64
    let points: Int64
    let giftCards: Int64
    let error: String?
    let createdAt: StoredTime
    let startedAt: StoredTime?
    let finishedAt: StoredTime?
}

/// What a campaign's reached customers did after it, against its control group's.
struct CampaignReport: Codable, Sendable {
    struct Group: Codable, Sendable {
        let customers: Int64
        /// Of them, those with a sale after they were reached (or held out), in any channel.
        let buyers: Int64
        let sales: Int64
        let revenue: Int64
        /// `buyers / customers`.
        let conversionRate: Double
        /// `revenue / customers`, in minor units.
        let revenuePerCustomer: Double
    }

    struct Channel: Codable, Sendable {
        let channelId: String
        let channelCode: String
        let targetSales: Int64
        let targetRevenue: Int64
        let controlSales: Int64
        let controlRevenue: Int64
    }

    let campaignId: String
    let runs: Int
    let target: Group
    let control: Group
    /// The groups' sales since, by the channel they were made in.
    let byChannel: [Channel]
    /// Coupons the campaign assigned, and how many of them were used at a checkout.
    let couponsAssigned: Int64
    let couponsRedeemed: Int64
    /// `target.conversion_rate − control.conversion_rate`, in percentage points; absent without a control group.
    let conversionUplift: Double?
    /// The target's revenue per customer over the control's, less 1 (0.12: 12 % more); absent without control revenue.
    let revenueUplift: Double?
}
