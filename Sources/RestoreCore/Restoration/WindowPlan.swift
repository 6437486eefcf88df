import Foundation

/// Where the model windows of a long input fall, in samples of the input's rate (engine.md §3):
/// windows of the model's length, each overlapping the next by `overlapColumns`; the overlap
/// is given to the next window as known context, and outputs are joined by a linear
/// crossfade over the overlap minus `edgeColumns` at each end (where the analysis and the
/// vocoder see the slice border).
public struct WindowPlan: Sendable, Equatable {
    public let rate: Double
    public let windowSamples: Int
    public let hopColumns: Int
    public let overlapColumns: Int
    let columnSeconds: Double
    /// Input read on each side of a window so its mel frames are those of the whole file.
    public let margin: Int
    public let edge: Int

    public init(model: EngineModel, rate: Double, overlapColumns: Int = 10, edgeColumns: Int = 2) {
        let spc = Double(model.samplesPerColumn)
        self.init(rate: rate, columns: model.windowColumns, columnSeconds: spc / model.sampleRate,
                  overlapColumns: overlapColumns, edgeColumns: edgeColumns)
    }

    public init(rate: Double, columns: Int, columnSeconds: Double, overlapColumns: Int = 10, edgeColumns: Int = 2) {
        precondition(overlapColumns > 2 * edgeColumns && overlapColumns < columns)
        self.rate = rate
        self.columnSeconds = columnSeconds
        self.overlapColumns = overlapColumns
        hopColumns = columns - overlapColumns
        windowSamples = Int((Double(columns) * columnSeconds * rate).rounded())
        margin = Int((0.75 * columnSeconds * rate).rounded())
        edge = Int((Double(edgeColumns) * columnSeconds * rate).rounded())
    }

    /// First sample of window k.
    public func start(_ k: Int) -> Int { Int((Double(k * hopColumns) * columnSeconds * rate).rounded()) }
    /// The input a window reads: the window plus the margins, clipped to `available`.
    public func slice(_ k: Int, available: Int) -> Range<Int> {
        max(0, start(k) - margin)..<min(available, start(k) + windowSamples + margin)
    }
    /// True when window k reaches the end of an input of n samples.
    public func isLast(_ k: Int, total n: Int) -> Bool { start(k) + windowSamples >= n }
    /// Crossfade from window k−1 into window k.
    public func fade(_ k: Int) -> Range<Int> { (start(k) + edge)..<(start(k - 1) + windowSamples - edge) }
    /// Windows needed for n samples.
    public func count(total n: Int) -> Int {
        var k = 0
        while !isLast(k, total: n) { k += 1 }
        return k + 1
    }
}
