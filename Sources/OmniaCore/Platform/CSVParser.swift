/// RFC 4180 CSV, fed one text line at a time so a file of any size streams: quoted fields may hold
/// commas, doubled quotes and line breaks (a record then spans several lines).
public struct CSVParser: Sendable {
    private var fields: [String] = []
    private var field = ""
    private var inQuotes = false
    private var fieldWasQuoted = false

    public init() {}

    /// Whether a record is open across lines (an unclosed quote).
    public var isInsideRecord: Bool { inQuotes }

    /// Feeds one line without its line break; returns the record's fields once it is complete.
    public mutating func feed(_ line: Substring) -> [String]? {
        var characters = line.unicodeScalars.makeIterator()
        var pending = characters.next()
        while let scalar = pending {
            pending = characters.next()
            if inQuotes {
                if scalar == "\"" {
                    if pending == "\"" {
                        field.unicodeScalars.append("\"")
                        pending = characters.next()
                    } else {
                        inQuotes = false
                    }
                } else {
                    field.unicodeScalars.append(scalar)
                }
            } else if scalar == "\"" && field.isEmpty && !fieldWasQuoted {
                inQuotes = true
                fieldWasQuoted = true
            } else if scalar == "," {
                fields.append(field)
                field = ""
                fieldWasQuoted = false
            } else if scalar == "\r" && pending == nil {
                // A CRLF line ending.
            } else {
                field.unicodeScalars.append(scalar)
            }
        }
        if inQuotes {
            field += "\n"
            return nil
        }
        fields.append(field)
        defer {
            fields = []
            field = ""
            fieldWasQuoted = false
        }
        return fields
    }
}
