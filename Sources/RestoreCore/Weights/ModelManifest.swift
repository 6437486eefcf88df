import Foundation

/// A model folder's `model.json` is the truth about the mel its weights were trained on: a
/// folder whose manifest describes another front end (rate, FFT, hop, bands, band edges or
/// normalisation floor) is refused at load time rather than run on the wrong features.
public enum ModelManifest {
    /// The `model.json` of `folder` and its path, or nil when the folder has none.
    public static func read(folder: String) throws -> (path: String, object: [String: Any])? {
        let path = (folder as NSString).appendingPathComponent("model.json")
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw RestoreError.invalidData(path: path, reason: "is not a JSON object")
        }
        return (path, object)
    }

    /// Checks the `mel` block of `model.json` in `folder` (when there is one) against `config`.
    public static func checkMel(manifestFolder folder: String, against config: MelConfig) throws {
        guard let (path, object) = try read(folder: folder) else { return }
        guard let mel = object["mel"] as? [String: Any] else { return }
        func number(_ key: String) -> Double? { (mel[key] as? NSNumber)?.doubleValue }
        var expected: [(String, Double)] = [
            ("sample_rate", config.sampleRate), ("n_fft", Double(config.nFFT)), ("hop", Double(config.hop)),
            ("n_mels", Double(config.melCount)), ("fmin", config.fMin), ("fmax", config.fMax),
        ]
        var listed: [(String, Double?)] = expected.map { ($0.0, number($0.0)) }
        if let range = mel["db_range"] as? [NSNumber], range.count == 2 {
            expected += [("db_range[0]", Double(config.dbMin)), ("db_range[1]", Double(config.dbMax))]
            listed += [("db_range[0]", range[0].doubleValue), ("db_range[1]", range[1].doubleValue)]
        }
        for ((key, want), (_, got)) in zip(expected, listed) {
            guard let got else { continue }
            if abs(got - want) > 1e-6 * max(1, abs(want)) {
                throw RestoreError.invalidData(path: path, reason:
                    "mel \(key) is \(formatted(got)) but the front end (with the tokenizer's normalisation) uses \(formatted(want)); the model folder's files do not belong together")
            }
        }
    }

    static func formatted(_ v: Double) -> String {
        v == v.rounded() ? String(Int(v)) : String(v)
    }
}
