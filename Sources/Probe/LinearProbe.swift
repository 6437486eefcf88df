import Foundation
import RestoreCore

/// The paper's probe (engine.md §4): batch norm without affine parameters, dropout 0.1, one
/// linear layer; sigmoid + binary cross-entropy for multi-label tags, softmax + cross-entropy
/// for one class per example. Trained with Adam and early stopping on a validation split;
/// deterministic for a seed.
public struct LinearProbe: Sendable {
    public var kind: ProbeDataset.Kind
    public var classes: [String]
    public var mean: [Float], variance: [Float]
    /// classes × dimension, row-major.
    public var weight: [Float]
    public var bias: [Float]
    public static let epsilon: Float = 1e-5

    public var dimension: Int { mean.count }

    public struct Settings: Sendable {
        public var learningRate: Float = 1e-3
        public var batchSize = 32
        public var maxEpochs = 300
        public var patience = 20
        public var dropout: Float = 0.1
        public var validationFraction = 0.2
        public var seed: UInt64 = 0
        public init() {}
    }

    public struct TrainingLog: Sendable {
        public var epochs: Int
        public var bestEpoch: Int
        public var bestValidationLoss: Double
        public var trainCount: Int
        public var validationCount: Int
    }

    /// Raw scores (logits) for one embedding, in eval mode (running statistics, no dropout).
    public func logits(_ x: [Float]) -> [Float] {
        let d = dimension
        var z = [Float](repeating: 0, count: d)
        for j in 0..<d { z[j] = (x[j] - mean[j]) / (variance[j] + Self.epsilon).squareRoot() }
        return (0..<classes.count).map { c in
            var s = bias[c]
            for j in 0..<d { s += weight[c * d + j] * z[j] }
            return s
        }
    }

    /// Probabilities: sigmoid per tag, or softmax over classes.
    public func predict(_ x: [Float]) -> [Double] {
        let l = logits(x).map(Double.init)
        switch kind {
        case .multiLabel: return l.map { 1 / (1 + Foundation.exp(-$0)) }
        case .multiClass:
            let m = l.max() ?? 0
            let e = l.map { Foundation.exp($0 - m) }
            let s = e.reduce(0, +)
            return e.map { $0 / s }
        }
    }

    /// Loss of probabilities against targets, per example (BCE mean over tags, or CE).
    static func loss(_ p: [Double], _ t: [Bool], kind: ProbeDataset.Kind) -> Double {
        switch kind {
        case .multiLabel:
            return zip(p, t).map { -($1 ? Foundation.log(max($0, 1e-12)) : Foundation.log(max(1 - $0, 1e-12))) }.reduce(0, +) / Double(p.count)
        case .multiClass:
            guard let c = t.firstIndex(of: true) else { return 0 }
            return -Foundation.log(max(p[c], 1e-12))
        }
    }

    /// Trains on `train` (indices into the dataset), early-stopping on `validation`.
    public static func train(_ data: ProbeDataset, train trainIdx: [Int], validation valIdx: [Int],
                             settings: Settings = .init()) throws -> (LinearProbe, TrainingLog) {
        guard trainIdx.count >= 2 else { throw RestoreError.invalidArgument("probe: need at least 2 training examples, have \(trainIdx.count)") }
        guard !valIdx.isEmpty else { throw RestoreError.invalidArgument("probe: the validation split is empty") }
        let d = data.features[0].count, k = data.classes.count
        var rng = SplitMix64(seed: settings.seed)
        // Linear layer initialised as PyTorch does: U(−1/√d, 1/√d).
        let bound = 1 / Float(d).squareRoot()
        var w = (0..<(k * d)).map { _ in Float(rng.uniform() * 2 - 1) * bound }
        var b = (0..<k).map { _ in Float(rng.uniform() * 2 - 1) * bound }
        var runMean = [Float](repeating: 0, count: d), runVar = [Float](repeating: 1, count: d)
        // Adam state.
        var mw = [Float](repeating: 0, count: k * d), vw = mw, mb = [Float](repeating: 0, count: k), vb = mb
        let (b1, b2, eps): (Float, Float, Float) = (0.9, 0.999, 1e-8)
        var step = 0
        var best = (loss: Double.infinity, epoch: 0, probe: LinearProbe(kind: data.kind, classes: data.classes, mean: runMean, variance: runVar, weight: w, bias: b))
        var epoch = 0
        var order = trainIdx
        while epoch < settings.maxEpochs && epoch - best.epoch < settings.patience {
            epoch += 1
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            var start = 0
            while start < order.count {
                var batch = Array(order[start..<min(order.count, start + settings.batchSize)])
                start += settings.batchSize
                if batch.count < 2 { batch.append(order[0]) }   // batch norm needs two examples
                let n = batch.count
                // Batch norm (no affine): batch statistics, running averages for evaluation.
                var mu = [Float](repeating: 0, count: d), va = [Float](repeating: 0, count: d)
                for i in batch { for j in 0..<d { mu[j] += data.features[i][j] } }
                for j in 0..<d { mu[j] /= Float(n) }
                for i in batch { for j in 0..<d { let t = data.features[i][j] - mu[j]; va[j] += t * t } }
                for j in 0..<d { va[j] /= Float(n) }
                for j in 0..<d {
                    runMean[j] = 0.9 * runMean[j] + 0.1 * mu[j]
                    runVar[j] = 0.9 * runVar[j] + 0.1 * va[j] * Float(n) / Float(n - 1)
                }
                let inv = va.map { 1 / ($0 + epsilon).squareRoot() }
                var gw = [Float](repeating: 0, count: k * d), gb = [Float](repeating: 0, count: k)
                for i in batch {
                    // Normalise, drop out (inverted scaling), forward.
                    var z = [Float](repeating: 0, count: d)
                    for j in 0..<d {
                        let keep = Float(rng.uniform()) >= settings.dropout
                        z[j] = keep ? (data.features[i][j] - mu[j]) * inv[j] / (1 - settings.dropout) : 0
                    }
                    var l = [Float](repeating: 0, count: k)
                    for c in 0..<k { var s = b[c]; for j in 0..<d { s += w[c * d + j] * z[j] }; l[c] = s }
                    // dLoss/dlogit: σ(l) − t per tag (averaged over tags), or softmax(l) − onehot.
                    var g = [Float](repeating: 0, count: k)
                    switch data.kind {
                    case .multiLabel:
                        for c in 0..<k { g[c] = (1 / (1 + Foundation.exp(-l[c])) - (data.targets[i][c] ? 1 : 0)) / Float(k) }
                    case .multiClass:
                        let m = l.max()!
                        let e = l.map { Foundation.exp($0 - m) }
                        let s = e.reduce(0, +)
                        for c in 0..<k { g[c] = e[c] / s - (data.targets[i][c] ? 1 : 0) }
                    }
                    for c in 0..<k {
                        gb[c] += g[c] / Float(n)
                        let gc = g[c] / Float(n)
                        for j in 0..<d { gw[c * d + j] += gc * z[j] }
                    }
                }
                // (Gradients through the batch statistics are left out: the features are fixed
                // and the linear layer is all that learns.)
                step += 1
                let c1 = 1 - Foundation.pow(b1, Float(step)), c2 = 1 - Foundation.pow(b2, Float(step))
                for p in 0..<(k * d) {
                    mw[p] = b1 * mw[p] + (1 - b1) * gw[p]; vw[p] = b2 * vw[p] + (1 - b2) * gw[p] * gw[p]
                    w[p] -= settings.learningRate * (mw[p] / c1) / ((vw[p] / c2).squareRoot() + eps)
                }
                for c in 0..<k {
                    mb[c] = b1 * mb[c] + (1 - b1) * gb[c]; vb[c] = b2 * vb[c] + (1 - b2) * gb[c] * gb[c]
                    b[c] -= settings.learningRate * (mb[c] / c1) / ((vb[c] / c2).squareRoot() + eps)
                }
            }
            let probe = LinearProbe(kind: data.kind, classes: data.classes, mean: runMean, variance: runVar, weight: w, bias: b)
            let vl = valIdx.map { loss(probe.predict(data.features[$0]), data.targets[$0], kind: data.kind) }.reduce(0, +) / Double(valIdx.count)
            if vl < best.loss { best = (vl, epoch, probe) }
        }
        return (best.probe, TrainingLog(epochs: epoch, bestEpoch: best.epoch, bestValidationLoss: best.loss,
                                        trainCount: trainIdx.count, validationCount: valIdx.count))
    }

    /// Deterministic train/validation split of `indices` for a seed.
    public static func split(_ indices: [Int], validationFraction: Double, seed: UInt64) -> (train: [Int], validation: [Int]) {
        var rng = SplitMix64(seed: seed ^ 0x5EED)
        var order = indices
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        let nv = max(1, Int((Double(order.count) * validationFraction).rounded()))
        return (Array(order[nv...]).sorted(), Array(order[..<nv]).sorted())
    }

    // MARK: - files

    /// Writes the probe through the output guard: never over `inputs`, never over an existing
    /// file unless `overwrite`.
    public func save(to path: String, inputs: [String] = [], overwrite: Bool = false, metadata extra: [String: String] = [:]) throws {
        let k = classes.count, d = dimension
        var meta = extra
        meta["format"] = "restore.probe"
        meta["kind"] = kind.rawValue
        meta["classes"] = String(decoding: try JSONEncoder().encode(classes), as: UTF8.self)
        let data = try SafeTensorsWriter.encode([
            "bn.running_mean": Tensor(shape: [d], data: mean), "bn.running_var": Tensor(shape: [d], data: variance),
            "linear.weight": Tensor(shape: [k, d], data: weight), "linear.bias": Tensor(shape: [k], data: bias),
        ], metadata: meta)
        try OutputGuard.write(data, to: path, inputs: inputs, overwrite: overwrite)
    }

    public static func load(_ path: String) throws -> LinearProbe {
        let f = try SafeTensorsFile(path: path)
        guard f.metadata["format"] == "restore.probe", let kindText = f.metadata["kind"], let kind = ProbeDataset.Kind(rawValue: kindText),
              let cj = f.metadata["classes"], let classes = try? JSONDecoder().decode([String].self, from: Data(cj.utf8)) else {
            throw RestoreError.invalidData(path: path, reason: "not a probe written by `restore probe train`")
        }
        let w = try f.tensor("linear.weight")
        let d = w.shape.count == 2 ? w.shape[1] : 0
        guard w.shape == [classes.count, d] else { throw RestoreError.invalidData(path: path, reason: "linear.weight shape \(w.shape) does not match \(classes.count) classes") }
        return LinearProbe(kind: kind, classes: classes, mean: try f.tensor("bn.running_mean", shape: [d]).data,
                           variance: try f.tensor("bn.running_var", shape: [d]).data, weight: w.data,
                           bias: try f.tensor("linear.bias", shape: [classes.count]).data)
    }

    // MARK: - evaluation

    public struct Evaluation: Sendable, Encodable {
        public var examples: Int
        public var rocAUC: Double
        public var meanAveragePrecision: Double
        /// Multi-class only: top-1 accuracy.
        public var accuracy: Double?
        /// Classes left out of the macro averages (no positive or no negative example).
        public var skipped: [String]
    }

    public func evaluate(_ data: ProbeDataset, indices: [Int]) throws -> Evaluation {
        guard data.classes == classes else {
            throw RestoreError.invalidArgument("probe: the labels' classes (\(data.classes.count)) differ from the probe's (\(classes.count))")
        }
        let scores = indices.map { predict(data.features[$0]) }
        let labels = indices.map { data.targets[$0] }
        let m = TaggingMetrics.macro(scores: scores, labels: labels)
        var acc: Double? = nil
        if kind == .multiClass {
            let right = zip(scores, labels).filter { s, l in l[s.indices.max { s[$0] < s[$1] }!] }.count
            acc = Double(right) / Double(max(1, indices.count))
        }
        return Evaluation(examples: indices.count, rocAUC: m.rocAUC, meanAveragePrecision: m.meanAveragePrecision, accuracy: acc,
                          skipped: m.skippedTags.map { classes[$0] })
    }
}
