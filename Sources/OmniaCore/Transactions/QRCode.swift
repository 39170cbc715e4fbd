/// A version-1 QR code (21 × 21 modules) at error-correction level M, in alphanumeric mode: enough
/// for the up-to-20-character codes printed on receipts (a claim code, `K7QM-4XZP-9RTA`, is 14),
/// readable by any phone camera, and small enough to write here instead of adding a dependency.
/// Follows ISO/IEC 18004: Reed–Solomon over GF(256), the zig-zag data placement, and the mask with
/// the lowest penalty.
public struct QRCode: Sendable {
    public static let size = 21
    /// Row-major, `true` for a dark module.
    public let modules: [[Bool]]
    public let mask: Int

    static let alphanumeric = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".utf8)
    static let dataCodewords = 16
    static let eccCodewords = 10

    /// The code for `text` with the best mask, or nil when `text` is longer than 20 characters or
    /// has characters outside the alphanumeric set (digits, upper-case letters, space and `$%*+-./:`).
    public init?(_ text: String) {
        guard let data = Self.codewords(text) else { return nil }
        let candidates = (0..<8).map { Self.matrix(data, mask: $0) }
        let best = candidates.indices.min { Self.penalty(candidates[$0]) < Self.penalty(candidates[$1]) } ?? 0
        modules = candidates[best]
        mask = best
    }

    /// The code for `text` with a given mask (for tests against a reference encoder).
    public init?(_ text: String, mask: Int) {
        guard (0..<8).contains(mask), let data = Self.codewords(text) else { return nil }
        modules = Self.matrix(data, mask: mask)
        self.mask = mask
    }

    /// An SVG drawing with a four-module quiet zone, one path of horizontal runs.
    public func svg(moduleSize: Int = 4) -> String {
        let border = 4
        let side = Self.size + 2 * border
        var path = ""
        for (row, line) in modules.enumerated() {
            var column = 0
            while column < Self.size {
                guard line[column] else {
                    column += 1
                    continue
                }
                let start = column
                while column < Self.size && line[column] { column += 1 }
                path += "M\(start + border) \(row + border)h\(column - start)v1h-\(column - start)z"
            }
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(side) \(side)" width="\(side * moduleSize)" height="\(side * moduleSize)" \
            shape-rendering="crispEdges" role="img"><rect width="\(side)" height="\(side)" fill="#fff"/><path fill="#000" d="\(path)"/></svg>
            """
    }

    // MARK: Encoding

    /// Mode indicator, character count, data, terminator and padding, then error correction.
    static func codewords(_ text: String) -> [UInt8]? {
        let characters = Array(text.utf8)
        guard characters.count <= 20 else { return nil }
        var values: [Int] = []
        for character in characters {
            guard let value = alphanumeric.firstIndex(of: character) else { return nil }
            values.append(value)
        }
        var bits: [Bool] = []
        func append(_ value: Int, _ count: Int) {
            for shift in stride(from: count - 1, through: 0, by: -1) { bits.append((value >> shift) & 1 == 1) }
        }
        append(0b0010, 4)
        append(values.count, 9)
        var index = 0
        while index + 1 < values.count {
            append(values[index] * 45 + values[index + 1], 11)
            index += 2
        }
        if index < values.count { append(values[index], 6) }
        let capacity = dataCodewords * 8
        append(0, min(4, capacity - bits.count))
        while bits.count % 8 != 0 { bits.append(false) }
        var data: [UInt8] = stride(from: 0, to: bits.count, by: 8).map { start in
            bits[start..<start + 8].reduce(0) { $0 << 1 | ($1 ? 1 : 0) }
        }
        var pad: UInt8 = 0xEC
        while data.count < dataCodewords {
            data.append(pad)
            pad = pad == 0xEC ? 0x11 : 0xEC
        }
        return data + ReedSolomon.remainder(data, degree: eccCodewords)
    }

    static func matrix(_ codewords: [UInt8], mask: Int) -> [[Bool]] {
        var grid = [[Bool]](repeating: [Bool](repeating: false, count: size), count: size)
        var reserved = grid
        func set(_ row: Int, _ column: Int, _ dark: Bool) {
            grid[row][column] = dark
            reserved[row][column] = true
        }
        for (top, left) in [(0, 0), (0, size - 7), (size - 7, 0)] {
            for dy in -1...7 {
                for dx in -1...7 {
                    let row = top + dy, column = left + dx
                    guard (0..<size).contains(row), (0..<size).contains(column) else { continue }
                    let ring = max(abs(dy - 3), abs(dx - 3))
                    set(row, column, ring != 2 && ring != 4)
                }
            }
        }
        for index in 8..<(size - 8) {
            set(6, index, index % 2 == 0)
            set(index, 6, index % 2 == 0)
        }
        // Reserve the format areas (written after masking) and the dark module.
        let format = formatBits(mask: mask)
        placeFormat(format, set: set)

        var bitIndex = 0
        var right = size - 1
        while right >= 1 {
            if right == 6 { right = 5 }
            for vertical in 0..<size {
                for offset in 0..<2 {
                    let column = right - offset
                    let upward = (right + 1) & 2 == 0
                    let row = upward ? size - 1 - vertical : vertical
                    guard !reserved[row][column], bitIndex < codewords.count * 8 else { continue }
                    let dark = (codewords[bitIndex >> 3] >> (7 - UInt8(bitIndex & 7))) & 1 == 1
                    grid[row][column] = dark != masked(mask, row: row, column: column)
                    bitIndex += 1
                }
            }
            right -= 2
        }
        return grid
    }

    static func masked(_ mask: Int, row y: Int, column x: Int) -> Bool {
        switch mask {
        case 0: (x + y) % 2 == 0
        case 1: y % 2 == 0
        case 2: x % 3 == 0
        case 3: (x + y) % 3 == 0
        case 4: (x / 3 + y / 2) % 2 == 0
        case 5: x * y % 2 + x * y % 3 == 0
        case 6: (x * y % 2 + x * y % 3) % 2 == 0
        default: ((x + y) % 2 + x * y % 3) % 2 == 0
        }
    }

    /// Level M (format bits 00) and the mask, BCH-protected and XOR-masked.
    static func formatBits(mask: Int) -> Int {
        let data = mask
        var remainder = data
        for _ in 0..<10 { remainder = (remainder << 1) ^ ((remainder >> 9) * 0x537) }
        return (data << 10 | remainder) ^ 0x5412
    }

    static func placeFormat(_ bits: Int, set: (Int, Int, Bool) -> Void) {
        func bit(_ index: Int) -> Bool { (bits >> index) & 1 == 1 }
        for index in 0..<6 { set(index, 8, bit(index)) }
        set(7, 8, bit(6))
        set(8, 8, bit(7))
        set(8, 7, bit(8))
        for index in 9..<15 { set(8, 14 - index, bit(index)) }
        for index in 0..<8 { set(8, size - 1 - index, bit(index)) }
        for index in 8..<15 { set(size - 15 + index, 8, bit(index)) }
        set(size - 8, 8, true)
    }

    /// ISO/IEC 18004's four penalty rules: long runs, 2 × 2 blocks, finder-like patterns, imbalance.
    static func penalty(_ grid: [[Bool]]) -> Int {
        var score = 0
        let lines = grid + (0..<size).map { column in grid.map { $0[column] } }
        let finderLike: [[Bool]] = [
            [true, false, true, true, true, false, true, false, false, false, false],
            [false, false, false, false, true, false, true, true, true, false, true],
        ]
        for line in lines {
            var run = 1
            for index in 1...size {
                if index < size && line[index] == line[index - 1] {
                    run += 1
                } else {
                    if run >= 5 { score += 3 + run - 5 }
                    run = 1
                }
            }
            for start in 0...(size - 11) {
                for pattern in finderLike where Array(line[start..<start + 11]) == pattern { score += 40 }
            }
        }
        for row in 0..<(size - 1) {
            for column in 0..<(size - 1) {
                let colour = grid[row][column]
                if grid[row][column + 1] == colour && grid[row + 1][column] == colour && grid[row + 1][column + 1] == colour { score += 3 }
            }
        }
        let dark = grid.joined().filter { $0 }.count
        score += abs(dark * 20 - size * size * 10) / (size * size) * 10
        return score
    }
}

/// Reed–Solomon error correction over GF(256) with the QR polynomial x⁸ + x⁴ + x³ + x² + 1.
enum ReedSolomon {
    static func remainder(_ data: [UInt8], degree: Int) -> [UInt8] {
        var generator = [UInt8](repeating: 0, count: degree)
        generator[degree - 1] = 1
        var root: UInt8 = 1
        for _ in 0..<degree {
            for index in 0..<degree {
                generator[index] = multiply(generator[index], root)
                if index + 1 < degree { generator[index] ^= generator[index + 1] }
            }
            root = multiply(root, 0x02)
        }
        var result = [UInt8](repeating: 0, count: degree)
        for byte in data {
            let factor = byte ^ result.removeFirst()
            result.append(0)
            for index in 0..<degree { result[index] ^= multiply(generator[index], factor) }
        }
        return result
    }

    static func multiply(_ x: UInt8, _ y: UInt8) -> UInt8 {
        var product: Int = 0
        for bit in stride(from: 7, through: 0, by: -1) {
            product = (product << 1) ^ ((product >> 7) * 0x11D)
            product ^= ((Int(y) >> bit) & 1) * Int(x)
        }
        return UInt8(product & 0xFF)
    }
}
