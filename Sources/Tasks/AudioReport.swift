import Foundation
import RestoreCore

/// What `restore info` measures about a file. Preset `when:` guards test these fields.
public struct AudioReport: Codable, Sendable, Equatable {
    public var path: String
    public var format: String
    public var subtype: String
    public var sampleRate: Double
    public var channels: Int
    public var frames: Int
    public var duration: Double
    /// Highest |sample| in dBFS (−∞ for digital silence).
    public var peakDBFS: Double
    /// RMS over all channels in dBFS.
    public var rmsDBFS: Double
    /// Estimated upper band edge, Hz: a cutoff, the file's own anti-alias edge, or Nyquist
    /// (see `BandwidthEstimate.cutoff`).
    public var bandwidth: Double
    /// False only for a cutoff.
    public var fullBand: Bool
    /// "full-band", "cut" or "none" (no measurable bandwidth: silence, DC, one tone).
    public var bandwidthKind: String
    /// Only a confident cutoff drives `bwe --cutoff auto`.
    public var bandwidthConfident: Bool
    public var bandwidthConfidence: Double
    /// The edge's depth (dB) and width (Hz, −3 dB to −(depth−3) dB); 0 without an edge.
    public var bandwidthEdgeDB: Double
    public var bandwidthEdgeWidth: Double
    /// Dropouts `fill-gap --detect` would fill (default minimum and maximum length).
    public var dropouts: Int
    /// Fraction of samples at or beyond ±clipLevel.
    public var clippedRatio: Double

    /// |x| at or above this counts as clipped: full scale within 1e-4 (0.0009 dB),
    /// which also catches the 16-bit positive maximum 32767/32768.
    public static let clipLevel: Float = 0.9999
    /// The level of digital silence: −∞ dBFS (null in JSON, see `JSONValue`).
    public static let silenceDB = -Double.infinity

    /// JSON keys: snake_case, and the level and clipping fields under the names preset `when:`
    /// guards test (`PresetCondition.fields`), so that a guard can be tried on `info --json`.
    enum CodingKeys: String, CodingKey {
        case path, format, subtype, sampleRate = "sample_rate", channels, frames, duration
        case peakDBFS = "peak_dbfs", rmsDBFS = "rms_dbfs", bandwidth, fullBand = "full_band"
        case bandwidthKind = "bandwidth_kind", bandwidthConfident = "bandwidth_confident"
        case bandwidthConfidence = "bandwidth_confidence", bandwidthEdgeDB = "bandwidth_edge_db"
        case bandwidthEdgeWidth = "bandwidth_edge_width", dropouts, clippedRatio = "clipped"
    }

    public static func measure(path: String) throws -> AudioReport { try measureStream(path: path).report }

    /// Measures a file block by block (memory stays small whatever its length); also
    /// returns its silent runs and their edges (`DropoutScan.dropouts` is what `dropouts` counts).
    public static func measureStream(path: String) throws -> (report: AudioReport, silence: DropoutScan) {
        let reader = try AudioFileReader(path: path)
        let info = reader.info, source = ValidatedAudioSource(reader, path: path)
        var levels = Levels()
        var spectrum = LongTermSpectrum(rate: info.sampleRate, channels: info.channelCount, totalFrames: info.declaredFrames)
        var silence = DropoutScan(minimumFrames: Int(0.001 * info.sampleRate), sampleRate: info.sampleRate)
        while let block = try source.read(maxFrames: 65536) {
            levels.add(block)
            spectrum.add(block)
            silence.add(block)
        }
        silence.finish()
        let bw = BandwidthEstimator.estimate(spectrum: spectrum.finish(), rate: info.sampleRate)
        let dropouts = silence.dropouts(rate: info.sampleRate).count
        return (report(info: info, frames: source.framesRead, levels: levels, bandwidth: bw, dropouts: dropouts), silence)
    }

    public static func measure(_ buffer: AudioBuffer, info: AudioFileInfo) -> AudioReport {
        var levels = Levels()
        levels.add(buffer)
        return report(info: info, frames: buffer.frameCount, levels: levels, bandwidth: BandwidthEstimator.estimate(buffer),
                      dropouts: DropoutDetector.find(buffer).count)
    }

    static func report(info: AudioFileInfo, frames: Int, levels: Levels, bandwidth bw: BandwidthEstimate, dropouts: Int) -> AudioReport {
        let total = Double(frames * info.channelCount)
        let rms = (levels.sumSquares / total).squareRoot()
        func db(_ x: Double) -> Double { x > 0 ? 20 * log10(x) : silenceDB }
        return AudioReport(
            path: info.path, format: info.format.container, subtype: info.format.subtype,
            sampleRate: info.sampleRate, channels: info.channelCount, frames: frames,
            duration: Double(frames) / info.sampleRate, peakDBFS: db(Double(levels.peak)), rmsDBFS: db(rms),
            bandwidth: bw.cutoff, fullBand: bw.isFullBand, bandwidthKind: bw.kind.rawValue, bandwidthConfident: bw.confident,
            bandwidthConfidence: bw.confidence, bandwidthEdgeDB: bw.edgeDepth, bandwidthEdgeWidth: bw.edgeWidth,
            dropouts: dropouts, clippedRatio: Double(levels.clipped) / total)
    }

    /// Peak, sum of squares and clipped count, block by block.
    struct Levels {
        var peak: Float = 0, sumSquares = 0.0, clipped = 0
        mutating func add(_ buffer: AudioBuffer) {
            for ch in buffer.channels {
                var blockStart = 0
                // Sum in Float blocks, accumulate blocks in Double: fast and accurate enough.
                while blockStart < ch.count {
                    let end = min(ch.count, blockStart + 4096)
                    var chanSquares: Float = 0
                    for i in blockStart..<end {
                        let v = ch[i], a = abs(v)
                        if a > peak { peak = a }
                        if a >= clipLevel { clipped += 1 }
                        chanSquares += v * v
                    }
                    sumSquares += Double(chanSquares)
                    blockStart = end
                }
            }
        }
    }

    /// Human-readable block, one field per line.
    public var text: String {
        func f(_ x: Double, _ d: Int = 1) -> String { String(format: "%.\(d)f", x) }
        let bwText: String
        switch bandwidthKind {
        case "none": bwText = "no measurable bandwidth"
        case "cut":
            bwText = "cut at \(Int(bandwidth.rounded())) Hz (edge \(Int(bandwidthEdgeDB.rounded())) dB over \(Int(bandwidthEdgeWidth.rounded())) Hz)"
        default:
            bwText = bandwidth < sampleRate / 2 ? "full band (to the file's own edge at \(Int(bandwidth.rounded())) Hz)" : "full band"
        }
        return """
        \(path)
          format:      \(format) \(subtype)
          sample rate: \(Int(sampleRate)) Hz
          channels:    \(channels)
          duration:    \(f(duration, 3)) s (\(frames) frames)
          peak:        \(!peakDBFS.isFinite ? "-inf" : f(peakDBFS, 2)) dBFS
          rms:         \(!rmsDBFS.isFinite ? "-inf" : f(rmsDBFS, 2)) dBFS
          bandwidth:   \(bwText)
          clipped:     \(String(format: "%.4f", clippedRatio * 100)) % of samples
          dropouts:    \(dropouts)
        """
    }
}
