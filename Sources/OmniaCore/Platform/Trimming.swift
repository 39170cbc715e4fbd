extension StringProtocol {
    /// The text without leading and trailing Unicode white space (the `White_Space` property: spaces,
    /// tabs, line breaks, NBSP…). Native and cheap when there is nothing to trim, which is almost
    /// always: Foundation's `trimmingCharacters(in:)` bridges through NSString on every call.
    public func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        if first == scalars.startIndex && scalars.index(after: last) == scalars.endIndex { return String(self) }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[first...last])
        return String(view)
    }
}
