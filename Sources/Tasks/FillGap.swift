import Foundation
import RestoreCore

/// `fill-gap`: time inpainting. Every row of the token columns that overlap a gap is masked
/// and regenerated on the `Restorer`, in one window centred on each cluster of gaps with up
/// to 10 s of context; the result is spliced in: the original everywhere outside the gaps
/// and their crossfades, the generated audio inside, its gain matched to the audio beside
/// the gap and its peak kept under the peak there (a fill never clips a quiet recording).
/// Options and gap finding: FillGapPlan.swift.
public struct FillGap: RestoreTask {
    public static let name = "fill-gap"
    public static let summary = "Fill gaps and dropouts with generated audio that fits the surroundings."
    public static let writesAudio = true

    public let options: Options
    public init(options: Options) throws { try options.validate(); self.options = options }

    /// At least this much audio is kept on each side of a gap inside its window.
    public static let minimumContext = 1.0
    /// The fill floor's default (dB): see `Options.fillFloor`.
    public static let defaultFillFloor: Double? = 12
    /// Audio beside a gap that sets the fill's gain and peak.
    static let beside = 0.1

    public func run(input: TaskInput, context: TaskContext) throws -> TaskResult {
        let output = try context.requireOutput(Self.name)
        let planned = try plan(path: input.path)
        let gaps = planned.gaps, rate = planned.rate
        var clusters: [[TimeSpan]] = []
        var restorer: Restorer? = nil
        if !gaps.isEmpty {
            let model = try context.model()
            restorer = Restorer(model: model)
            clusters = try Restorer.cluster(gaps, windowSeconds: model.windowSeconds,
                                            context: Self.minimumContext, path: input.path, noun: "gap", verb: "filled")
        }
        var gains: [Double: [Float]] = [:]
        var guardReport: LevelGuardReport? = nil, floorReport: LevelGuardReport? = nil
        let source = try ValidatedAudioSource(path: input.path)
        if let restorer {
            let model = restorer.model
            let xf = Int((options.crossfade.seconds * rate).rounded())
            let tolerance = options.levelGuard.map(Float.init), floorDB = options.fillFloor.map(Float.init)
            let guard_: (([Float]) -> BandGuide)? = tolerance == nil && floorDB == nil ? nil : { _ in BandGuide.neighbours(toleranceDB: tolerance, floorDB: floorDB) }
            let job = RestorationJob(layout: .around(clusters: clusters, totalFrames: planned.frames), channels: options.channels,
                                     sampling: context.sampling, mask: { p in Self.mask(clusters[p.index], placement: p, model: model) },
                                     vocodeFrames: { p in Self.framesAround(clusters[p.index], placement: p, model: model, crossfade: xf) },
                                     guide: guard_,
                                     splice: { original, generated, p in
                                         var out = original
                                         for g in clusters[p.index] { gains[g.start] = Self.splice(g, original: original, generated: generated, into: &out, sliceStart: p.sliceStart, crossfade: xf) }
                                         return out
                                     })
            let r = try restorer.run(source, job: job, output: output, options: context.writeOptions, expectedFrames: planned.frames, progress: context.progress)
            if options.levelGuard != nil { guardReport = r.levelGuard }
            if options.fillFloor != nil { floorReport = r.fillFloor }
        } else {
            let writer = try AudioStreamWriter(path: output, sampleRate: rate, channelCount: planned.channels, options: context.writeOptions)
            while let block = try source.read(maxFrames: 65536) { try writer.write(block) }
            try writer.finish()
        }
        let found = options.detect ? " (\(planned.detected) dropout\(planned.detected == 1 ? "" : "s") detected)" : ""
        context.notes.append(gaps.isEmpty ? "\(input.path): no gaps found; copied unchanged"
                             : "\(input.path): filled \(gaps.count) gap\(gaps.count == 1 ? "" : "s")\(found)")
        let reports: [JSONValue] = gaps.map { g in .object(["start": .of(g.start), "end": .of(g.end), "gain": .array((gains[g.start] ?? []).map { .of(Double($0)) })]) }
        var report: [String: JSONValue] = ["gaps": .array(reports), "filled": .of(gaps.count), "detected": .of(planned.detected)]
        if let g = guardReport { report["level_guard"] = g.json }
        if let f = floorReport { report["fill_floor"] = .object(["cells": .of(f.cells), "raised": .of(f.corrected), "mean_raise_db": .of(f.corrected > 0 ? f.signedDB / Double(f.corrected) : 0)]) }
        return TaskResult(task: Self.name, input: input.path, outputs: [output], report: report)
    }

    /// Every row of the columns whose frames' analysis windows touch a gap; the generated mel
    /// ramps out over 3 frames on each side.
    static func mask(_ gaps: [TimeSpan], placement p: WindowPlacement, model: EngineModel) -> WindowMask {
        let er = model.sampleRate, hop = Double(model.hop), wf = model.windowFrames, cols = model.windowColumns, fpt = model.framesPerToken
        let nfft = Double(model.frontEnd.config.nFFT), pad = (nfft - hop) / 2
        var affected = [Bool](repeating: false, count: wf)
        for g in gaps {
            let ga = (g.start - Double(p.sliceStart) / p.rate) * er, gb = (g.end - Double(p.sliceStart) / p.rate) * er
            for f in 0..<wf {
                let lo = Double(p.windowFrame + f) * hop - pad
                if lo < gb && lo + nfft > ga { affected[f] = true }
            }
        }
        var known = [Bool](repeating: true, count: model.rows * cols)
        for c in 0..<cols where (c * fpt..<(c + 1) * fpt).contains(where: { affected[$0] }) { for r in 0..<model.rows { known[r * cols + c] = false } }
        let weight: [Float] = (0..<wf).map { f in
            let d = (max(0, f - 3)...min(wf - 1, f + 3)).filter { affected[$0] }.map { abs($0 - f) }.min()
            return d.map { max(0, 1 - Float($0) / 4) } ?? 0
        }
        return WindowMask(known: known) { _, f in weight[f] }
    }

    /// Only the audio around the gaps is used (splice, crossfades and the audio beside each
    /// gap), so only those mel frames are vocoded.
    static func framesAround(_ gaps: [TimeSpan], placement p: WindowPlacement, model: EngineModel, crossfade xf: Int) -> Range<Int> {
        let toFrame = { (t: Int) in Double(t - p.sliceStart) * model.sampleRate / p.rate / Double(model.hop) }
        let around = Int(beside * p.rate)
        let first = Int(toFrame(Int((gaps.first!.start * p.rate).rounded()) - xf - around).rounded(.down)) - 2
        let last = Int(toFrame(Int((gaps.last!.end * p.rate).rounded()) + xf + around).rounded(.up)) + 2
        return max(0, first)..<max(0, last)
    }

    /// Splices one gap's generated audio into `out`; returns the gain per channel.
    static func splice(_ g: TimeSpan, original: AudioBuffer, generated: AudioBuffer, into out: inout AudioBuffer, sliceStart a: Int, crossfade xf: Int) -> [Float] {
        let rate = original.sampleRate, n = a + original.frameCount, around = Int(beside * rate)
        let ga = Int((g.start * rate).rounded()), gb = min(n, Int((g.end * rate).rounded()))
        let besideGap = Array(max(a, ga - around)..<ga) + Array(gb..<min(n, gb + around))
        return (0..<original.channelCount).map { ch in
            let orig = original.channels[ch], y = generated.channels[ch]
            // Gain: the original's level beside the gap over the generated audio's there.
            var eo = 0.0, eg = 0.0, peak: Float = 0
            for t in besideGap { eo += Double(orig[t - a] * orig[t - a]); eg += Double(y[t - a] * y[t - a]); peak = max(peak, abs(orig[t - a])) }
            var gain = eg > 1e-12 && eo > 1e-12 ? Float(max(0.25, min(4, (eo / eg).squareRoot()))) : 1
            let span = max(a, ga - xf)..<min(n, gb + xf)
            let fillPeak = span.map { abs(y[$0 - a]) }.max() ?? 0
            if peak > 0, gain * fillPeak > peak { gain = peak / fillPeak }
            for t in span {
                let w: Float = t < ga ? Float(t - (ga - xf) + 1) / Float(xf + 1) : t >= gb ? Float(gb + xf - t) / Float(xf + 1) : 1
                out.channels[ch][t - a] = w * gain * y[t - a] + (1 - w) * orig[t - a]
            }
            return gain
        }
    }
}
