/// Where a sale or interaction happens. A tenant has any number of channels of each kind.
public enum ChannelKind: String, Sendable, Codable, CaseIterable {
    case store
    case web
    case app
    case callCenter = "call_center"
    case marketplace
    case social
}

/// What a physical location is used for.
public enum LocationKind: String, Sendable, Codable, CaseIterable {
    case store
    case warehouse
}
