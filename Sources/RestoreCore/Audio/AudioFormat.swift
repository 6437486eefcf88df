import CSndFile

/// Container and sample encoding of an audio file, as libsndfile reports them.
public struct AudioFormat: Sendable, Equatable, Codable {
    /// Short container name: "WAV", "FLAC", "OGG", "MP3", …
    public var container: String
    /// Short encoding name: "PCM_16", "PCM_24", "FLOAT", "VORBIS", …
    public var subtype: String
    /// libsndfile's raw format word (major | subtype), kept for writing.
    public var sndfileFormat: Int32

    public init(sndfileFormat: Int32) {
        self.sndfileFormat = sndfileFormat
        let major = Int(sndfileFormat) & Int(SF_FORMAT_TYPEMASK)
        let sub = Int(sndfileFormat) & Int(SF_FORMAT_SUBMASK)
        container = AudioFormat.containerNames[major] ?? AudioFormat.libraryName(major, fallback: "format 0x\(String(major, radix: 16))")
        subtype = AudioFormat.subtypeNames[sub] ?? AudioFormat.libraryName(sub, fallback: "subtype 0x\(String(sub, radix: 16))")
    }

    /// Subtypes that decode lossy data; rewriting them losslessly gains nothing over 16 bit.
    public var isLossy: Bool {
        ["VORBIS", "OPUS", "MP3", "MP2", "MP1", "GSM610", "ULAW", "ALAW", "IMA_ADPCM", "MS_ADPCM"].contains(subtype)
    }

    static let containerNames: [Int: String] = [
        Int(SF_FORMAT_WAV): "WAV", Int(SF_FORMAT_AIFF): "AIFF", Int(SF_FORMAT_AU): "AU",
        Int(SF_FORMAT_RAW): "RAW", Int(SF_FORMAT_W64): "W64", Int(SF_FORMAT_WAVEX): "WAVEX",
        Int(SF_FORMAT_FLAC): "FLAC", Int(SF_FORMAT_OGG): "OGG", Int(SF_FORMAT_CAF): "CAF",
        Int(SF_FORMAT_RF64): "RF64", Int(SF_FORMAT_MPEG): "MP3",
    ]

    static let subtypeNames: [Int: String] = [
        Int(SF_FORMAT_PCM_S8): "PCM_S8", Int(SF_FORMAT_PCM_U8): "PCM_U8",
        Int(SF_FORMAT_PCM_16): "PCM_16", Int(SF_FORMAT_PCM_24): "PCM_24", Int(SF_FORMAT_PCM_32): "PCM_32",
        Int(SF_FORMAT_FLOAT): "FLOAT", Int(SF_FORMAT_DOUBLE): "DOUBLE",
        Int(SF_FORMAT_ULAW): "ULAW", Int(SF_FORMAT_ALAW): "ALAW",
        Int(SF_FORMAT_IMA_ADPCM): "IMA_ADPCM", Int(SF_FORMAT_MS_ADPCM): "MS_ADPCM",
        Int(SF_FORMAT_GSM610): "GSM610", Int(SF_FORMAT_VORBIS): "VORBIS", Int(SF_FORMAT_OPUS): "OPUS",
        Int(SF_FORMAT_MPEG_LAYER_I): "MP1", Int(SF_FORMAT_MPEG_LAYER_II): "MP2",
        Int(SF_FORMAT_MPEG_LAYER_III): "MP3",
    ]

    private static func libraryName(_ code: Int, fallback: String) -> String {
        var info = SF_FORMAT_INFO()
        info.format = Int32(code)
        guard sf_command(nil, Int32(SFC_GET_FORMAT_INFO), &info, Int32(MemoryLayout<SF_FORMAT_INFO>.size)) == 0,
              let name = info.name else { return fallback }
        return String(cString: name)
    }
}

/// The encodings `restore` writes. `.keep` follows the input where the container allows it.
public enum SampleEncoding: String, Sendable, CaseIterable, Codable {
    case keep, pcm16 = "pcm16", pcm24 = "pcm24", float32 = "float"
}
