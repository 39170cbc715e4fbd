import Foundation
import Hummingbird
import OmniaCore
import Prometheus
import SQLKit

/// Unauthenticated operational routes: liveness, readiness, Prometheus metrics and the API contract.
struct OperationsController {
    let services: AppServices
    let openAPI: ByteBuffer

    func addRoutes(to router: Router<OmniaRequestContext>, table: RouteTable) {
        for path in ["/", "/healthz", "/readyz", "/metrics", "/openapi.yaml"] { table.record(.get, path) }
        router.get("/") { _, _ in
            try JSONResponse.make([
                "name": "Omnia", "version": OmniaVersion.current,
                "api": "/v1", "openapi": "/openapi.yaml", "health": "/healthz",
            ])
        }
        router.get("/healthz") { _, _ in
            try JSONResponse.make(["status": "ok", "version": OmniaVersion.current])
        }
        router.get("/readyz") { _, _ in
            do {
                _ = try await services.database.read { sql in try await sql.raw("SELECT 1 AS ok").first() }
                return try JSONResponse.make(["status": "ready", "database": services.database.dialect.rawValue])
            } catch {
                throw Problem(.serviceUnavailable, code: "database_unavailable", detail: "the database is not reachable")
            }
        }
        router.get("/metrics") { _, _ in
            let pool = services.database.poolStatistics
            services.metrics.makeGauge(name: "omnia_db_connections_in_use", labels: [("dialect", services.database.dialect.rawValue)])
                .set(Double(pool.inUse))
            services.metrics.makeGauge(name: "omnia_db_connections_max", labels: [("dialect", services.database.dialect.rawValue)])
                .set(Double(pool.capacity))
            var buffer: [UInt8] = []
            buffer.reserveCapacity(16_384)
            services.metrics.emit(into: &buffer)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
        router.get("/openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: openAPI))
        }
    }
}
