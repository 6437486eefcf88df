import Foundation

/// Deterministic signals for tests, benchmarks and examples.
public enum TestSignals {
    public static func sine(frequency: Double, sampleRate: Double, seconds: Double, amplitude: Float = 0.5) -> [Float] {
        let n = Int(seconds * sampleRate)
        return (0..<n).map { amplitude * Float(sin(2 * Double.pi * frequency * Double($0) / sampleRate)) }
    }

    public static func whiteNoise(sampleRate: Double, seconds: Double, amplitude: Float = 0.1, seed: UInt64 = 1) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<Int(seconds * sampleRate)).map { _ in amplitude * Float(rng.gaussian()) }
    }
}

extension TestSignals {
    /// Writes 32-bit float WAV bytes directly, with no checks: a file as another tool may write
    /// it, NaN and infinity included (restore's own writers refuse those), for tests of inputs.
    public static func writeRawFloatWAV(_ buffer: AudioBuffer, to path: String) throws {
        var d = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        let c = buffer.channelCount, n = buffer.frameCount, bytes = UInt32(n * c * 4)
        d.append(contentsOf: Array("RIFF".utf8)); u32(36 + bytes); d.append(contentsOf: Array("WAVE".utf8))
        d.append(contentsOf: Array("fmt ".utf8)); u32(16); u16(3); u16(UInt16(c)); u32(UInt32(buffer.sampleRate))
        u32(UInt32(buffer.sampleRate) * UInt32(c * 4)); u16(UInt16(c * 4)); u16(32)
        d.append(contentsOf: Array("data".utf8)); u32(bytes)
        for i in 0..<n { for ch in 0..<c { u32(buffer.channels[ch][i].bitPattern) } }
        try d.write(to: URL(fileURLWithPath: path))
    }
}
