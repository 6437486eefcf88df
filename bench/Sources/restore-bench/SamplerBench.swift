import ArgumentParser
import Foundation
import RestoreCore

struct SamplerBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sampler",
        abstract: "Seconds for N MaskGIT iterations (with CFG) on a 265-token grid, default model and paper size."
    )

    @Option(help: "Repetitions after one warm-up run.") var repetitions = 3
    @Option(help: "Decoding iterations.") var iterations = 16
    @Option(help: "Thread counts to measure.") var threads: [Int] = [1, 2]
    @Option(help: "The shipped transformer (skipped when absent).") var model = "Models/default/transformer.safetensors"
    @Option(help: "Backends to measure: onednn, openblas.") var backend: [String] = ["onednn"]
    @Flag(help: "Machine-readable output.") var json = false
    @Flag(help: "Skip the paper-size model.") var defaultOnly = false

    func run() throws {
        var models: [(String, MaskedTransformer)] = []
        if FileManager.default.fileExists(atPath: model) { models.append(("default", try MaskedTransformer(path: model))) }
        let paper = TransformerConfig(codebook_size: 1024, rows: 5, columns: 53, width: 768, depth: 24, heads: 8, ffn: 3072)
        var s: UInt64 = 0
        if !defaultOnly { models.append(("paper_24x768", try MaskedTransformer(config: paper) { _, shape in s &+= 1; return Tensor.uniformRandom(shape, seed: s, scale: 0.02) })) }
        var rows: [Measurement] = []
        for (name, m) in models {
            let engine = Engine(transformer: m)
            let grid = TokenGrid(rows: 5, columns: 53, ids: [Int32](repeating: 0, count: 265))
            let none = [Bool](repeating: false, count: 265)
            let cond = [Float](repeating: 0.05, count: 384)
            for b in backend {
                guard let be = ComputeBackend(rawValue: b) else { throw ValidationError("unknown backend \(b)") }
                ComputeBackend.current = be
                for t in threads {
                    let label = be == .onednn ? "swift" : "swift_openblas"
                    rows.append(ExecutionContext(threads: t).run {
                        measure("\(label)_\(name)_\(iterations)it", repetitions: repetitions, threads: t) {
                            _ = engine.complete(grid: grid, known: none, condition: cond, iterations: iterations, seed: 1, threads: t)
                        }
                    })
                }
            }
        }
        report(rows, json: json)
    }
}
