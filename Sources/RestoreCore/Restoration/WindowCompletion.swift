import Foundation

/// What a task masks in one model window, and how much of the generated mel replaces the
/// input's at each (mel bin, window frame). Known regions pass through: the weight is 0
/// there, 1 deep inside masked regions, and ramps at the borders (engine.md §2).
public struct WindowMask {
    /// Row-major rows × columns; false = generate.
    public var known: [Bool]
    public var generatedWeight: (_ bin: Int, _ frame: Int) -> Float

    public init(known: [Bool], generatedWeight: @escaping (_ bin: Int, _ frame: Int) -> Float) {
        self.known = known
        self.generatedWeight = generatedWeight
    }
}

/// Sampler settings shared by every generative task.
/// How the engine's generated cells become mel: from the code of the token the sampler drew,
/// or from the expected code under the distribution it drew that token from (the tokens
/// themselves are the same). Expected codes are the default for restoration: with a model that
/// is right about one token in five, the mean of what it believes is closer to the missing
/// audio than one draw (the shipped model's 0.5 s gap gate 2.016 → 1.958, better in 14 of 16
/// clips; BWE unchanged). Generation keeps drawn codes: its clips should sound like one
/// plausible sound, not an average of many.
public enum TokenDecoding: String, Sendable, Equatable, CaseIterable {
    case sampled, expected

    /// Restoration's default.
    public static let restoration = TokenDecoding.expected
    /// Generation's default.
    public static let generation = TokenDecoding.sampled
}

public struct SamplingSettings: Sendable, Equatable {
    public var iterations: Int = 16
    /// Classifier-free guidance at the last iteration (only prompted generation has a
    /// condition). 10, not the sampler's 3: the prompt gate (72 clips of the shipped model)
    /// follows 50 % of prompts at 10, 32 % at 3.
    public var guidance: Float = 10.0
    public var temperature: Float = 1.5
    public var seed: UInt64 = 0
    /// A 384-d condition (MiniLM space); nil = unconditional.
    public var condition: [Float]? = nil
    /// nil: the task's default (`TokenDecoding.restoration` or `.generation`).
    public var decoding: TokenDecoding? = nil

    public init(iterations: Int = 16, guidance: Float = 10.0, temperature: Float = 1.5, seed: UInt64 = 0, condition: [Float]? = nil) {
        self.iterations = iterations
        self.guidance = guidance
        self.temperature = temperature
        self.seed = seed
        self.condition = condition
    }
}

/// One model window through the engine: audio slice (22 050 Hz) → normalised mel → tokens →
/// masked completion → decoded mel blended into the input's mel → vocoder → audio slice.
public struct WindowCompletion {
    public let model: EngineModel
    let vocoder: HiFiGAN
    /// Throws when the engine was loaded without a vocoder.
    public init(model: EngineModel) throws {
        self.model = model
        self.vocoder = try model.vocoder
    }

    public struct Result {
        /// The vocoded slice, same length as the input slice.
        public var audio: [Float]
        /// The completed window grid.
        public var grid: TokenGrid
        /// Grid positions that were generated (row-major).
        public var generated: Int
        /// What the level guard corrected (all zero without one).
        public var levelGuard = LevelGuardReport()
        /// What the fill floor raised (all zero without one).
        public var fillFloor = LevelGuardReport()
    }

    /// `windowFrame` is the first mel frame of the model window inside the slice; frames past
    /// the slice's end are silence. `carried` fixes tokens (row-major; nil = free) that an
    /// earlier overlapping window already generated, so consecutive windows agree.
    /// With `vocodeFrames`, only those mel frames of the slice are vocoded (with the vocoder's
    /// own context around them, so the samples equal a whole-slice synthesis there); the rest
    /// of the returned audio is silence. Gap filling needs only the audio around its gaps.
    public func run(slice: [Float], windowFrame j0: Int, mask: WindowMask, carried: [Int32?]? = nil,
                    settings: SamplingSettings, vocodeFrames: Range<Int>? = nil, guide: BandGuide? = nil) -> Result {
        let fe = model.frontEnd, wf = model.windowFrames, rows = model.rows, cols = model.windowColumns
        let bands = fe.config.melCount
        var mel = fe.normalizedMel(slice)
        let frames = mel.frames
        /// The model window's part of a slice-long mel (silence past the slice).
        func windowed(_ m: MelSpectrogram) -> [Float] {
            var w = [Float](repeating: -1, count: bands * wf)
            for b in 0..<bands {
                for f in 0..<wf where j0 + f >= 0 && j0 + f < min(frames, m.frames) { w[b * wf + f] = m.values[b * m.frames + j0 + f] }
            }
            return w
        }
        let window = windowed(mel)
        let estimate = guide.flatMap { $0.fromNeighbours ? nil : windowed(fe.normalizedMel($0.estimate)) }
        var grid = model.tokenizer.encode(MelSpectrogram(melCount: bands, frames: wf, values: window))
        precondition(grid.rows == rows && grid.columns == cols && mask.known.count == rows * cols)
        var known = mask.known
        // Columns wholly past the end of the audio stay silence: a window longer than what is
        // left (or than a short file) never grows new sound in its padding.
        let fpt = model.framesPerToken
        for c in 0..<cols where j0 + c * fpt >= frames { for r in 0..<rows { known[r * cols + c] = true } }
        // A hybrid model also reads the true mel of known cells; carried cells were generated
        // by the engine, so they have none.
        var patches = model.transformer.config.patchValues == nil ? nil
            : Engine.patches(MelSpectrogram(melCount: bands, frames: wf, values: window), rows: rows, columns: cols)
        if let carried {
            for p in 0..<known.count where !known[p] {
                if let id = carried[p] {
                    grid.ids[p] = id
                    known[p] = true
                    if let pv = model.transformer.config.patchValues, patches != nil {
                        let s = ((p % cols) * rows + p / cols) * pv
                        for v in 0..<pv { patches![s + v] = 0 }
                    }
                }
            }
        }
        let unknown = known.filter { !$0 }.count
        var distributions: [Int: [Float]] = [:]
        if unknown > 0 {
            let prior = guide.flatMap { g in g.priorTokens ? estimate.map { model.tokenizer.encode(MelSpectrogram(melCount: bands, frames: wf, values: $0)) } : nil }
            let completion = Engine(transformer: model.transformer).completion(
                grid: grid, known: known, condition: settings.condition, iterations: settings.iterations,
                guidance: settings.guidance, temperature: settings.temperature, seed: settings.seed,
                prior: prior, initialMaskRatio: prior == nil ? 1 : guide!.initialMaskRatio,
                patches: patches, distributions: (settings.decoding ?? .restoration) == .expected)
            grid = completion.grid
            distributions = completion.distributions
        }
        var decoded = model.tokenizer.decode(grid, frames: wf, expected: distributions)
        var levelGuard = LevelGuardReport()
        let inside = max(0, min(wf, frames - j0))
        // The guard and the floor measure and move only the generated part inside the audio.
        let generatedInsideAudio = { (b: Int, f: Int) -> Float in f < inside && f + j0 >= 0 ? mask.generatedWeight(b, f) : 0 }
        let expected = guide.flatMap { g in
            g.fromNeighbours ? LevelGuard.neighbourLevels(window: window, bins: bands, frames: wf, rows: rows, columns: cols, binsPerRow: model.binsPerRow,
                                                           framesPerToken: fpt, known: known, audio: min(inside, max(0, -j0))..<inside) : estimate
        }
        if let guide, let tolerance = guide.toleranceDB, let expected {
            // Only rows the engine generated, and only frames inside the audio.
            let generatedRows = (0..<rows).filter { r in (0..<cols).contains { !known[r * cols + $0] } }
            levelGuard = LevelGuard.apply(generated: &decoded.values, expected: expected, bins: bands, frames: wf, rows: generatedRows,
                                          binsPerRow: model.binsPerRow, framesPerCell: guide.framesPerCell ?? fpt, toleranceDB: tolerance,
                                          mel: fe.config,
                                          weight: generatedInsideAudio)
        }
        var fillFloor = LevelGuardReport()
        if let guide, guide.fromNeighbours, let floorDB = guide.floorDB {
            // After the guard, so that the floor has the last word on the quiet side.
            let louder = FillFloor.louderNeighbourLevels(window: window, bins: bands, frames: wf, rows: rows, columns: cols, binsPerRow: model.binsPerRow,
                                                         framesPerToken: fpt, known: known, audio: min(inside, max(0, -j0))..<inside, mel: fe.config,
                                                         longestRun: FillFloor.longestRun(seconds: guide.floorLongestSeconds, model: model))
            fillFloor = FillFloor.apply(generated: &decoded.values, louder: louder, floorDB: floorDB, bins: bands, frames: wf, rows: rows, columns: cols,
                                        binsPerRow: model.binsPerRow, framesPerToken: fpt, mel: fe.config,
                                        weight: generatedInsideAudio)
        }
        for b in 0..<bands {
            for f in 0..<wf where j0 + f >= 0 && j0 + f < frames {
                let w = mask.generatedWeight(b, f)
                if w <= 0 { continue }
                let i = b * frames + j0 + f
                mel.values[i] = w * max(-1, min(1, decoded.values[b * wf + f])) + (1 - w) * mel.values[i]
            }
        }
        var audio: [Float]
        if let range = vocodeFrames?.clamped(to: 0..<frames), !range.isEmpty {
            let ctx = HiFiGAN.chunkContext
            let lo = max(0, range.lowerBound - ctx), hi = min(frames, range.upperBound + ctx)
            var part = [Float](repeating: 0, count: bands * (hi - lo))
            for b in 0..<bands { for f in lo..<hi { part[b * (hi - lo) + f - lo] = mel.values[b * frames + f] } }
            let y = vocoder.synthesize(fe.logMel(fromNormalized: MelSpectrogram(melCount: bands, frames: hi - lo, values: part)))
            let hop = model.hop
            audio = [Float](repeating: 0, count: frames * hop)
            let keep = (range.lowerBound - lo) * hop
            for i in 0..<(range.count * hop) where keep + i < y.count { audio[range.lowerBound * hop + i] = y[keep + i] }
        } else {
            audio = vocoder.synthesize(fe.logMel(fromNormalized: mel))
        }
        if audio.count < slice.count { audio += [Float](repeating: 0, count: slice.count - audio.count) }
        else { audio.removeLast(audio.count - slice.count) }
        return Result(audio: audio, grid: grid, generated: unknown, levelGuard: levelGuard, fillFloor: fillFloor)
    }
}
