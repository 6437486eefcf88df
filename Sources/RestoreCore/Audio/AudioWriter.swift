import CSndFile
import Foundation

/// How a file is written: container from the extension, encoding kept or chosen,
/// never over an existing file unless asked, never over an input.
public struct AudioWriteOptions: Sendable {
    public var encoding: SampleEncoding = .keep
    public var overwrite: Bool = false
    /// Paths that must never be written (the inputs of the current run).
    public var protectedPaths: [String] = []
    /// The input's format, used when `encoding == .keep`.
    public var sourceFormat: AudioFormat? = nil
    /// Quality of lossy output (Ogg Vorbis, MP3, Opus) from 0 (smallest file) to 1 (best);
    /// nil keeps the encoder's default. Lossless containers refuse it.
    public var quality: Double? = nil
    /// Told, in one sentence, when the writer changes what it was given: an Opus or MP3 file
    /// written at another sample rate than the audio's, because the codec does not hold it.
    public var note: (@Sendable (String) -> Void)? = nil

    public init(encoding: SampleEncoding = .keep, overwrite: Bool = false,
                protectedPaths: [String] = [], sourceFormat: AudioFormat? = nil,
                quality: Double? = nil, note: (@Sendable (String) -> Void)? = nil) {
        self.encoding = encoding
        self.overwrite = overwrite
        self.protectedPaths = protectedPaths
        self.sourceFormat = sourceFormat
        self.quality = quality
        self.note = note
    }
}

public enum AudioWriter {
    /// Containers an output named after its input keeps: WAV, FLAC and Ogg Vorbis. An MP3 or
    /// Opus input is written as WAV unless the output is named otherwise, so a restoration is
    /// not encoded lossily a second time by default.
    public static let writableExtensions = ["wav", "flac", "ogg"]
    /// Every container `restore` writes, by extension (MP3 and Opus when libsndfile has them).
    public static let outputExtensions = ["wav", "flac", "ogg", "mp3", "opus"]
    /// The lossy ones: a quality applies to these only.
    public static let lossyExtensions = ["ogg", "mp3", "opus"]

    /// The libsndfile format word for `path`'s extension and the requested encoding.
    public static func sndfileFormat(for path: String, options: AudioWriteOptions) throws -> Int32 {
        let ext = (path as NSString).pathExtension.lowercased()
        let major: Int
        switch ext {
        case "wav": major = Int(SF_FORMAT_WAV)
        case "flac": major = Int(SF_FORMAT_FLAC)
        case "ogg", "opus": major = Int(SF_FORMAT_OGG)
        case "mp3": major = Int(SF_FORMAT_MPEG)
        default:
            throw RestoreError.unsupportedOutputFormat(
                path: path, reason: "extension '.\(ext)'; use .wav, .flac, .ogg, .mp3 or .opus")
        }
        if let q = options.quality {
            guard lossyExtensions.contains(ext) else {
                throw RestoreError.unsupportedOutputFormat(path: path, reason: "a quality applies to lossy .ogg, .mp3 and .opus; .\(ext) is lossless")
            }
            guard (0...1).contains(q) else { throw RestoreError.invalidArgument("--quality must be between 0 and 1 (got \(q))") }
        }
        if lossyExtensions.contains(ext) {
            let (sub, name): (Int, String) = switch ext {
            case "mp3": (Int(SF_FORMAT_MPEG_LAYER_III), "MP3")
            case "opus": (Int(SF_FORMAT_OPUS), "Opus")
            default: (Int(SF_FORMAT_VORBIS), "Ogg Vorbis")
            }
            if options.encoding != .keep {
                throw RestoreError.unsupportedOutputFormat(path: path, reason: "\(name) is a lossy codec; --encoding does not apply")
            }
            guard LibSndFile.writes(major: major, subtype: sub) else {
                throw RestoreError.unsupportedOutputFormat(
                    path: path, reason: "the linked libsndfile (\(LibSndFile.version)) does not write \(name); it needs 1.1 or newer built with LAME/mpg123 and Opus")
            }
            return Int32(major | sub)
        }
        var sub: Int
        switch options.encoding {
        case .pcm16: sub = Int(SF_FORMAT_PCM_16)
        case .pcm24: sub = Int(SF_FORMAT_PCM_24)
        case .float32: sub = Int(SF_FORMAT_FLOAT)
        case .keep:
            sub = Int(SF_FORMAT_PCM_16)
            if let src = options.sourceFormat, !src.isLossy {
                sub = Int(src.sndfileFormat) & Int(SF_FORMAT_SUBMASK)
            }
        }
        if major == Int(SF_FORMAT_FLAC) {
            // FLAC stores integers only; float sources keep their resolution as 24 bit.
            if sub == Int(SF_FORMAT_FLOAT) || sub == Int(SF_FORMAT_DOUBLE) || sub == Int(SF_FORMAT_PCM_32) {
                if options.encoding == .float32 {
                    throw RestoreError.unsupportedOutputFormat(path: path, reason: "FLAC cannot hold float samples; use .wav or --encoding pcm24")
                }
                sub = Int(SF_FORMAT_PCM_24)
            }
            if sub == Int(SF_FORMAT_PCM_U8) { sub = Int(SF_FORMAT_PCM_S8) }
        }
        var probe = SF_INFO()
        probe.format = Int32(major | sub)
        probe.channels = 1
        probe.samplerate = 44100
        if sf_format_check(&probe) == 0 { sub = Int(SF_FORMAT_PCM_16) }
        return Int32(major | sub)
    }

    /// The rates a container holds, or nil for any: Opus 8, 12, 16, 24 and 48 kHz; MP3 the
    /// MPEG-1/2/2.5 rates from 8 to 48 kHz.
    public static func sampleRates(format: Int32) -> [Int]? {
        switch Int(format) & Int(SF_FORMAT_SUBMASK) {
        case Int(SF_FORMAT_OPUS): return [8000, 12000, 16000, 24000, 48000]
        case Int(SF_FORMAT_MPEG_LAYER_III): return [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000]
        default: return nil
        }
    }

    /// The rate a file of `format` is written at, for audio at `rate`: the same where the
    /// container holds it; otherwise Opus takes 48 kHz (its own rate, and what players expect)
    /// and MP3 the next rate up it holds (48 kHz at most).
    public static func fileSampleRate(for rate: Double, format: Int32) -> Double {
        guard let rates = sampleRates(format: format), !rates.contains(Int(rate.rounded())) else { return rate }
        if Int(format) & Int(SF_FORMAT_SUBMASK) == Int(SF_FORMAT_OPUS) { return 48000 }
        return Double(rates.first { Double($0) >= rate } ?? rates.last!)
    }

    /// Writes `buffer` to `path` via a temporary file in the same folder, renamed into place.
    public static func write(_ buffer: AudioBuffer, to path: String, options: AudioWriteOptions = .init()) throws {
        let stream = try AudioStreamWriter(path: path, sampleRate: buffer.sampleRate, channelCount: buffer.channelCount, options: options)
        try stream.write(buffer)
        try stream.finish()
    }
}

/// What the linked libsndfile is and writes, asked at run time (a build may lack MP3 or Opus).
public enum LibSndFile {
    public static var version: String { String(cString: sf_version_string()) }

    /// True when the library lists the container and the encoding among those it writes.
    public static func writes(major: Int, subtype: Int) -> Bool {
        listed(count: SFC_GET_FORMAT_MAJOR_COUNT, entry: SFC_GET_FORMAT_MAJOR).contains(major)
            && listed(count: SFC_GET_FORMAT_SUBTYPE_COUNT, entry: SFC_GET_FORMAT_SUBTYPE).contains(subtype)
    }

    private static func listed(count countCommand: Int, entry entryCommand: Int) -> Set<Int> {
        var count: Int32 = 0
        sf_command(nil, Int32(countCommand), &count, Int32(MemoryLayout<Int32>.size))
        var formats = Set<Int>()
        for i in 0..<count {
            var info = SF_FORMAT_INFO()
            info.format = i
            if sf_command(nil, Int32(entryCommand), &info, Int32(MemoryLayout<SF_FORMAT_INFO>.size)) == 0 { formats.insert(Int(info.format)) }
        }
        return formats
    }
}
