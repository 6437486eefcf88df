import Foundation

/// What the long-term spectrum says about a recording's band.
public struct BandwidthEstimate: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        /// Content up to Nyquist, or up to the file's own anti-alias edge (≥ 0.93 Nyquist).
        case fullBand = "full-band"
        /// A steep edge followed by a floor that stays down to Nyquist.
        case cut
        /// Digital silence, DC, a single tone or too little signal: nothing to measure.
        case none
    }
    /// Upper band edge in Hz: the cutoff's −6 dB point; for a full-band file its own
    /// anti-alias edge if one was found, else Nyquist; Nyquist when nothing is measurable.
    public var cutoff: Double
    /// Half the sample rate.
    public var nyquist: Double
    /// True unless a cutoff was found (also true when nothing is measurable).
    public var isFullBand: Bool
    public var kind: Kind
    /// Only a confident cutoff drives `bwe --cutoff auto`.
    public var confident: Bool
    /// 0…1, from the edge's depth, its steepness and how flat the floor above it stays.
    public var confidence: Double
    /// Depth of the edge (pass band minus floor), dB; 0 without an edge.
    public var edgeDepth: Double
    /// Width of the edge between its −3 dB and −(depth−3) dB points, Hz; 0 without an edge.
    public var edgeWidth: Double

    public init(cutoff: Double, nyquist: Double, kind: Kind, confident: Bool = false, confidence: Double = 0,
                edgeDepth: Double = 0, edgeWidth: Double = 0) {
        self.cutoff = cutoff
        self.nyquist = nyquist
        self.kind = kind
        self.isFullBand = kind != .cut
        self.confident = confident
        self.confidence = confidence
        self.edgeDepth = edgeDepth
        self.edgeWidth = edgeWidth
    }

    /// True when there was enough broadband signal to say anything.
    public var measurable: Bool { kind != .none }

    /// "full band", "cut at 4000 Hz (edge 62 dB over 180 Hz)", "no measurable bandwidth".
    public var summary: String {
        switch kind {
        case .none: return "no measurable bandwidth"
        case .fullBand: return "full band"
        case .cut:
            return "cut at \(Int(cutoff.rounded())) Hz (edge \(Int(edgeDepth.rounded())) dB over \(Int(edgeWidth.rounded())) Hz)"
                + (confident ? "" : ", not confident")
        }
    }
}

/// Tells a cutoff (a steep edge followed by a floor that stays down up to Nyquist) from the
/// natural roll-off of a recording, the same way at any sample rate. Used by
/// `bwe --cutoff auto` and reported by `restore info`.
///
/// The long-term power spectrum (≈10 Hz bins) is smoothed ±50 Hz (linear power) and clamped
/// `dynamicRange` dB under its loudest bin. Candidate edges are the frequencies f, on a
/// 1/96-octave grid, where the mean level over [f/1.12, f] minus that over [f, 1.06 f] peaks
/// (the six strongest are tried). An edge is a cutoff when
/// - its depth D (the pass band, upper quartile of [f/1.3, f], minus the median floor from
///   1.08 f to 0.95 Nyquist) is at least `minimumDepth` dB,
/// - it is steep: at least `minimumSlope` dB per octave between its −3 dB and floor + 3 dB
///   points (natural roll-off is a gradual slope, rarely over 30–40 dB/octave),
/// - the floor stays down up to 0.95 Nyquist (above that the file's own anti-alias filter
///   lives): nothing in it within `minimumDepth` − 5 dB of the pass band, and no
///   third-octave band of it more than `floorTolerance` dB over the quietest one below it,
/// - the pass band is a band: at least 4 of the six third-octave bands below the edge are
///   20 dB over the floor (a single tone is not).
/// The cutoff is the edge's −6 dB point, measured from the top of the edge (the highest
/// level within 6 % under its midpoint), so a sloping pass band does not pull it down.
/// An edge at 0.93 Nyquist or above is the file's own anti-alias filter: full band, with
/// `cutoff` at that edge (what `bwe` extends from when the rate is below the engine's).
/// Digital silence, DC, a lone sine and signals under the 16-bit noise floor are `none`.
public enum BandwidthEstimator {
    public static let minimumDepth = 25.0
    public static let minimumSlope = 60.0
    public static let floorTolerance = 8.0
    /// Spectral levels are clamped this far under the loudest smoothed bin, so stop bands
    /// computed in floating point (−150 dB) read as flat as quantised ones.
    static let dynamicRange = 100.0

    /// Spectral resolution of the long-term spectrum, about 10 Hz per bin.
    static func fftSize(for rate: Double) -> Int {
        var n = 256
        while Double(n) < rate / 10 { n *= 2 }
        return n
    }

    /// The band edge of a whole buffer.
    public static func estimate(_ buffer: AudioBuffer) -> BandwidthEstimate {
        var acc = LongTermSpectrum(rate: buffer.sampleRate, channels: buffer.channelCount, totalFrames: buffer.frameCount)
        acc.add(buffer)
        return estimate(spectrum: acc.finish(), rate: buffer.sampleRate)
    }

    /// A candidate edge, measured.
    struct Edge {
        var cutoff: Double, depth: Double, width: Double, slope: Double
        var flat: Bool, broadband: Bool
        var confident: Bool { depth >= minimumDepth && slope >= minimumSlope && flat && broadband }
        var confidence: Double {
            func clamp(_ x: Double) -> Double { max(0, min(1, x)) }
            return clamp((depth - 15) / 20) * clamp((slope - 30) / 60) * (flat ? 1 : 0.3) * (broadband ? 1 : 0.3)
        }
    }

    /// The band edge from a long-term spectrum (`LongTermSpectrum` at `fftSize(for: rate)`).
    public static func estimate(spectrum raw: [Double], rate: Double) -> BandwidthEstimate {
        let nyquist = rate / 2
        let bins = raw.count
        let none = BandwidthEstimate(cutoff: nyquist, nyquist: nyquist, kind: .none)
        guard bins > 16 else { return none }
        let nFFT = 2 * (bins - 1)
        let binHz = rate / Double(nFFT)
        // Per-sample variance units: white noise of variance σ² reads 10·log10 σ² (the
        // Blackman–Harris window's Σw² is 0.258·nFFT); 16-bit quantisation reads −101 dB.
        let norm = 10 * log10(0.258 * Double(nFFT))
        let p = raw.map { pow(10, ($0 - norm) / 10) }
        var prefix = [Double](repeating: 0, count: bins + 1)
        for b in 0..<bins { prefix[b + 1] = prefix[b] + p[b] }
        func bin(_ f: Double) -> Int { max(0, min(bins - 1, Int((f / binHz).rounded()))) }
        /// Mean power over bins [a, b] in dB.
        func meanDB(_ a: Int, _ b: Int) -> Double {
            let lo = max(0, min(a, b)), hi = min(bins - 1, max(a, b))
            return 10 * log10((prefix[hi + 1] - prefix[lo]) / Double(hi - lo + 1) + 1e-30)
        }
        // ±50 Hz smoothing, clamped `dynamicRange` under the loudest bin.
        let k = max(1, Int((50 / binHz).rounded(.up)))
        let first = max(1, bin(50)), last = bins - 2
        guard last - first > 8 else { return none }
        var level = (0..<bins).map { meanDB($0 - k, $0 + k) }
        let loudest = level[first...last].max()!
        // Under the 16-bit noise floor (−101 dB) by 6 dB: digital silence, a whisper of dither.
        guard loudest > -95 else { return none }
        // DC and the sub-bass under 50 Hz carrying all but a millionth of the power: an offset.
        guard prefix[bins] - prefix[first] >= 1e-6 * prefix[bins] else { return none }
        for b in level.indices { level[b] = max(level[b], loudest - dynamicRange) }
        func percentile(_ a: Int, _ b: Int, _ q: Double) -> Double {
            let lo = min(last, max(first, a)), hi = max(lo, min(last, b))
            let s = level[lo...hi].sorted()
            return s[min(s.count - 1, Int(Double(s.count - 1) * q))]
        }
        // Content must span more than a tone: at least 3 third-octave bands within 40 dB of
        // the loudest (DC fills none over 50 Hz, a lone sine one or two).
        var bands: [Double] = []
        var f = 50.0
        while f * pow(2, 1.0 / 3) <= nyquist * 0.95 { bands.append(meanDB(bin(f), bin(f * pow(2, 1.0 / 3)))); f *= pow(2, 1.0 / 3) }
        guard let loudestBand = bands.max(), bands.filter({ $0 >= loudestBand - 40 }).count >= 3 || bands.count < 3 else { return none }

        func measure(_ fe: Double, limit: Double, gap: Double) -> Edge? {
            let e = bin(fe)
            let pass = percentile(bin(fe / 1.3), e, 0.75)
            let lim = bin(limit)
            let floorStart = min(lim, bin(fe * gap))
            guard lim > floorStart + 2 else { return nil }
            let floor = percentile(floorStart, lim, 0.5)
            let depth = pass - floor
            guard depth > 10 else { return nil }
            // The edge's middle (halfway down in dB), the top of the edge (the highest level in
            // the 6 % below it), and from there its −3 dB, −6 dB (the cutoff) and floor + 3 dB points.
            var m = min(e, bin(fe / 1.12))
            while m < lim && level[m] >= (pass + floor) / 2 { m += 1 }
            let top = level[max(first, bin(Double(m) * binHz / 1.06))...m].max()!
            var a = m
            while a > first && level[a] < top - 3 { a -= 1 }
            var c = m
            while c > first && level[c] < top - 6 { c -= 1 }
            c += 1
            var b = m
            while b < lim && level[b] > floor + 3 { b += 1 }
            let width = Double(max(1, b - a)) * binHz
            let octaves = log2(Double(max(b, a + 1)) / Double(max(a, 1)))
            let slope = (top - floor - 6) / max(octaves, 1e-6)
            // The floor stays down: nothing above the edge comes within (minimumDepth − 5) dB
            // of the pass band, and no third-octave band of it rises more than
            // `floorTolerance` dB over the quietest one below it (a stop band may keep
            // falling; content coming back is not a floor).
            var flat = level[min(b, lim)...lim].max()! <= pass - (minimumDepth - 5)
            var quietest = Double.infinity
            var lo = Double(b) * binHz
            while flat && lo < Double(lim) * binHz {
                let hi = min(Double(lim) * binHz, lo * pow(2, 1.0 / 3))
                let band = max(meanDB(bin(lo), bin(hi)), loudest - dynamicRange)
                if band > quietest + floorTolerance { flat = false }
                quietest = min(quietest, band)
                lo = hi
            }
            // The pass band is a band: 4 of the 6 third-octave bands below the edge are 20 dB
            // over the floor.
            var loud = 0, count = 0
            var upper = Double(a) * binHz
            while count < 6 && upper / pow(2, 1.0 / 3) >= 50 {
                if meanDB(bin(upper / pow(2, 1.0 / 3)), bin(upper)) >= floor + 20 { loud += 1 }
                count += 1
                upper /= pow(2, 1.0 / 3)
            }
            let broadband = count > 0 && loud >= min(4, count)
            return Edge(cutoff: Double(c) * binHz, depth: depth, width: width, slope: slope, flat: flat, broadband: broadband)
        }

        // Edge strength on a 1/96-octave grid: level just below minus level just above.
        var grid: [(f: Double, strength: Double)] = []
        f = 150
        while f * 1.06 < nyquist * 0.995 {
            let below = (bin(f / 1.12)...bin(f)).reduce(0.0) { $0 + level[$1] } / Double(bin(f) - bin(f / 1.12) + 1)
            let hiBin = max(bin(f) + 1, bin(f * 1.06))
            let above = (bin(f)...hiBin).reduce(0.0) { $0 + level[$1] } / Double(hiBin - bin(f) + 1)
            grid.append((f, below - above))
            f *= pow(2, 1.0 / 96)
        }
        // The strongest local maxima, strongest first.
        var candidates: [(f: Double, strength: Double)] = []
        for i in grid.indices where grid[i].strength >= 10
            && (i == 0 || grid[i].strength >= grid[i - 1].strength) && (i == grid.count - 1 || grid[i].strength > grid[i + 1].strength) {
            candidates.append(grid[i])
        }
        candidates.sort { $0.strength > $1.strength }
        var antiAlias: Edge? = nil
        var best = 0.0
        for cand in candidates.prefix(6) {
            if cand.f >= nyquist * 0.93 {
                // The file's own anti-alias filter: its floor is the last few bins.
                if antiAlias == nil, let edge = measure(cand.f, limit: nyquist * 0.999, gap: 1.02),
                   edge.depth >= 20, edge.slope >= minimumSlope, edge.cutoff >= nyquist * 0.9 {
                    antiAlias = edge
                }
                continue
            }
            guard let edge = measure(cand.f, limit: nyquist * 0.95, gap: 1.08) else { continue }
            if edge.confident {
                return BandwidthEstimate(cutoff: edge.cutoff, nyquist: nyquist, kind: .cut, confident: true,
                                         confidence: edge.confidence, edgeDepth: edge.depth, edgeWidth: edge.width)
            }
            best = max(best, edge.confidence)
        }
        // Full band: at the file's own anti-alias edge if one was seen. `confidence` is that
        // of the best edge that was not a cutoff.
        if let antiAlias {
            return BandwidthEstimate(cutoff: antiAlias.cutoff, nyquist: nyquist, kind: .fullBand, confidence: best,
                                     edgeDepth: antiAlias.depth, edgeWidth: antiAlias.width)
        }
        return BandwidthEstimate(cutoff: nyquist, nyquist: nyquist, kind: .fullBand, confidence: best)
    }
}

/// The long-term power spectrum of a stream, block by block: Blackman–Harris frames every
/// nFFT/2 samples, at most `maxFrames` of them per channel spread evenly over the whole
/// length (so the length must be known: a file's declared frames), averaged in dB.
public struct LongTermSpectrum {
    /// FFT length: `finish()` returns nFFT/2 + 1 bins, bin i at i·rate/nFFT Hz.
    public let nFFT: Int
    let hop: Int, step: Int, available: Int, totalFrames: Int, maxFrames: Int
    let window: [Float]
    var power: [Double]
    var count = 0
    /// Per channel, the samples from `bufferStart` on.
    var buffer: [[Float]]
    var bufferStart = 0
    /// Next frame index (a multiple of `step`) to take.
    var next = 0

    /// The resolution `BandwidthEstimator` uses at `rate` (about 10 Hz a bin); `totalFrames`
    /// is the stream's length in frames, or 0 when unknown (then the first frames only).
    public init(rate: Double, channels: Int, totalFrames: Int) {
        self.init(nFFT: BandwidthEstimator.fftSize(for: rate), channels: channels, totalFrames: totalFrames)
    }

    /// A given FFT length, taking at most `maxFrames` frames per channel.
    public init(nFFT: Int, channels: Int, totalFrames: Int, maxFrames: Int = 4000) {
        self.nFFT = nFFT
        hop = nFFT / 2
        self.totalFrames = totalFrames
        self.maxFrames = maxFrames
        if totalFrames > 0 {
            available = totalFrames >= nFFT ? 1 + (totalFrames - nFFT) / hop : 1
            // Long files: an even spread of frames is as good as all of them.
            step = max(1, (available + maxFrames - 1) / maxFrames)
        } else {
            // Length unknown (a stream without a frame count): the first maxFrames frames.
            available = .max
            step = 1
        }
        window = (0..<nFFT).map { i in
            let x = 2 * Double.pi * Double(i) / Double(nFFT)
            return Float(0.35875 - 0.48829 * cos(x) + 0.14128 * cos(2 * x) - 0.01168 * cos(3 * x))
        }
        power = [Double](repeating: 0, count: nFFT / 2 + 1)
        buffer = [[Float]](repeating: [], count: channels)
    }

    /// All frames taken: later samples are not kept.
    var done: Bool { next >= available || next / step >= maxFrames }

    /// The next block of the stream (the channel count given at init); frames past what is
    /// needed are ignored.
    public mutating func add(_ block: AudioBuffer) {
        guard !done else { return }
        for c in buffer.indices { buffer[c] += block.channels[c] }
        take(final: false)
    }

    /// The spectrum in dB, after the last block.
    public mutating func finish() -> [Double] {
        take(final: true)
        return power.map { 10 * log10($0 / Double(Swift.max(count, 1)) + 1e-30) }
    }

    /// Frames whose samples are all here.
    mutating func take(final: Bool) {
        let fft = RealFFT.plan(size: nFFT)
        let ws = fft.makeWorkspace()
        let end = bufferStart + (buffer.first?.count ?? 0)
        while !done {
            let base = next * hop
            // Whole frames only; a signal shorter than one frame gives one zero-padded frame.
            // (So a header that promised more than came adds no frames of silence.)
            guard base + nFFT <= end || (final && count == 0) else { break }
            for ch in buffer {
                for i in 0..<nFFT {
                    let t = base + i - bufferStart
                    ws.real[i] = t < ch.count ? ch[t] * window[i] : 0
                }
                fft.forward(ws)
                let c = ws.complexFloats
                for b in 0..<power.count {
                    let re = Double(c[2 * b]), im = Double(c[2 * b + 1])
                    power[b] += re * re + im * im
                }
                count += 1
            }
            next += step
        }
        // Nothing before the next frame is needed again (nothing at all once done).
        let keep = done ? end : Swift.min(next * hop, end)
        if keep > bufferStart {
            for c in buffer.indices { buffer[c].removeFirst(keep - bufferStart) }
            bufferStart = keep
        }
    }
}
