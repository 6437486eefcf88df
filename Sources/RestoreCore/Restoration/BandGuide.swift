import Foundation

/// A DSP estimate of the band the engine generates (for bandwidth extension: the input's
/// spectral band replication), used in two ways that keep the new band's level true:
/// * prior-initialised decoding: the masked tokens start from the estimate's tokens and
///   only the least probable of them are re-masked (`initialMaskRatio`);
/// * a level guard: each generated cell (one token row's bins × `framesPerCell` frames) whose
///   mean level is more than `toleranceDB` from the estimate's is moved to the edge of the
///   tolerance. The engine keeps its fine structure; the estimate, which follows the input
///   frame by frame, bounds its envelope.
public struct BandGuide: Sendable {
    /// The estimate at the engine's rate, aligned with the window's slice.
    public var estimate: [Float]
    public var priorTokens: Bool
    public var initialMaskRatio: Float
    /// nil: no level guard.
    public var toleranceDB: Float?
    /// Frames of one level-guard cell; nil: one token column's.
    public var framesPerCell: Int?

    public init(estimate: [Float], priorTokens: Bool = false, initialMaskRatio: Float = 0.5,
                toleranceDB: Float? = nil, framesPerCell: Int? = nil) {
        self.estimate = estimate
        self.priorTokens = priorTokens
        self.initialMaskRatio = initialMaskRatio
        self.toleranceDB = toleranceDB
        self.framesPerCell = framesPerCell
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
