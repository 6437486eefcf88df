import CCrypto
import Foundation

/// Model files are checked before use: each file a model folder's `model.json` lists must
/// have the sha256 written there (a damaged download or an edited file fails loudly instead
/// of running), and every tensor must hold finite values (`SafeTensorsFile.tensor`).
public enum ModelVerification {
    /// SHA-256 of a file, as lowercase hex (OpenSSL's libcrypto: ~1 GB/s, so checking the
    /// model folder's weights, under 100 MB, at every load costs well under a tenth of a second).
    public static func sha256(file path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw RestoreError.fileNotFound(path: path) }
        defer { try? handle.close() }
        guard let ctx = EVP_MD_CTX_new() else { throw RestoreError.invalidData(path: path, reason: "cannot start SHA-256") }
        defer { EVP_MD_CTX_free(ctx) }
        EVP_DigestInit_ex(ctx, EVP_sha256(), nil)
        while true {
            let chunk = handle.readData(ofLength: 1 << 22)
            if chunk.isEmpty { break }
            chunk.withUnsafeBytes { _ = EVP_DigestUpdate(ctx, $0.baseAddress, $0.count) }
        }
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        EVP_DigestFinal_ex(ctx, &digest, &length)
        return digest.prefix(Int(length)).map { String(format: "%02x", $0) }.joined()
    }

    /// Checks `files` against the `model.json` in `folder` (if there is one): every listed
    /// component whose path (relative to the folder's parent, the Models root) is one of
    /// `files` must match its sha256. Files the manifest does not list are not checked.
    public static func verify(files: [String], manifestFolder folder: String) throws {
        guard let (manifestPath, object) = try ModelManifest.read(folder: folder) else { return }
        guard let components = object["components"] as? [String: Any] else { return }
        let root = (folder as NSString).deletingLastPathComponent
        for (name, value) in components.sorted(by: { $0.key < $1.key }) {
            guard let entry = value as? [String: Any], let relative = entry["path"] as? String,
                  let expected = entry["sha256"] as? String else { continue }
            let listed = (root as NSString).appendingPathComponent(relative)
            for file in files where OutputGuard.samePath(file, listed) {
                let got = try sha256(file: file)
                guard got == expected.lowercased() else {
                    throw RestoreError.invalidData(path: file, reason:
                        "sha256 \(got) differs from the \(name) checksum in \(manifestPath) (\(expected)); the file is damaged or was changed — restore it (git checkout, or scripts/fetch-pretrained for pretrained parts)")
                }
            }
        }
    }
}
