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
    /// Highest |sample| in dBFS (−inf for digital silence is reported as −200).
    public var peakDBFS: Double
    /// RMS over all channels in dBFS.
    public var rmsDBFS: Double
    /// Estimated upper band edge, Hz.
    public var bandwidth: Double
    public var fullBand: Bool
    /// Fraction of samples at or beyond ±clipLevel.
    public var clippedRatio: Double

    /// |x| at or above this counts as clipped: full scale within 1e-4 (0.0009 dB),
    /// which also catches the 16-bit positive maximum 32767/32768.
    public static let clipLevel: Float = 0.9999
    /// Stand-in for −∞ dBFS, so that JSON stays numeric.
    public static let silenceDB = -200.0

    public static func measure(path: String) throws -> AudioReport {
        let (buffer, info) = try AudioFile.read(path)
        return measure(buffer, info: info)
    }

    public static func measure(_ buffer: AudioBuffer, info: AudioFileInfo) -> AudioReport {
        var peak: Float = 0
        var sumSquares = 0.0
        var clipped = 0
        for ch in buffer.channels {
            var chanSquares: Float = 0
            var blockStart = 0
            // Sum in Float blocks, accumulate blocks in Double: fast and accurate enough.
            while blockStart < ch.count {
                let end = min(ch.count, blockStart + 4096)
                chanSquares = 0
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
        let total = Double(buffer.frameCount * buffer.channelCount)
        let rms = (sumSquares / total).squareRoot()
        let bw = BandwidthEstimator.estimate(buffer)
        func db(_ x: Double) -> Double { x > 0 ? max(silenceDB, 20 * log10(x)) : silenceDB }
        return AudioReport(
            path: info.path, format: info.format.container, subtype: info.format.subtype,
            sampleRate: buffer.sampleRate, channels: buffer.channelCount, frames: buffer.frameCount,
            duration: buffer.duration, peakDBFS: db(Double(peak)), rmsDBFS: db(rms),
            bandwidth: bw.cutoff, fullBand: bw.isFullBand, clippedRatio: Double(clipped) / total)
    }

    /// Human-readable block, one field per line.
    public var text: String {
        func f(_ x: Double, _ d: Int = 1) -> String { String(format: "%.\(d)f", x) }
        let bwText = fullBand ? "\(f(bandwidth / 1000, 2)) kHz (full band)" : "\(f(bandwidth / 1000, 2)) kHz"
        return """
        \(path)
          format:      \(format) \(subtype)
          sample rate: \(Int(sampleRate)) Hz
          channels:    \(channels)
          duration:    \(f(duration, 3)) s (\(frames) frames)
          peak:        \(peakDBFS <= AudioReport.silenceDB ? "-inf" : f(peakDBFS, 2)) dBFS
          rms:         \(rmsDBFS <= AudioReport.silenceDB ? "-inf" : f(rmsDBFS, 2)) dBFS
          bandwidth:   \(bwText)
          clipped:     \(String(format: "%.4f", clippedRatio * 100)) % of samples
        """
    }
}
