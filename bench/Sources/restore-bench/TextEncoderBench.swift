import ArgumentParser
import Foundation
import RestoreCore

struct TextEncoderBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "text-encoder",
        abstract: "MiniLM sentence encoding: load time, and seconds per prompt (short, long) at 1 and 2 threads."
    )

    @Option(help: "Repetitions after one warm-up run.") var repetitions = 5
    @Flag(help: "Machine-readable output.") var json = false

    func run() throws {
        let t0 = Date()
        let m = try MiniLM.load()
        let load = Date().timeIntervalSince(t0)
        var rows: [Measurement] = []
        let prompts = [("short_4_tokens", "a dog barking"),
                       ("sentence_14_tokens", "a violin playing a slow melody in a large hall, then applause"),
                       ("long_256_tokens", String(repeating: "rain on a tin roof and distant thunder ", count: 40))]
        for t in [1, 2] {
            ExecutionContext(threads: t).run {
                for (name, text) in prompts {
                    rows.append(measure("minilm_\(name)", repetitions: repetitions, threads: t) { _ = m.embed(text) })
                }
            }
        }
        if !json { print(String(format: "model load: %.3f s", load)) }
        report(rows, json: json)
    }
}
