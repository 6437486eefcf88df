import CSndFile
import Foundation

/// Where audio goes block by block (a file being written, or memory in tests).
public protocol AudioSink: AnyObject {
    func write(_ buffer: AudioBuffer) throws
}

/// Writes a file block by block into a hidden temporary file in the target folder and
/// renames it into place on `finish()`. Until then the target is untouched; an abandoned
/// writer (error, interruption) removes its temporary file, so no partial output remains.
/// A codec that does not hold the audio's rate (Opus, MP3) gets it resampled on the way,
/// and `options.note` is told.
public final class AudioStreamWriter: AudioSink {
    public let path: String
    /// The rate of the blocks given to `write`.
    public let sampleRate: Double
    /// The rate in the file: `sampleRate`, unless the codec needs another.
    public let fileSampleRate: Double
    public let channelCount: Int
    private let resampler: StreamingResampler?
    let temp: String
    let overwrite: Bool
    private var handle: OpaquePointer?
    public private(set) var framesWritten = 0

    public init(path: String, sampleRate: Double, channelCount: Int, options: AudioWriteOptions) throws {
        let url = URL(fileURLWithPath: path)
        let fm = FileManager.default
        try OutputGuard.check(path, inputs: options.protectedPaths, overwrite: options.overwrite)
        let folder = url.deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            throw RestoreError.writeFailed(path: path, reason: "folder \(folder) does not exist")
        }
        OutputGuard.removeStaleTemporaries(in: folder)
        let format = try AudioWriter.sndfileFormat(for: path, options: options)
        let isMP3 = Int(format) & Int(SF_FORMAT_TYPEMASK) == Int(SF_FORMAT_MPEG)
        if isMP3 && channelCount > 2 {
            throw RestoreError.unsupportedOutputFormat(path: path, reason: "MP3 holds 1 or 2 channels, this audio has \(channelCount); use .opus, .flac or .wav")
        }
        let fileRate = AudioWriter.fileSampleRate(for: sampleRate, format: format)
        var sfinfo = SF_INFO()
        sfinfo.samplerate = Int32(fileRate.rounded())
        sfinfo.channels = Int32(channelCount)
        sfinfo.format = format
        guard sf_format_check(&sfinfo) != 0 else {
            throw RestoreError.unsupportedOutputFormat(
                path: path, reason: "\(channelCount) channels at \(sfinfo.samplerate) Hz in \(AudioFormat(sndfileFormat: format).container)")
        }
        if fileRate != sampleRate {
            resampler = try StreamingResampler(from: sampleRate, to: fileRate, channelCount: channelCount)
            let codec = isMP3 ? "MP3" : "Opus"
            let rates = (AudioWriter.sampleRates(format: format) ?? []).map { String(format: "%g", Double($0) / 1000) }.joined(separator: ", ")
            options.note?("\(path): \(codec) holds \(rates) kHz; written at \(Int(fileRate)) Hz (resampled from \(Int(sampleRate.rounded())) Hz)")
        } else {
            resampler = nil
        }
        // Hidden temporary name in the target folder, so the rename is atomic.
        temp = OutputGuard.temporaryPath(for: path)
        // Registered before it exists, so an interrupt can never miss it.
        TemporaryFiles.shared.register(temp)
        guard let h = sf_open(temp, Int32(SFM_WRITE), &sfinfo) else {
            TemporaryFiles.shared.unregister(temp)
            throw RestoreError.writeFailed(path: path, reason: AudioFileReader.tidy(String(cString: sf_strerror(nil))))
        }
        sf_command(h, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE))
        handle = h
        self.path = path
        self.sampleRate = sampleRate
        self.fileSampleRate = fileRate
        self.channelCount = channelCount
        self.overwrite = options.overwrite
        if let quality = options.quality { try setQuality(quality, mp3: isMP3) }
    }

    deinit { abandon() }

    /// libsndfile's compression level runs the other way (0 best, 1 smallest). LAME's default
    /// is a constant bit rate; a quality asks for its variable-rate mode, where the level is
    /// its quality scale (the bit rate follows the content). The level goes first: switching
    /// the mode re-applies the level set before it, and fails while none is.
    private func setQuality(_ quality: Double, mp3: Bool) throws {
        guard let h = handle else { return }
        // LAME's variable-rate scale is 0…<10 and libsndfile multiplies the level by 10.
        var level = mp3 ? min(1 - quality, 0.999) : 1 - quality
        guard sf_command(h, Int32(SFC_SET_COMPRESSION_LEVEL), &level, Int32(MemoryLayout<Double>.size)) == Int32(SF_TRUE) else {
            abandon()
            throw RestoreError.writeFailed(path: path, reason: "the encoder refused quality \(quality)")
        }
        if mp3 {
            var mode = Int32(SF_BITRATE_MODE_VARIABLE)
            guard sf_command(h, Int32(SFC_SET_BITRATE_MODE), &mode, Int32(MemoryLayout<Int32>.size)) == Int32(SF_TRUE) else {
                abandon()
                throw RestoreError.writeFailed(path: path, reason: "the MP3 encoder refused a variable bit rate")
            }
        }
    }

    public func write(_ buffer: AudioBuffer) throws {
        guard let h = handle else { throw RestoreError.writeFailed(path: path, reason: "writer already closed") }
        precondition(buffer.channelCount == channelCount)
        if buffer.frameCount == 0 { return }
        // A NaN or infinity would be written as silence or full scale: never a file with one.
        if let bad = buffer.firstNonFinite() {
            abandon()
            throw RestoreError.nonFiniteOutput(path: path, frame: framesWritten + bad.frame, channel: bad.channel)
        }
        try writeToFile(resampler.map { try $0.process(buffer) } ?? buffer, handle: h)
        framesWritten += buffer.frameCount
    }

    private func writeToFile(_ buffer: AudioBuffer, handle h: OpaquePointer) throws {
        if buffer.frameCount == 0 { return }
        let data = buffer.interleaved()
        let written = data.withUnsafeBufferPointer { sf_writef_float(h, $0.baseAddress, sf_count_t(buffer.frameCount)) }
        guard written == buffer.frameCount else {
            let err = String(cString: sf_strerror(h))
            abandon()
            throw RestoreError.writeFailed(path: path, reason: AudioFileReader.tidy(err))
        }
    }

    /// Closes the file and moves it into place (never over a file that appeared meanwhile,
    /// unless `overwrite`).
    public func finish() throws {
        guard let h = handle else { throw RestoreError.writeFailed(path: path, reason: "writer already closed") }
        // The resampler holds the last few milliseconds until it is told the input ended.
        if let resampler, framesWritten > 0 { try writeToFile(try resampler.finish(), handle: h) }
        handle = nil
        sf_close(h)
        defer { TemporaryFiles.shared.unregister(temp) }
        try OutputGuard.commit(temporary: temp, to: path, overwrite: overwrite)
    }

    /// Discards everything written so far.
    public func abandon() {
        guard let h = handle else { return }
        handle = nil
        sf_close(h)
        unlink(temp)
        TemporaryFiles.shared.unregister(temp)
    }
}

/// Collects blocks in memory (tests, and tasks whose output is post-processed whole).
public final class MemoryAudioSink: AudioSink {
    public private(set) var buffer: AudioBuffer
    public init(sampleRate: Double, channelCount: Int) {
        buffer = AudioBuffer(sampleRate: sampleRate, channels: [[Float]](repeating: [], count: channelCount))
    }
    public func write(_ b: AudioBuffer) throws {
        for c in 0..<b.channelCount { buffer.channels[c].append(contentsOf: b.channels[c]) }
    }
}

/// Where audio comes from block by block.
public protocol AudioSource: AnyObject {
    var sampleRate: Double { get }
    var channelCount: Int { get }
    /// Up to `maxFrames` frames; nil at the end.
    func read(maxFrames: Int) throws -> AudioBuffer?
}

extension AudioFileReader: AudioSource {
    public var sampleRate: Double { info.sampleRate }
    public var channelCount: Int { info.channelCount }
}

/// A buffer in memory read as a stream.
public final class MemoryAudioSource: AudioSource {
    let buffer: AudioBuffer
    var position = 0
    public init(_ buffer: AudioBuffer) { self.buffer = buffer }
    public var sampleRate: Double { buffer.sampleRate }
    public var channelCount: Int { buffer.channelCount }
    public func read(maxFrames: Int) throws -> AudioBuffer? {
        guard position < buffer.frameCount else { return nil }
        let end = min(buffer.frameCount, position + maxFrames)
        defer { position = end }
        return AudioBuffer(sampleRate: buffer.sampleRate, channels: buffer.channels.map { Array($0[position..<end]) })
    }
}

/// Reads through a file's stream and stops with the errors `AudioFile.read` gives for the
/// whole file: a sample that is not finite (NaN, ±inf), or no audio at all.
public final class ValidatedAudioSource: AudioSource {
    let base: AudioSource
    public let path: String
    public private(set) var framesRead = 0
    public init(_ base: AudioSource, path: String) { self.base = base; self.path = path }
    public convenience init(path: String) throws { self.init(try AudioFileReader(path: path), path: path) }
    public var sampleRate: Double { base.sampleRate }
    public var channelCount: Int { base.channelCount }
    public func read(maxFrames: Int) throws -> AudioBuffer? {
        guard let block = try base.read(maxFrames: maxFrames) else {
            if framesRead == 0 { throw RestoreError.emptyAudio(path: path) }
            return nil
        }
        if let bad = block.firstNonFinite() {
            throw RestoreError.nonFiniteSamples(path: path, frame: framesRead + bad.frame, channel: bad.channel)
        }
        framesRead += block.frameCount
        return block
    }
}
