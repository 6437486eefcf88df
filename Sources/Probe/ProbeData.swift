import Foundation
import RestoreCore

/// Frozen embeddings with labels, as a probe trains on them.
public struct ProbeDataset: Sendable {
    public enum Kind: String, Codable, Sendable { case multiLabel = "multi-label", multiClass = "multi-class" }
    public var names: [String]
    public var features: [[Float]]
    /// labels[i][c]: example i has class/tag c.
    public var targets: [[Bool]]
    public var classes: [String]
    public var kind: Kind
    /// "train", "validation", "test" or "" (unsplit) per example, from the label file.
    public var splits: [String]
    /// Labelled names without an embedding, and embeddings without labels.
    public var missingEmbeddings: [String] = []
    public var unlabelled: [String] = []
}

/// A label row: file name, its labels, and an optional split.
public struct LabelRow: Sendable, Equatable {
    public var name: String
    public var labels: [String]
    public var split: String
}

public enum ProbeData {
    /// The key an embedding or a label row is matched by: the file name without folders,
    /// extension, and restore's `.embed` suffix.
    public static func key(_ path: String) -> String {
        var s = (path as NSString).lastPathComponent
        for ext in [".npy", ".json", ".safetensors", ".wav", ".flac", ".ogg", ".mp3"] where s.lowercased().hasSuffix(ext) {
            s = String(s.dropLast(ext.count))
        }
        if s.hasSuffix(".embed") { s = String(s.dropLast(6)) }
        return s
    }

    /// Labels from CSV (`file,label` = multi-class; `file,labels` with `;` between tags =
    /// multi-label; an optional `split` column) or JSONL (`{"file", "label"}` or `{"file", "labels": […]}`).
    public static func readLabels(_ path: String) throws -> ([LabelRow], ProbeDataset.Kind) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw RestoreError.fileNotFound(path: path) }
        var rows: [LabelRow] = []
        var multi: Bool? = nil
        if path.lowercased().hasSuffix(".jsonl") || path.lowercased().hasSuffix(".json") {
            for (i, line) in text.split(separator: "\n").enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let file = obj["file"] as? String else {
                    throw RestoreError.invalidData(path: "\(path):\(i + 1)", reason: "expected {\"file\": …, \"label\": … or \"labels\": […]}")
                }
                let split = obj["split"] as? String ?? ""
                if let many = obj["labels"] as? [String] { multi = true; rows.append(LabelRow(name: key(file), labels: many, split: split)) }
                else if let one = obj["label"] as? String { multi = multi ?? false; rows.append(LabelRow(name: key(file), labels: [one], split: split)) }
                else { throw RestoreError.invalidData(path: "\(path):\(i + 1)", reason: "no \"label\" or \"labels\"") }
            }
        } else {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: true).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            guard let header = lines.first?.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) else {
                throw RestoreError.invalidData(path: path, reason: "empty label file")
            }
            guard let fi = header.firstIndex(of: "file"), let li = header.firstIndex(where: { $0 == "label" || $0 == "labels" }) else {
                throw RestoreError.invalidData(path: "\(path):1", reason: "the header needs a 'file' column and a 'label' (multi-class) or 'labels' (multi-label) column")
            }
            multi = header[li] == "labels"
            let si = header.firstIndex(of: "split")
            for (i, line) in lines.dropFirst().enumerated() {
                let cols = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                guard cols.count == header.count else {
                    throw RestoreError.invalidData(path: "\(path):\(i + 2)", reason: "\(cols.count) columns, the header has \(header.count)")
                }
                let labels = multi! ? cols[li].split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } : [cols[li]]
                rows.append(LabelRow(name: key(cols[fi]), labels: labels, split: si.map { cols[$0] } ?? ""))
            }
        }
        guard !rows.isEmpty else { throw RestoreError.invalidData(path: path, reason: "no labelled files") }
        return (rows, multi == true ? .multiLabel : .multiClass)
    }

    /// Clip embeddings: one .npy/.json/.safetensors file, or every such file in a folder
    /// (the `.columns.npy` side files are skipped). `tensor` picks a tensor from
    /// .safetensors files (default "clip").
    public static func readEmbeddings(_ path: String, tensor: String = "clip") throws -> [String: [Float]] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw RestoreError.fileNotFound(path: path) }
        var files = [path]
        if isDir.boolValue {
            files = (try FileManager.default.contentsOfDirectory(atPath: path)).sorted()
                .filter { ($0.hasSuffix(".npy") && !$0.hasSuffix(".columns.npy")) || $0.hasSuffix(".safetensors") || $0.hasSuffix(".json") }
                .map { (path as NSString).appendingPathComponent($0) }
        }
        var out: [String: [Float]] = [:]
        for f in files {
            if f.hasSuffix(".npy") {
                let a = try NumpyArray.read(f)
                guard a.shape.count == 1 else { throw RestoreError.invalidData(path: f, reason: "expected a clip vector, shape \(a.shape)") }
                out[key(f)] = a.values
            } else if f.hasSuffix(".safetensors") {
                let st = try SafeTensorsFile(path: f)
                guard st.names.contains(tensor) else {
                    throw RestoreError.invalidData(path: f, reason: "no tensor '\(tensor)' (has \(st.names.sorted().joined(separator: ", ")))")
                }
                out[key(f)] = try st.tensor(tensor).data
            } else {
                guard let obj = try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: f))) as? [String: Any],
                      let clip = obj["clip"] as? [Double] else { throw RestoreError.invalidData(path: f, reason: "no \"clip\" array") }
                out[key(f)] = clip.map(Float.init)
            }
        }
        guard let d = out.first?.value.count, d > 0 else { throw RestoreError.invalidData(path: path, reason: "no embeddings found") }
        if let bad = out.first(where: { $0.value.count != d }) {
            throw RestoreError.invalidData(path: bad.key, reason: "embedding has \(bad.value.count) values, others \(d)")
        }
        return out
    }

    public static func dataset(embeddings: [String: [Float]], labels: [LabelRow], kind: ProbeDataset.Kind, classes fixed: [String]? = nil) -> ProbeDataset {
        let classes = fixed ?? Array(Set(labels.flatMap(\.labels))).sorted()
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        var ds = ProbeDataset(names: [], features: [], targets: [], classes: classes, kind: kind, splits: [])
        var labelled = Set<String>()
        for row in labels {
            labelled.insert(row.name)
            guard let e = embeddings[row.name] else { ds.missingEmbeddings.append(row.name); continue }
            var t = [Bool](repeating: false, count: classes.count)
            for l in row.labels { if let c = index[l] { t[c] = true } }
            ds.names.append(row.name); ds.features.append(e); ds.targets.append(t); ds.splits.append(row.split)
        }
        ds.unlabelled = embeddings.keys.filter { !labelled.contains($0) }.sorted()
        return ds
    }
}
