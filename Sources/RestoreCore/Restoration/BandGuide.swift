import Foundation

/// Expected levels for what the engine generates, from a DSP estimate of the band (for
/// bandwidth extension: the input's spectral band replication) or from the known columns
/// beside the generated ones (gap filling), used in two ways that keep the level true:
/// * prior-initialised decoding: the masked tokens start from the estimate's tokens and
///   only the least probable of them are re-masked (`initialMaskRatio`);
/// * a level guard: each generated cell (one token row's bins × `framesPerCell` frames) whose
///   mean level is more than `toleranceDB` from the estimate's is moved to the edge of the
///   tolerance. The engine keeps its fine structure; the estimate, which follows the input
///   frame by frame, bounds its envelope.
/// With `fromNeighbours`, a row's expected level in a generated column is its level in the
/// nearest known columns on either side, interpolated linearly across (one side if only one
/// exists); there is no prior then, and `floorDB` may add a one-sided floor (`FillFloor`).
public struct BandGuide: Sendable {
    /// The estimate at the engine's rate, aligned with the window's slice (unused with
    /// `fromNeighbours`).
    public var estimate: [Float]
    public var fromNeighbours = false
    public var priorTokens: Bool
    public var initialMaskRatio: Float
    /// nil: no level guard.
    public var toleranceDB: Float?
    /// Frames of one level-guard cell; nil: one token column's.
    public var framesPerCell: Int?
    /// With `fromNeighbours`: generated cells more than this many dB under the louder side are
    /// raised to it (`FillFloor`); nil: no floor.
    public var floorDB: Float?
    /// The floor applies to runs of generated columns at most this long (seconds).
    public var floorLongestSeconds: Double = FillFloor.longestSeconds

    public init(estimate: [Float], priorTokens: Bool = false, initialMaskRatio: Float = 0.5,
                toleranceDB: Float? = nil, framesPerCell: Int? = nil) {
        self.estimate = estimate
        self.priorTokens = priorTokens
        self.initialMaskRatio = initialMaskRatio
        self.toleranceDB = toleranceDB
        self.framesPerCell = framesPerCell
    }

    /// A level guard whose expected levels come from the known columns beside the generated
    /// ones, and a floor under the louder of them; either may be nil (off).
    public static func neighbours(toleranceDB: Float?, floorDB: Float? = nil) -> BandGuide {
        var g = BandGuide(estimate: [], toleranceDB: toleranceDB)
        g.fromNeighbours = true
        g.floorDB = floorDB
        return g
    }
}

/// What the level guard did in one window.
public struct LevelGuardReport: Sendable, Equatable {
    public var cells = 0
    public var corrected = 0
    /// Sum of |correction| in dB over corrected cells, and their signed sum.
    public var absoluteDB = 0.0
    public var signedDB = 0.0

    public init() {}

    public mutating func add(_ o: LevelGuardReport) {
        cells += o.cells; corrected += o.corrected; absoluteDB += o.absoluteDB; signedDB += o.signedDB
    }
}

public enum LevelGuard {
    /// Expected levels (bins × frames, normalised mel) from `window` for the guard with
    /// `BandGuide.neighbours`: in known columns each row's mean over the column's frames inside
    /// the audio (`audio`, window frames), in generated columns the linear interpolation of
    /// the nearest known ones on each side. Cells with no known column in their row stay at −1.
    public static func neighbourLevels(window: [Float], bins: Int, frames: Int, rows: Int, columns: Int, binsPerRow: Int,
                                       framesPerToken fpt: Int, known: [Bool], audio: Range<Int>) -> [Float] {
        var expected = [Float](repeating: -1, count: bins * frames)
        for r in 0..<rows {
            let binRange = (r * binsPerRow)..<min(bins, (r + 1) * binsPerRow)
            var level = [Float?](repeating: nil, count: columns)
            for c in 0..<columns where known[r * columns + c] {
                let frameRange = ((c * fpt)..<((c + 1) * fpt)).clamped(to: audio)
                guard !frameRange.isEmpty else { continue }
                var sum: Float = 0
                for b in binRange { for f in frameRange { sum += window[b * frames + f] } }
                level[c] = sum / Float(binRange.count * frameRange.count)
            }
            for c in 0..<columns where !known[r * columns + c] {
                let left = (0..<c).last { level[$0] != nil }, right = ((c + 1)..<columns).first { level[$0] != nil }
                let value: Float
                switch (left, right) {
                case let (l?, r?): value = level[l]! + (level[r]! - level[l]!) * Float(c - l) / Float(r - l)
                case let (l?, nil): value = level[l]!
                case let (nil, r?): value = level[r]!
                default: continue
                }
                for b in binRange { for f in (c * fpt)..<min(frames, (c + 1) * fpt) { expected[b * frames + f] = value } }
            }
        }
        return expected
    }

    /// dB per unit of normalised mel: [−1, 1] spans the front end's dbMin…dbMax (100 dB for
    /// the standard front end, more for a tokenizer with a lower floor).
    public static func dBPerUnit(_ config: MelConfig) -> Float { (config.dbMax - config.dbMin) / 2 }

    /// Clamps the mean level of each cell of `generated` (bins × frames, bin-major, normalised
    /// mel by `mel`) to within `toleranceDB` of `expected`'s. A cell is `binsPerRow` bins of one
    /// row × `framesPerCell` frames; only bins where `weight(bin, frame) ≥ 0.5` (the generated
    /// part) are measured and moved, and only in `rows`.
    public static func apply(generated: inout [Float], expected: [Float], bins: Int, frames: Int, rows: [Int], binsPerRow: Int,
                             framesPerCell: Int, toleranceDB: Float, mel: MelConfig = .standard,
                             weight: (Int, Int) -> Float) -> LevelGuardReport {
        precondition(generated.count == bins * frames && expected.count == bins * frames)
        var report = LevelGuardReport()
        let dBPerUnit = Self.dBPerUnit(mel)
        let tolerance = toleranceDB / dBPerUnit
        for r in rows {
            var start = 0
            while start < frames {
                let end = min(frames, start + max(1, framesPerCell))
                var sumG: Float = 0, sumE: Float = 0, count = 0
                for b in (r * binsPerRow)..<min(bins, (r + 1) * binsPerRow) {
                    for f in start..<end where weight(b, f) >= 0.5 {
                        sumG += generated[b * frames + f]; sumE += expected[b * frames + f]; count += 1
                    }
                }
                if count > 0 {
                    report.cells += 1
                    let diff = (sumG - sumE) / Float(count)
                    if abs(diff) > tolerance {
                        let shift = diff > 0 ? tolerance - diff : -tolerance - diff
                        for b in (r * binsPerRow)..<min(bins, (r + 1) * binsPerRow) {
                            for f in start..<end where weight(b, f) >= 0.5 {
                                generated[b * frames + f] = max(-1, min(1, generated[b * frames + f] + shift))
                            }
                        }
                        report.corrected += 1
                        report.absoluteDB += Double(abs(shift) * dBPerUnit)
                        report.signedDB += Double(shift * dBPerUnit)
                    }
                }
                start = end
            }
        }
        return report
    }
}
