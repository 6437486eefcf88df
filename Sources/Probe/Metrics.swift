/// Ranking metrics for tagging (engine.md §4): ROC-AUC and average precision per tag,
/// macro-averaged over tags that have both positives and negatives.
public enum TaggingMetrics {
    /// ROC-AUC by the Mann–Whitney statistic; tied scores count one half.
    /// Returns nil when the labels have no positive or no negative.
    public static func rocAUC(scores: [Double], labels: [Bool]) -> Double? {
        precondition(scores.count == labels.count)
        let pos = labels.filter { $0 }.count, neg = labels.count - pos
        guard pos > 0, neg > 0 else { return nil }
        // Average ranks over ties, then the rank-sum form of the U statistic.
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var ranks = [Double](repeating: 0, count: scores.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let avg = Double(i + j) / 2 + 1
            for t in i...j { ranks[order[t]] = avg }
            i = j + 1
        }
        let rankSum = zip(ranks, labels).filter { $0.1 }.map { $0.0 }.reduce(0, +)
        return (rankSum - Double(pos * (pos + 1)) / 2) / Double(pos * neg)
    }

    /// Average precision as scikit-learn defines it: Σ (R_n − R_{n−1}) P_n over
    /// distinct score thresholds, so tied scores enter together.
    public static func averagePrecision(scores: [Double], labels: [Bool]) -> Double? {
        let pos = labels.filter { $0 }.count
        guard pos > 0 else { return nil }
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var tp = 0, fp = 0, ap = 0.0, lastRecall = 0.0
        var i = 0
        while i < order.count {
            var j = i
            while j < order.count && scores[order[j]] == scores[order[i]] {
                if labels[order[j]] { tp += 1 } else { fp += 1 }
                j += 1
            }
            let recall = Double(tp) / Double(pos)
            let precision = Double(tp) / Double(tp + fp)
            ap += (recall - lastRecall) * precision
            lastRecall = recall
            i = j
        }
        return ap
    }

    public struct Summary: Sendable, Equatable {
        public var rocAUC: Double
        public var meanAveragePrecision: Double
        /// Tags left out of the macro average: no positive (or, for AUC, no negative) example.
        public var skippedTags: [Int]
    }

    /// Macro averages over tags (columns) of `scores[example][tag]`.
    public static func macro(scores: [[Double]], labels: [[Bool]]) -> Summary {
        let tags = scores.first?.count ?? 0
        var aucs: [Double] = [], aps: [Double] = [], skipped: [Int] = []
        for t in 0..<tags {
            let s = scores.map { $0[t] }, l = labels.map { $0[t] }
            if let auc = rocAUC(scores: s, labels: l), let ap = averagePrecision(scores: s, labels: l) {
                aucs.append(auc); aps.append(ap)
            } else {
                skipped.append(t)
            }
        }
        func mean(_ x: [Double]) -> Double { x.isEmpty ? .nan : x.reduce(0, +) / Double(x.count) }
        return Summary(rocAUC: mean(aucs), meanAveragePrecision: mean(aps), skippedTags: skipped)
    }
}
