import Foundation

/// Everything a task needs from the engine: front end, tokenizer, transformer and vocoder,
/// loaded and cross-checked once. Embeddings need no vocoder, so an engine may be loaded
/// without one (`load(…, withVocoder: false)`); asking it for audio then throws.
public struct EngineModel: Sendable {
    public let frontEnd: MelFrontEnd
    public let tokenizer: SpectrogramTokenizer
    public let transformer: MaskedTransformer
    /// nil when the engine was loaded without a vocoder.
    public let loadedVocoder: HiFiGAN?

    /// The vocoder, or a typed error when this engine was loaded without one.
    public var vocoder: HiFiGAN {
        get throws {
            guard let loadedVocoder else {
                throw RestoreError.invalidArgument("this engine was loaded without a vocoder (for embeddings); load it with one to synthesise audio")
            }
            return loadedVocoder
        }
    }

    /// The front end is the tokenizer's (its normalisation floor) unless one is given, and
    /// then it must normalise the same way.
    public init(tokenizer: SpectrogramTokenizer, transformer: MaskedTransformer, vocoder: HiFiGAN?,
                frontEnd: MelFrontEnd? = nil) throws {
        let frontEnd = frontEnd ?? tokenizer.frontEnd
        let t = tokenizer.config, m = transformer.config
        guard frontEnd.config == tokenizer.frontEnd.config else {
            throw RestoreError.invalidArgument(
                "the front end normalises at \(frontEnd.config.dbMin) dB but the tokenizer was trained at \(tokenizer.frontEnd.config.dbMin) dB")
        }
        if m.patch_conditioning == true, m.patch_size ?? 0 != t.bins_per_row * t.frames_per_token {
            throw RestoreError.invalidArgument(
                "the transformer's mel patches (\(m.patch_size ?? 0) values) are not the tokenizer's cells (\(t.bins_per_row)×\(t.frames_per_token))")
        }
        guard t.rows == m.rows, t.codebook_size == m.codebook_size else {
            throw RestoreError.invalidArgument(
                "the tokenizer (\(t.rows) rows, \(t.codebook_size) codes) does not match the transformer (\(m.rows) rows, \(m.codebook_size) codes)")
        }
        if let vocoder, vocoder.config.num_mels != frontEnd.config.melCount || vocoder.hop != frontEnd.config.hop {
            throw RestoreError.invalidArgument("the vocoder's mel (\(vocoder.config.num_mels) bands, hop \(vocoder.hop)) is not the front end's")
        }
        self.frontEnd = frontEnd
        self.tokenizer = tokenizer
        self.transformer = transformer
        self.loadedVocoder = vocoder
    }

    /// Loads the model folder (`nil`: the shipped default) and, unless `withVocoder` is false
    /// (embeddings: nothing is synthesised, and the vocoder need not be installed), the vocoder.
    public static func load(modelDirectory: String? = nil, vocoder: String? = nil, withVocoder: Bool = true) throws -> EngineModel {
        let files = try ModelLocator.modelFiles(directory: modelDirectory)
        let vocoderPath = withVocoder ? try ModelLocator.vocoder(explicit: vocoder) : nil
        let folder = (files.tokenizer as NSString).deletingLastPathComponent
        try ModelVerification.verify(files: [files.tokenizer, files.transformer] + (vocoderPath.map { [$0] } ?? []), manifestFolder: folder)
        let tokenizer = try SpectrogramTokenizer(path: files.tokenizer)
        try ModelManifest.checkMel(manifestFolder: folder, against: tokenizer.frontEnd.config)
        return try EngineModel(tokenizer: tokenizer, transformer: MaskedTransformer(path: files.transformer),
                               vocoder: vocoderPath.map { try HiFiGAN(path: $0) })
    }

    public var sampleRate: Double { frontEnd.config.sampleRate }
    public var hop: Int { frontEnd.config.hop }
    public var rows: Int { transformer.config.rows }
    public var framesPerToken: Int { tokenizer.config.frames_per_token }
    public var binsPerRow: Int { tokenizer.config.bins_per_row }
    /// Model window: columns of the transformer's grid, and the frames and samples they cover.
    public var windowColumns: Int { transformer.config.columns }
    public var windowFrames: Int { windowColumns * framesPerToken }
    public var samplesPerColumn: Int { framesPerToken * hop }
    /// Seconds of one mel frame and of one model window.
    public var frameSeconds: Double { Double(hop) / sampleRate }
    public var windowSeconds: Double { Double(windowFrames) * frameSeconds }
}

extension EngineModel {
    /// One channel at `rate` → the engine's 22 050 Hz.
    public func toEngineRate(_ x: [Float], from rate: Double) throws -> [Float] {
        rate == sampleRate ? x : try Resampler.resample(AudioBuffer(sampleRate: rate, mono: x), to: sampleRate).channels[0]
    }

    /// Engine-rate audio back to `rate`, cut or padded to exactly `length` samples.
    public func fromEngineRate(_ y: [Float], to rate: Double, length: Int) throws -> [Float] {
        var out = rate == sampleRate ? y : try Resampler.resample(AudioBuffer(sampleRate: sampleRate, mono: y), to: rate).channels[0]
        if out.count < length { out += [Float](repeating: 0, count: length - out.count) } else { out.removeLast(out.count - length) }
        return out
    }
}

extension TokenGrid {
    /// This window's tokens that the next window, `hopColumns` later, overlaps: fixed there
    /// as known context (row-major; nil where the next window has nothing from this one).
    public func carried(hopColumns: Int) -> [Int32?] {
        var out = [Int32?](repeating: nil, count: ids.count)
        for r in 0..<rows {
            for c in 0..<(columns - hopColumns) { out[r * columns + c] = self[r, c + hopColumns] }
        }
        return out
    }
}
