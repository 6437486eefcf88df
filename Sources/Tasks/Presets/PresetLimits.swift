import Foundation
import RestoreCore

/// Checks a preset's text before the YAML parser sees it, so that a hostile or broken file
/// cannot exhaust memory or the stack: a size limit, no anchors or aliases (an alias bomb
/// expands exponentially; presets never need them), and a nesting limit (libyaml and the
/// composer recurse once per level, so 50 000 levels overflow the stack).
enum PresetLimits {
    static let maximumBytes = 256 * 1024
    static let maximumDepth = 32

    struct Violation: Error { var line: Int; var message: String }

    static func check(_ text: String) throws {
        let bytes = Array(text.utf8)
        guard bytes.count <= maximumBytes else {
            throw Violation(line: 1, message: "is \(bytes.count) bytes; presets are at most \(maximumBytes / 1024) KB")
        }
        var line = 1, flowDepth = 0, i = 0
        var atLineStart = true, indentStack: [Int] = []
        let n = bytes.count
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }
        // The previous significant byte decides whether '&' or '*' starts a token.
        var previous: UInt8 = 0x0A
        while i < n {
            let b = bytes[i]
            if b == 0x0A { line += 1; atLineStart = true; previous = b; i += 1; continue }
            if atLineStart {
                // Block nesting: indentation levels, plus "- - -" on one line.
                var indent = 0
                while i < n, isSpace(bytes[i]) { indent += 1; i += 1 }
                if i >= n || bytes[i] == 0x0A || bytes[i] == 0x23 {   // blank or comment line
                    while i < n, bytes[i] != 0x0A { i += 1 }
                    continue
                }
                atLineStart = false
                while let last = indentStack.last, last > indent { indentStack.removeLast() }
                if indentStack.last != indent { indentStack.append(indent) }
                var dashes = 0, j = i
                while j + 1 < n, bytes[j] == 0x2D, isSpace(bytes[j + 1]) {
                    dashes += 1; j += 2
                    while j < n, isSpace(bytes[j]) { j += 1 }
                }
                if indentStack.count + dashes + flowDepth > maximumDepth {
                    throw Violation(line: line, message: "nests deeper than \(maximumDepth) levels")
                }
                previous = 0x20
                continue
            }
            switch b {
            case 0x22, 0x27:   // "…" or '…': skip the string (with \" escapes in double quotes)
                let quote = b
                i += 1
                while i < n, bytes[i] != quote {
                    if bytes[i] == 0x0A { line += 1 }
                    if quote == 0x22, bytes[i] == 0x5C { i += 1 }
                    i += 1
                }
            case 0x23 where isSpace(previous) || previous == 0x0A:   // comment to the end of the line
                while i + 1 < n, bytes[i + 1] != 0x0A { i += 1 }
            case 0x5B, 0x7B:   // [ {
                flowDepth += 1
                if indentStack.count + flowDepth > maximumDepth {
                    throw Violation(line: line, message: "nests deeper than \(maximumDepth) levels")
                }
            case 0x5D, 0x7D: flowDepth = max(0, flowDepth - 1)
            case 0x26, 0x2A:   // & or * at the start of a token: an anchor or an alias
                if isSpace(previous) || previous == 0x0A || previous == 0x5B || previous == 0x7B || previous == 0x2C || previous == 0x3A || previous == 0x2D {
                    throw Violation(line: line, message: "uses a YAML \(b == 0x26 ? "anchor" : "alias") ('\(b == 0x26 ? "&" : "*")…'); presets do not allow anchors or aliases")
                }
            default: break
            }
            previous = b
            i += 1
        }
    }
}
