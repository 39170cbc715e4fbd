import OmniaCore

extension BenchSeed {
    /// An active audience campaign giving every customer whose spend the rule reads a code of
    /// `couponCampaignID`, with no control group: activation queues its run.
    public static func audienceCampaign(_ services: AppServices, tenantID: String, couponCampaignID: String, controlPercent: Int) async throws -> String {
        let caller = benchCaller(tenantID)
        let request = CampaignRequest(name: "Bench audience", status: "active", audience: "customer.lifetime_spend >= 0.00 EUR and customer.orders >= 0",
                                      controlPercent: controlPercent, actions: [CampaignActionInput(type: "assign_coupon", couponCampaignId: couponCampaignID)])
        return try await services.database.transaction { sql in
            try await CampaignService(services: services).create(on: sql, caller: caller, request, actor: .cli).id
        }
    }

    /// Runs the queued campaign run to its end in this process; answers its customers reached and held out, and the codes assigned.
    public static func runCampaign(_ services: AppServices) async throws -> (targeted: Int64, control: Int64, coupons: Int64)? {
        try await CampaignRuns(services: services).runNext().map { ($0.targeted, $0.control, $0.coupons) }
    }
}
