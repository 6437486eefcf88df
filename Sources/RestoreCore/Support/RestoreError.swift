import Foundation

/// Every failure a user can cause names the file and the problem in one line.
/// `description` is what the command line prints after `restore: error: `.
public enum RestoreError: Error, Equatable, CustomStringConvertible, Sendable {
    case fileNotFound(path: String)
    case isDirectory(path: String)
    case unreadable(path: String, reason: String)
    case emptyAudio(path: String)
    case nonFiniteSamples(path: String, frame: Int, channel: Int)
    case outputExists(path: String)
    case wouldOverwriteInput(path: String)
    case outputClash(path: String, other: String)
    case nonFiniteOutput(path: String, frame: Int, channel: Int)
    case writeFailed(path: String, reason: String)
    case unsupportedOutputFormat(path: String, reason: String)
    case invalidArgument(String)
    case invalidData(path: String, reason: String)

    public var description: String {
        switch self {
        case .fileNotFound(let p): return "\(p): no such file"
        case .isDirectory(let p): return "\(p): is a directory, expected an audio file"
        case .unreadable(let p, let r): return "\(p): cannot read audio (\(r))"
        case .emptyAudio(let p): return "\(p): contains no audio (0 frames)"
        case .nonFiniteSamples(let p, let f, let c):
            return "\(p): contains NaN or infinite samples (first at frame \(f), channel \(c))"
        case .outputExists(let p): return "\(p): already exists (use --overwrite to replace it)"
        case .wouldOverwriteInput(let p): return "\(p): is an input file and is never overwritten"
        case .outputClash(let p, let o):
            return p == o ? "\(p): two outputs of this call would be written to the same file"
                : "\(p): the same file as output \(o) of this call; give the outputs different names or folders"
        case .nonFiniteOutput(let p, let f, let c):
            return "\(p): not written: the result has NaN or infinite samples (first at frame \(f), channel \(c)); is the input's level sane?"
        case .writeFailed(let p, let r): return "\(p): cannot write (\(r))"
        case .unsupportedOutputFormat(let p, let r): return "\(p): unsupported output format (\(r))"
        case .invalidArgument(let m): return m
        case .invalidData(let p, let r): return "\(p): \(r)"
        }
    }
}
