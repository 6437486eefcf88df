import CSndFile
import Foundation

/// What a file holds before its samples are read.
public struct AudioFileInfo: Sendable, Equatable {
    public var path: String
    public var format: AudioFormat
    public var sampleRate: Double
    public var channelCount: Int
    /// As declared in the header; may be approximate for compressed streams.
    public var declaredFrames: Int

    public init(path: String, format: AudioFormat, sampleRate: Double, channelCount: Int, declaredFrames: Int) {
        self.path = path
        self.format = format
        self.sampleRate = sampleRate
        self.channelCount = channelCount
        self.declaredFrames = declaredFrames
    }
}

/// A streaming reader over libsndfile. Reads any format the installed library reads.
public final class AudioFileReader {
    public let info: AudioFileInfo
    private var handle: OpaquePointer?

    public init(path: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw RestoreError.fileNotFound(path: path)
        }
        if isDir.boolValue { throw RestoreError.isDirectory(path: path) }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw RestoreError.unreadable(path: path, reason: "permission denied")
        }
        var sfinfo = SF_INFO()
        guard let h = sf_open(path, Int32(SFM_READ), &sfinfo) else {
            let reason = String(cString: sf_strerror(nil))
            throw RestoreError.unreadable(path: path, reason: AudioFileReader.tidy(reason))
        }
        guard sfinfo.channels > 0, sfinfo.samplerate > 0 else {
            sf_close(h)
            throw RestoreError.unreadable(path: path, reason: "header declares \(sfinfo.channels) channels at \(sfinfo.samplerate) Hz")
        }
        // Limits: a damaged or hostile header must not make analysis buffers (sized by the
        // rate) or per-channel work (sized by the channel count) explode.
        guard AudioLimits.sampleRates.contains(Int(sfinfo.samplerate)) else {
            sf_close(h)
            throw RestoreError.unreadable(path: path, reason: "sample rate \(sfinfo.samplerate) Hz is outside the supported \(AudioLimits.sampleRates.lowerBound)…\(AudioLimits.sampleRates.upperBound) Hz")
        }
        guard Int(sfinfo.channels) <= AudioLimits.maximumChannels else {
            sf_close(h)
            throw RestoreError.unreadable(path: path, reason: "\(sfinfo.channels) channels; at most \(AudioLimits.maximumChannels) are supported")
        }
        handle = h
        // Float data written by other tools may exceed ±1; never wrap when converting.
        sf_command(h, Int32(SFC_SET_CLIPPING), nil, Int32(SF_FALSE))
        info = AudioFileInfo(path: path, format: AudioFormat(sndfileFormat: sfinfo.format),
                             sampleRate: Double(sfinfo.samplerate), channelCount: Int(sfinfo.channels),
                             declaredFrames: Int(clamping: sfinfo.frames))
    }

    deinit { if let h = handle { sf_close(h) } }

    /// Reads up to `maxFrames` frames; returns nil at the end of the stream.
    public func read(maxFrames: Int) throws -> AudioBuffer? {
        guard let h = handle else { return nil }
        let c = info.channelCount
        var data = [Float](repeating: 0, count: maxFrames * c)
        let got = data.withUnsafeMutableBufferPointer { sf_readf_float(h, $0.baseAddress, sf_count_t(maxFrames)) }
        if sf_error(h) != 0 && got <= 0 {
            throw RestoreError.unreadable(path: info.path, reason: AudioFileReader.tidy(String(cString: sf_strerror(h))))
        }
        if got <= 0 { return nil }
        data.removeLast((maxFrames - Int(got)) * c)
        return AudioBuffer.fromInterleaved(data, channelCount: c, sampleRate: info.sampleRate)
    }

    /// libsndfile's messages sometimes end with a newline or a full stop; one line is wanted.
    static func tidy(_ s: String) -> String {
        let line = s.split(whereSeparator: \.isNewline).map(String.init).joined(separator: " ")
        return line.trimmingCharacters(in: CharacterSet(charactersIn: " .")).lowercasedFirst()
    }
}

extension String {
    func lowercasedFirst() -> String {
        guard let f = first else { return self }
        return f.lowercased() + dropFirst()
    }
}

/// Whole-file reading (`AudioFileReader` streams block by block instead).
public enum AudioFile {
    /// Reads a whole file. Fails on missing, unreadable, empty or non-finite input.
    public static func read(_ path: String) throws -> (AudioBuffer, AudioFileInfo) {
        let reader = try AudioFileReader(path: path)
        let c = reader.info.channelCount
        let limit = AudioLimits.wholeFileSamples / c
        var chans = [[Float]](repeating: [], count: c)
        // Reserve only what a sane header promises (a header may claim far more than is there).
        if reader.info.declaredFrames > 0 && reader.info.declaredFrames <= limit {
            for k in 0..<c { chans[k].reserveCapacity(reader.info.declaredFrames) }
        }
        while let block = try reader.read(maxFrames: 65536) {
            for k in 0..<c { chans[k].append(contentsOf: block.channels[k]) }
            if chans[0].count > limit {
                throw RestoreError.unreadable(path: path, reason: String(
                    format: "longer than this command reads at once (%.1f h of %d channels); bwe, fill-gap, embed and info stream any length",
                    Double(limit) / reader.info.sampleRate / 3600, c))
            }
        }
        guard !chans[0].isEmpty else { throw RestoreError.emptyAudio(path: path) }
        let buffer = AudioBuffer(sampleRate: reader.info.sampleRate, channels: chans)
        if let bad = buffer.firstNonFinite() {
            throw RestoreError.nonFiniteSamples(path: path, frame: bad.frame, channel: bad.channel)
        }
        return (buffer, reader.info)
    }
}

/// What the readers accept: beyond these a file is refused with a clear message instead of
/// growing memory without bound.
public enum AudioLimits {
    /// 1 kHz (below it nothing of the engine's band exists) to 768 kHz (the highest rate in use).
    public static let sampleRates = 1000...768_000
    public static let maximumChannels = 64
    /// Samples (all channels) a whole-file reader holds: 2^30 floats = 4 GiB.
    public static let wholeFileSamples = 1 << 30
}
