import OmniaCore
@testable import OmniaServer
import SQLKit
import Testing

/// What the property tests share: one step of a random sequence run in its own transaction, and
/// checked against what the model expects — through (`expected` nil: its value back) or refused
/// with `expected` (nil back). `refusal` reads the code a refusal carries, or nil for an error
/// that is no refusal (thrown on). `step` names the step in a failure's message.
enum PropertyAttempt {
    static func run<T: Sendable, Code: Equatable & Sendable>(
        _ database: any Database, expecting expected: Code?, step: String, refusal: (any Error) -> Code?,
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T? {
        do {
            let value = try await database.transaction(body)
            #expect(expected == nil, "\(step) went through, expected \(String(describing: expected))")
            return expected == nil ? value : nil
        } catch {
            guard let code = refusal(error) else { throw error }
            #expect(code == expected, "\(step): \(code)")
            return nil
        }
    }

    /// The code of a problem answer: the first field's for a validation failure.
    static func problemCode(_ error: any Error) -> String? {
        guard let problem = error as? Problem else { return nil }
        return problem.code == "validation_failed" ? problem.errors.first?.code ?? problem.code : problem.code
    }
}
