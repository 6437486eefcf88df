import ArgumentParser
import Foundation
import Probe
import RestoreCore
import Tasks

struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Linear probes on frozen embeddings: train, evaluate, predict tags.",
        discussion: """
        The paper's probe: batch norm without affine parameters, dropout 0.1 and one
        linear layer, trained with Adam and early stopping. Labels are CSV
        (file,label for one class per file; file,labels with tags separated by ';'
        for several) or JSONL ({"file": …, "label": …} or "labels": […]); an
        optional split column (train, validation, test) fixes the splits.
        Embeddings are restore embed outputs (a folder or one file), matched to
        label rows by file name.

        Examples:
          restore embed clips/*.wav -o emb/
          restore probe train --embeddings emb/ --labels tags.csv -o probe.safetensors
          restore probe eval probe.safetensors --embeddings emb/ --labels tags.csv
          restore probe predict probe.safetensors --embeddings emb/ --top 3
        """,
        subcommands: [Train.self, Eval.self, Predict.self]
    )

    struct Inputs: ParsableArguments {
        @Option(help: "Embeddings: a folder of restore embed outputs, or one file.") var embeddings: String
        @Option(help: "Tensor to read from .safetensors embeddings (e.g. clip.block3).") var tensor: String = "clip"
    }

    static func load(_ i: Inputs, labels: String, classes: [String]? = nil) throws -> ProbeDataset {
        let emb = try ProbeData.readEmbeddings(i.embeddings, tensor: i.tensor)
        let (rows, kind) = try ProbeData.readLabels(labels)
        let ds = ProbeData.dataset(embeddings: emb, labels: rows, kind: kind, classes: classes)
        guard !ds.names.isEmpty else {
            throw RestoreError.invalidArgument("probe: no label row matches an embedding (labels name e.g. '\(rows[0].name)', embeddings e.g. '\(emb.keys.sorted()[0])')")
        }
        if !ds.missingEmbeddings.isEmpty {
            FileHandle.standardError.write(Data("restore: note: \(ds.missingEmbeddings.count) labelled files have no embedding (e.g. \(ds.missingEmbeddings[0]))\n".utf8))
        }
        return ds
    }

    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Train a probe; early stopping on a validation split.")
        @OptionGroup var inputs: Inputs
        @Option(help: "Labels (.csv or .jsonl).") var labels: String
        @Option(name: [.short, .long], help: "Probe file to write (.safetensors).") var output: String
        @Option(parsing: .unconditional, help: "Random seed (initialisation, shuffling, dropout, split).") var seed: String = "0"
        @Option(parsing: .unconditional, help: "Adam learning rate.") var learningRate: Float = LinearProbe.Settings().learningRate
        @Option(parsing: .unconditional, help: "Most epochs.") var epochs = LinearProbe.Settings().maxEpochs
        @Option(parsing: .unconditional, help: "Epochs without a better validation loss before stopping.") var patience = LinearProbe.Settings().patience
        @Option(parsing: .unconditional, help: "Validation fraction when the labels have no validation split.") var validation = LinearProbe.Settings().validationFraction
        @Flag(help: "Replace an existing probe file.") var overwrite = false
        @Flag(help: "Print one JSON line (see the README's JSON output).") var json = false

        func validate() throws {
            _ = try SeedArgument.parse(seed)
            guard (1...100_000).contains(epochs) else { throw ValidationError("--epochs must be between 1 and 100000") }
            guard (1...100_000).contains(patience) else { throw ValidationError("--patience must be between 1 and 100000") }
            guard validation > 0, validation < 1 else { throw ValidationError("--validation must be a fraction between 0 and 1 (exclusive)") }
            guard learningRate > 0, learningRate <= 10 else { throw ValidationError("--learning-rate must be greater than 0 and at most 10") }
        }

        /// The files this command reads: the probe must never be written over one of them.
        var readFiles: [String] {
            var files = [labels, inputs.embeddings]
            if let names = try? FileManager.default.contentsOfDirectory(atPath: inputs.embeddings) {
                files += names.map { (inputs.embeddings as NSString).appendingPathComponent($0) }
            }
            return files
        }

        func run() throws {
            let t0 = Date()
            try OutputGuard.check(output, inputs: readFiles, overwrite: overwrite)
            let ds = try ProbeCommand.load(inputs, labels: labels)
            let all = Array(ds.names.indices)
            var train = all.filter { ds.splits[$0] == "train" || ds.splits[$0] == "" }
            var val = all.filter { ds.splits[$0] == "validation" }
            let seed = try SeedArgument.parse(self.seed)
            if val.isEmpty { (train, val) = LinearProbe.split(train, validationFraction: validation, seed: seed) }
            var s = LinearProbe.Settings()
            s.seed = seed; s.learningRate = learningRate; s.maxEpochs = epochs; s.patience = patience
            let (probe, log) = try LinearProbe.train(ds, train: train, validation: val, settings: s)
            try probe.save(to: output, inputs: readFiles, overwrite: overwrite, metadata: ["embeddings": inputs.embeddings, "tensor": inputs.tensor, "seed": String(seed)])
            struct Report: Encodable { var output: String; var kind: String; var classes: Int; var dimension: Int; var train: Int; var validation: Int; var epochs: Int; var bestEpoch: Int; var validationLoss: Double }
            let r = Report(output: output, kind: ds.kind.rawValue, classes: ds.classes.count, dimension: probe.dimension, train: log.trainCount,
                           validation: log.validationCount, epochs: log.epochs, bestEpoch: log.bestEpoch, validationLoss: log.bestValidationLoss)
            if json {
                var report = try JSONValue.encodingFields(r)
                report["output"] = nil
                let settings: [String: JSONValue] = ["labels": .string(labels), "tensor": .string(inputs.tensor), "learning_rate": .of(Double(learningRate)),
                                                     "epochs": .of(epochs), "patience": .of(patience), "validation": .of(validation)]
                OutputRecord(command: "probe train", input: inputs.embeddings, outputs: [output], seconds: Date().timeIntervalSince(t0), seed: seed,
                             settings: settings, report: report).print()
            } else {
                print("\(output): \(ds.kind.rawValue) probe, \(ds.classes.count) classes, \(probe.dimension)-d; \(log.trainCount) train / \(log.validationCount) validation; best epoch \(log.bestEpoch) of \(log.epochs), validation loss \(String(format: "%.4f", log.bestValidationLoss))")
            }
        }
    }

    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Macro ROC-AUC and mAP (and accuracy for one class per file).")
        @Argument(help: "Probe file.") var probe: String
        @OptionGroup var inputs: Inputs
        @Option(help: "Labels (.csv or .jsonl).") var labels: String
        @Option(help: "Which split to score (default: test if the labels have one, else every row).") var split: String?
        @Flag(help: "Print one JSON line (see the README's JSON output).") var json = false

        func run() throws {
            let t0 = Date()
            let p = try LinearProbe.load(probe)
            let ds = try ProbeCommand.load(inputs, labels: labels, classes: p.classes)
            let want = split ?? (ds.splits.contains("test") ? "test" : nil)
            let idx = ds.names.indices.filter { want == nil || ds.splits[$0] == want }
            guard !idx.isEmpty else { throw RestoreError.invalidArgument("probe eval: no rows in split '\(want ?? "")'") }
            let e = try p.evaluate(ds, indices: idx)
            if json {
                var settings: [String: JSONValue] = ["probe": .string(probe), "labels": .string(labels), "tensor": .string(inputs.tensor)]
                if let want { settings["split"] = .string(want) }
                OutputRecord(command: "probe eval", input: inputs.embeddings, seconds: Date().timeIntervalSince(t0), settings: settings,
                             report: try JSONValue.encodingFields(e)).print()
            } else {
                var line = "\(e.examples) examples: ROC-AUC \(String(format: "%.4f", e.rocAUC)), mAP \(String(format: "%.4f", e.meanAveragePrecision))"
                if let a = e.accuracy { line += ", accuracy \(String(format: "%.4f", a))" }
                print(line)
                if !e.skipped.isEmpty { print("skipped (no positive or no negative example): \(e.skipped.joined(separator: ", "))") }
            }
        }
    }

    struct Predict: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Top tags per file.")
        @Argument(help: "Probe file.") var probe: String
        @OptionGroup var inputs: Inputs
        @Option(parsing: .unconditional, help: "Tags per file.") var top = 3
        @Flag(help: "Print one JSON line per file (see the README's JSON output).") var json = false

        func validate() throws {
            guard (1...10_000).contains(top) else { throw ValidationError("--top must be between 1 and 10000") }
        }

        func run() throws {
            let p = try LinearProbe.load(probe)
            let emb = try ProbeData.readEmbeddings(inputs.embeddings, tensor: inputs.tensor)
            for (name, v) in emb.sorted(by: { $0.key < $1.key }) {
                let t0 = Date()
                guard v.count == p.dimension else { throw RestoreError.invalidData(path: name, reason: "embedding has \(v.count) values, the probe expects \(p.dimension)") }
                let s = p.predict(v)
                let best = s.indices.sorted { s[$0] > s[$1] }.prefix(top)
                if json {
                    let tags: [JSONValue] = best.map { .object(["tag": .string(p.classes[$0]), "score": .of(s[$0])]) }
                    OutputRecord(command: "probe predict", input: name, seconds: Date().timeIntervalSince(t0),
                                 settings: ["probe": .string(probe), "tensor": .string(inputs.tensor), "top": .of(top)], report: ["tags": .array(tags)]).print()
                } else {
                    print("\(name): " + best.map { "\(p.classes[$0]) \(String(format: "%.3f", s[$0]))" }.joined(separator: ", "))
                }
            }
        }
    }
}
