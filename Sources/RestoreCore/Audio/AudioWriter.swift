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

    public init(encoding: SampleEncoding = .keep, overwrite: Bool = false,
                protectedPaths: [String] = [], sourceFormat: AudioFormat? = nil) {
        self.encoding = encoding
        self.overwrite = overwrite
        self.protectedPaths = protectedPaths
        self.sourceFormat = sourceFormat
    }
}

public enum AudioWriter {
    public static let writableExtensions = ["wav", "flac", "ogg"]

    /// The libsndfile format word for `path`'s extension and the requested encoding.
    public static func sndfileFormat(for path: String, options: AudioWriteOptions) throws -> Int32 {
        let ext = (path as NSString).pathExtension.lowercased()
        let major: Int
        switch ext {
        case "wav": major = Int(SF_FORMAT_WAV)
        case "flac": major = Int(SF_FORMAT_FLAC)
        case "ogg": major = Int(SF_FORMAT_OGG)
        default:
            throw RestoreError.unsupportedOutputFormat(
                path: path, reason: "extension '.\(ext)'; use .wav, .flac or .ogg")
        }
        if major == Int(SF_FORMAT_OGG) {
            if options.encoding != .keep {
                throw RestoreError.unsupportedOutputFormat(path: path, reason: "OGG is always Vorbis; --encoding does not apply")
            }
            return Int32(major | Int(SF_FORMAT_VORBIS))
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

    /// Writes `buffer` to `path` via a temporary file in the same folder, renamed into place.
    public static func write(_ buffer: AudioBuffer, to path: String, options: AudioWriteOptions = .init()) throws {
        let stream = try AudioStreamWriter(path: path, sampleRate: buffer.sampleRate, channelCount: buffer.channelCount, options: options)
        try stream.write(buffer)
        try stream.finish()
    }
}
