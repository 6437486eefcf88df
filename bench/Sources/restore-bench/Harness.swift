import Foundation

/// llama-bench style measurement: warm-up runs, then repetitions, reporting the median.
struct Measurement: Encodable {
    var name: String
    var repetitions: Int
    var medianSeconds: Double
    var minSeconds: Double
    var maxSeconds: Double
    var threads: Int
    /// Seconds of audio processed per run, when that makes sense.
    var audioSeconds: Double?
    /// Useful floating-point operations per second, where the work is known.
    var gflops: Double?
    var realTimeFactor: Double? { audioSeconds.map { medianSeconds / $0 } }

    enum CodingKeys: String, CodingKey {
        case name, repetitions, medianSeconds, minSeconds, maxSeconds, threads, audioSeconds, realTimeFactor, gflops
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(repetitions, forKey: .repetitions)
        try c.encode(medianSeconds, forKey: .medianSeconds)
        try c.encode(minSeconds, forKey: .minSeconds)
        try c.encode(maxSeconds, forKey: .maxSeconds)
        try c.encode(threads, forKey: .threads)
        try c.encodeIfPresent(audioSeconds, forKey: .audioSeconds)
        try c.encodeIfPresent(realTimeFactor, forKey: .realTimeFactor)
        try c.encodeIfPresent(gflops, forKey: .gflops)
    }
}

func measure(_ name: String, warmup: Int = 1, repetitions: Int = 5, threads: Int = 1,
             audioSeconds: Double? = nil, _ body: () throws -> Void) rethrows -> Measurement {
    for _ in 0..<warmup { try body() }
    var times: [Double] = []
    for _ in 0..<repetitions {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    let sorted = times.sorted()
    return Measurement(name: name, repetitions: repetitions, medianSeconds: sorted[sorted.count / 2],
                       minSeconds: sorted.first!, maxSeconds: sorted.last!, threads: threads, audioSeconds: audioSeconds, gflops: nil)
}

func report(_ rows: [Measurement], json: Bool) {
    if json {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try! enc.encode(rows), as: UTF8.self))
        return
    }
    print("| benchmark | threads | reps | median ms | min ms | max ms | RTF | GFLOP/s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows {
        let rtf = r.realTimeFactor.map { String(format: "%.5f", $0) } ?? "-"
        let gf = r.gflops.map { String(format: "%.1f", $0) } ?? "-"
        print(String(format: "| %@ | %d | %d | %.3f | %.3f | %.3f | %@ | %@ |", r.name, r.threads, r.repetitions,
                     r.medianSeconds * 1e3, r.minSeconds * 1e3, r.maxSeconds * 1e3, rtf, gf))
    }
}
