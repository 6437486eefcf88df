import Foundation

/// A one-sided level floor for gap filling: each generated cell (one token row × one token
/// column) whose mean level is more than `floorDB` under the louder of the row's nearest known
/// columns on either side is raised to that level.
///
/// Why one-sided and why the louder side, as power: a gap in active audio often covers an
/// onset that the audio beside it does not show, and the engine tends to fill such a gap with
/// near-silence (measured on `make validate`'s gaps: knife and speech onsets filled 25–50 dB
/// under the original). The level guard cannot see it: it compares log-mel means, which put
/// speech with pauses ~25 dB under its power. A fill quieter than its surroundings is kept up
/// to `floorDB`, so decays and pauses survive; a fill is never lowered by the floor. Only
/// short runs of generated columns get a floor (`longestRun`): measured on 1.5 s gaps, a floor
/// made the fills worse (speech pauses and decays that long are real), on 0.5 s gaps better.
public enum FillFloor {
    /// Per row and column (row-major, rows × columns): for a generated cell, the level in
    /// normalised mel of the louder of the nearest known columns on each side — the power mean
    /// over the row's bins × the column's frames inside `audio` (window frames) — and nil for
    /// known cells, rows with no known column, and cells in a run of more than `longestRun`
    /// generated columns.
    public static func louderNeighbourLevels(window: [Float], bins: Int, frames: Int, rows: Int, columns: Int, binsPerRow: Int,
                                             framesPerToken fpt: Int, known: [Bool], audio: Range<Int>, mel: MelConfig,
                                             longestRun: Int = .max) -> [Float?] {
        precondition(window.count == bins * frames && known.count == rows * columns)
        let dBPerUnit = Double(LevelGuard.dBPerUnit(mel))
        var out = [Float?](repeating: nil, count: rows * columns)
        for r in 0..<rows {
            let binRange = (r * binsPerRow)..<min(bins, (r + 1) * binsPerRow)
            var level = [Float?](repeating: nil, count: columns)
            for c in 0..<columns where known[r * columns + c] {
                let frameRange = ((c * fpt)..<((c + 1) * fpt)).clamped(to: audio)
                guard !frameRange.isEmpty, !binRange.isEmpty else { continue }
                var power = 0.0
                for b in binRange { for f in frameRange { power += pow(10, Double(window[b * frames + f]) * dBPerUnit / 10) } }
                level[c] = Float(10 * log10(power / Double(binRange.count * frameRange.count)) / dBPerUnit)
            }
            for c in 0..<columns where !known[r * columns + c] {
                let first = ((0..<c).last { known[r * columns + $0] } ?? -1) + 1
                let end = ((c + 1)..<columns).first { known[r * columns + $0] } ?? columns
                guard end - first <= longestRun else { continue }
                let left = (0..<c).last { level[$0] != nil }.flatMap { level[$0] }
                let right = ((c + 1)..<columns).first { level[$0] != nil }.flatMap { level[$0] }
                out[r * columns + c] = [left, right].compactMap { $0 }.max()
            }
        }
        return out
    }

    /// Raises each generated cell of `generated` (bins × frames, bin-major, normalised mel)
    /// whose mean level is more than `floorDB` under `louder` (from `louderNeighbourLevels`)
    /// to exactly that distance. Only bins where `weight(bin, frame) ≥ 0.5` (the generated
    /// part) are measured and moved. The report counts cells measured and raised.
    public static func apply(generated: inout [Float], louder: [Float?], floorDB: Float, bins: Int, frames: Int, rows: Int, columns: Int,
                             binsPerRow: Int, framesPerToken fpt: Int, mel: MelConfig, weight: (Int, Int) -> Float) -> LevelGuardReport {
        precondition(generated.count == bins * frames && louder.count == rows * columns)
        var report = LevelGuardReport()
        let dBPerUnit = LevelGuard.dBPerUnit(mel)
        for r in 0..<rows {
            let binRange = (r * binsPerRow)..<min(bins, (r + 1) * binsPerRow)
            for c in 0..<columns {
                guard let reference = louder[r * columns + c] else { continue }
                let frameRange = (c * fpt)..<min(frames, (c + 1) * fpt)
                var sum: Float = 0, count = 0
                for b in binRange { for f in frameRange where weight(b, f) >= 0.5 { sum += generated[b * frames + f]; count += 1 } }
                guard count > 0 else { continue }
                report.cells += 1
                let shift = reference - floorDB / dBPerUnit - sum / Float(count)
                guard shift > 0 else { continue }
                for b in binRange { for f in frameRange where weight(b, f) >= 0.5 { generated[b * frames + f] = min(1, generated[b * frames + f] + shift) } }
                report.corrected += 1
                report.absoluteDB += Double(shift * dBPerUnit)
                report.signedDB += Double(shift * dBPerUnit)
            }
        }
        return report
    }
}

extension FillFloor {
    /// Gaps up to this long get a floor by default: 0.5 s gaps gained from it, 1.5 s lost.
    public static let longestSeconds = 1.0

    /// The most token columns a gap of `seconds` masks: its frames plus those whose analysis
    /// window reaches into it, over any alignment with the columns (fill-gap's mask).
    public static func longestRun(seconds: Double, model: EngineModel) -> Int {
        longestRun(seconds: seconds, sampleRate: model.sampleRate, hop: model.hop, nFFT: model.frontEnd.config.nFFT, framesPerToken: model.framesPerToken)
    }

    static func longestRun(seconds: Double, sampleRate: Double, hop: Int, nFFT: Int, framesPerToken: Int) -> Int {
        let frames = (seconds * sampleRate + Double(nFFT)) / Double(hop)
        return Int((frames / Double(framesPerToken)).rounded(.up)) + 1
    }
}
