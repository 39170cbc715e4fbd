import Synchronization

/// `camelCaseName` → `camel_case_name`, the rule of Foundation's `convertToSnakeCase`: a run of
/// capitals is one word (`someURLValue` → `some_url_value`).
public func snakeCase(_ name: String) -> String {
    let characters = Array(name)
    var words: [String] = []
    var current = ""
    for (index, character) in characters.enumerated() {
        if character.isUppercase, !current.isEmpty {
            let previousIsLower = characters[index - 1].isLowercase || characters[index - 1].isNumber
            let nextIsLower = index + 1 < characters.count && characters[index + 1].isLowercase
            if previousIsLower || nextIsLower {
                words.append(current)
                current = ""
            }
        }
        current.append(character)
    }
    if !current.isEmpty { words.append(current) }
    return words.map { $0.lowercased() }.joined(separator: "_")
}

/// `snakeCase(name)`, worked out once per name for the life of the process: the JSON writer and the
/// row decoder convert the same few property names for every object and every row. Names without
/// capitals are their own snake_case form and skip the shared table.
public func cachedSnakeCase(_ name: String) -> String {
    if !name.hasCapitalLetters { return name }
    if let cached = snakeCaseNames.withLock({ $0[name] }) { return cached }
    let converted = snakeCase(name)
    snakeCaseNames.withLock { $0[name] = converted }
    return converted
}

private let snakeCaseNames = Mutex<[String: String]>([:])

extension String {
    /// Whether an ASCII capital occurs (read on contiguous bytes: it runs for every key written).
    var hasCapitalLetters: Bool {
        utf8.withContiguousStorageIfAvailable { utf8 in utf8.contains { (0x41...0x5A).contains($0) } }
            ?? utf8.contains { (0x41...0x5A).contains($0) }
    }
}
