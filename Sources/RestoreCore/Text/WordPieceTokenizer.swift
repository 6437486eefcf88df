import Foundation

/// BERT's uncased WordPiece tokenizer, matching the Hugging Face tokenizer the MiniLM
/// sentence encoder ships with: special tokens written in the text are kept whole; then
/// text cleaning (control characters dropped, whitespace unified), spaces around CJK
/// ideographs, accent stripping (NFD, marks removed) and lower-casing; splitting on
/// whitespace and punctuation; greedy longest-match WordPiece with "##" continuations
/// ([UNK] for words over 100 characters or with no match); [CLS] … [SEP], truncated to
/// `maxLength` ids.
public struct WordPieceTokenizer: Sendable {
    public let vocabulary: [String: Int32]
    public let maxLength: Int
    public let lowercase: Bool
    public let splitCJK: Bool
    let unk: Int32, cls: Int32, sep: Int32
    let specials: [String]
    static let maxWordCharacters = 100

    public init(vocabularyFile path: String, maxLength: Int = 256, lowercase: Bool = true, splitCJK: Bool = true) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw RestoreError.fileNotFound(path: path) }
        var vocab: [String: Int32] = [:]
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let token = line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
            if token.isEmpty && i > 0 { continue }
            if vocab[token] == nil { vocab[token] = Int32(i) }
        }
        try self.init(vocabulary: vocab, maxLength: maxLength, lowercase: lowercase, splitCJK: splitCJK, path: path)
    }

    public init(vocabulary: [String: Int32], maxLength: Int = 256, lowercase: Bool = true, splitCJK: Bool = true, path: String = "vocabulary") throws {
        func id(_ t: String) throws -> Int32 {
            guard let v = vocabulary[t] else { throw RestoreError.invalidData(path: path, reason: "no \(t) token in the vocabulary") }
            return v
        }
        self.vocabulary = vocabulary
        self.maxLength = maxLength
        self.lowercase = lowercase
        self.splitCJK = splitCJK
        unk = try id("[UNK]"); cls = try id("[CLS]"); sep = try id("[SEP]")
        specials = ["[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]"].filter { vocabulary[$0] != nil }
    }

    /// Token ids with [CLS] and [SEP], at most `maxLength`.
    public func encode(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        for (piece, special) in splitSpecials(text) {
            if special { ids.append(vocabulary[piece]!); continue }
            for word in words(normalize(piece)) { ids += wordPiece(word) }
        }
        if ids.count > maxLength - 2 { ids.removeLast(ids.count - (maxLength - 2)) }
        return [cls] + ids + [sep]
    }

    /// Text split around special tokens written literally (they become their own ids).
    func splitSpecials(_ text: String) -> [(String, Bool)] {
        var out: [(String, Bool)] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            var hit: (Range<Substring.Index>, String)? = nil
            for s in specials {
                if let r = rest.range(of: s), hit == nil || r.lowerBound < hit!.0.lowerBound { hit = (r, s) }
            }
            guard let (r, s) = hit else { out.append((String(rest), false)); break }
            if r.lowerBound > rest.startIndex { out.append((String(rest[..<r.lowerBound]), false)) }
            out.append((s, true))
            rest = rest[r.upperBound...]
        }
        return out
    }

    static func isControl(_ s: Unicode.Scalar) -> Bool {
        if s == "\t" || s == "\n" || s == "\r" { return false }
        switch s.properties.generalCategory {
        case .control, .format, .privateUse, .surrogate, .unassigned: return true
        default: return false
        }
    }

    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        s == " " || s == "\t" || s == "\n" || s == "\r" || s.properties.generalCategory == .spaceSeparator
    }

    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation: return true
        default: return false
        }
    }

    static func isCJK(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        return (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B820...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }

    /// Cleaning, CJK spacing, accent stripping and lower-casing (BERT's normaliser).
    func normalize(_ text: String) -> String {
        var cleaned = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if s.value == 0 || s.value == 0xFFFD || Self.isControl(s) { continue }
            if Self.isWhitespace(s) { cleaned.append(" "); continue }
            if splitCJK && Self.isCJK(s) { cleaned.append(" "); cleaned.append(s); cleaned.append(" "); continue }
            cleaned.append(s)
        }
        guard lowercase else { return String(cleaned) }
        var out = String.UnicodeScalarView()
        for s in String(cleaned).decomposedStringWithCanonicalMapping.unicodeScalars where s.properties.generalCategory != .nonspacingMark {
            out.append(s)
        }
        return String(out).lowercased()
    }

    /// Whitespace-separated words, each punctuation character its own word.
    func words(_ text: String) -> [String] {
        var out: [String] = [], cur = String.UnicodeScalarView()
        func flush() { if !cur.isEmpty { out.append(String(cur)); cur = String.UnicodeScalarView() } }
        for s in text.unicodeScalars {
            if Self.isWhitespace(s) { flush() } else if Self.isPunctuation(s) { flush(); out.append(String(s)) } else { cur.append(s) }
        }
        flush()
        return out
    }

    /// Greedy longest match from the left; a word that cannot be covered is [UNK].
    func wordPiece(_ word: String) -> [Int32] {
        let chars = Array(word.unicodeScalars)
        if chars.count > Self.maxWordCharacters { return [unk] }
        var ids: [Int32] = []
        var start = 0
        while start < chars.count {
            var end = chars.count, found: Int32? = nil
            while start < end {
                var piece = String(String.UnicodeScalarView(chars[start..<end]))
                if start > 0 { piece = "##" + piece }
                if let id = vocabulary[piece] { found = id; break }
                end -= 1
            }
            guard let id = found else { return [unk] }
            ids.append(id)
            start = end
        }
        return ids
    }
}
