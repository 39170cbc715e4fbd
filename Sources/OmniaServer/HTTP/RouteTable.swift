import Hummingbird
import Synchronization

/// Every route the API serves, recorded as it is registered, so an unknown method on a known path
/// answers 405 with `Allow` rather than 404.
final class RouteTable: Sendable {
    private let routes = Mutex<[(method: HTTPRequest.Method, segments: [Substring])]>([])

    func record(_ method: HTTPRequest.Method, _ path: String) {
        let segments = path.split(separator: "/")
        routes.withLock { $0.append((method, segments)) }
    }

    /// The methods registered for a concrete request path (`:name` segments match anything).
    func methods(matching path: String) -> [HTTPRequest.Method] {
        let requested = path.split(separator: "?", maxSplits: 1).first.map { $0.split(separator: "/") } ?? []
        return routes.withLock { routes in
            routes.filter { route in
                route.segments.count == requested.count
                    && zip(route.segments, requested).allSatisfy { pattern, actual in pattern.hasPrefix(":") || pattern == actual }
            }.map(\.method)
        }
    }
}
