import Foundation

/// Labelled log-mel spectrogram images: titled panels stacked top to bottom on one time
/// axis (seconds), a frequency axis in kHz at the mel positions of its ticks, a dB colour
/// bar, and what a task changed marked in every panel and named in a legend.
public enum SpectrogramImage {
    /// What a task changed.
    public enum Region: Sendable, Equatable {
        /// Everything above a frequency (bandwidth extension): a dashed line at the cutoff.
        case above(hertz: Double)
        /// A stretch of time (a filled gap), seconds: dashed lines at its two ends.
        case time(start: Double, end: Double)
        /// A time–frequency box (repair), seconds and hertz: a dashed rectangle.
        case box(start: Double, end: Double, lowHertz: Double, highHertz: Double)
    }

    /// One panel: a normalised mel in [−1, 1] (the front end's `normalizedMel`) and its title.
    public struct Panel: Sendable, Equatable {
        public var title: String
        public var mel: MelSpectrogram
        public init(title: String, mel: MelSpectrogram) {
            self.title = title
            self.mel = mel
        }
    }

    /// Pixel sizes. `rowScale` is the height of one mel band; the plot is one pixel column
    /// per frame, stretched up to `minPlotWidth` and averaged down to `maxPlotWidth`.
    public struct Layout: Sendable, Equatable {
        public var rowScale = 3
        public var minPlotWidth = 160
        public var maxPlotWidth = 1200
        public init(rowScale: Int = 3, minPlotWidth: Int = 160, maxPlotWidth: Int = 1200) {
            self.rowScale = max(1, rowScale)
            self.minPlotWidth = max(1, minPlotWidth)
            self.maxPlotWidth = max(self.minPlotWidth, maxPlotWidth)
        }
    }

    typealias Color = (UInt8, UInt8, UInt8)
    static let ink: Color = (40, 40, 40), background: Color = (255, 255, 255)
    /// Marks in colours the magma-like ramp never reaches, so they stay visible on any level.
    static let cutoffColor: Color = (0, 230, 255), changedColor: Color = (60, 255, 60)
    static let tickLength = 3, titleHeight = 12, barWidth = 8, legendLineHeight = 10

    /// Colour of a value in [0, 1]: a dark-blue → magenta → yellow ramp (perceptually ordered).
    static func color(_ v: Float) -> Color {
        let stops: [(Float, Float, Float)] = [(0, 0, 0.02), (0.23, 0.06, 0.43), (0.71, 0.21, 0.48), (0.98, 0.53, 0.24), (0.99, 0.99, 0.75)]
        let x = max(0, min(1, v)) * Float(stops.count - 1)
        let i = min(Int(x), stops.count - 2), t = x - Float(i)
        let (a, b) = (stops[i], stops[i + 1])
        func c(_ p: Float, _ q: Float) -> UInt8 { UInt8(max(0, min(255, (p + (q - p) * t) * 255))) }
        return (c(a.0, b.0), c(a.1, b.1), c(a.2, b.2))
    }

    /// Frequency ticks (Hz) and their labels (kHz); the mel scale spreads them out below 1 kHz.
    static let frequencyTicks: [(hertz: Double, label: String)] = [
        (500, "0.5"), (1000, "1"), (2000, "2"), (4000, "4"), (8000, "8"), (16000, "16"),
    ]
    /// Candidate time-tick steps (seconds); the smallest whose labels do not touch is used.
    static let timeSteps: [Double] = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600]
    static let decibelSteps: [Float] = [10, 20, 25, 50, 100]

    /// "1", "1.5", "0.25": no trailing zeros.
    static func number(_ v: Double) -> String {
        var s = String(format: "%.2f", v)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s == "-0" ? "0" : s
    }

    public static func render(panels: [Panel], regions: [Region], config: MelConfig = .standard, layout: Layout = Layout()) -> RGBImage {
        let frames = max(1, panels.map(\.mel.frames).max() ?? 1)
        let bands = max(1, panels.first?.mel.melCount ?? config.melCount)
        let rowScale = layout.rowScale
        let plotWidth = max(layout.minPlotWidth, min(layout.maxPlotWidth, frames))
        let panelHeight = bands * rowScale
        let secondsPerFrame = Double(config.hop) / config.sampleRate
        let seconds = Double(frames) * secondsPerFrame

        let yTicks = frequencyTicks.filter { $0.hertz > config.fMin && $0.hertz <= config.fMax }
        let yLabelWidth = max(BitmapFont.width(of: "kHz"), yTicks.map { BitmapFont.width(of: $0.label) }.max() ?? 0)
        let plotLeft = 2 + yLabelWidth + 2 + tickLength
        let barLeft = plotLeft + plotWidth + 6
        let dbLabels = decibelLabels(config: config, height: panels.count * (titleHeight + panelHeight) - titleHeight)
        let barLabelWidth = max(BitmapFont.width(of: "dB"), dbLabels.map { BitmapFont.width(of: $0.text) }.max() ?? 0)
        let width = barLeft + barWidth + 2 + barLabelWidth + 3
        let legend = legendEntries(regions, config: config)
        let legendLines = layoutLegend(legend, left: plotLeft, right: width - 2)
        let axisTop = panels.count * (titleHeight + panelHeight)
        let legendTop = axisTop + tickLength + 2 + BitmapFont.glyphHeight + 6
        let height = legendLines.isEmpty ? legendTop - 3 : legendTop + legendLines.count * legendLineHeight
        var img = RGBImage(width: width, height: height, fill: background)

        // Band position (fractional mel band index, 0 = the lowest band's centre) → row.
        let melLow = MelScale.hzToMel(config.fMin), melHigh = MelScale.hzToMel(config.fMax)
        func row(_ hertz: Double, panelTop: Int) -> Int {
            let band = (MelScale.hzToMel(min(max(hertz, config.fMin), config.fMax)) - melLow) / (melHigh - melLow) * Double(bands + 1) - 1
            let clamped = min(max(band, -0.5), Double(bands) - 0.5)
            return panelTop + min(panelHeight - 1, Int(((Double(bands) - 0.5 - clamped) * Double(rowScale)).rounded(.down)))
        }
        func column(_ t: Double) -> Int {
            plotLeft + min(plotWidth - 1, max(0, Int((t / seconds * Double(plotWidth)).rounded(.down))))
        }

        for (index, panel) in panels.enumerated() {
            let top = index * (titleHeight + panelHeight) + titleHeight
            let mel = panel.mel
            // Centred, so that the "kHz" over the frequency labels does not read as part of it.
            let titleLeft = plotLeft + max(0, (plotWidth - BitmapFont.width(of: panel.title)) / 2)
            BitmapFont.draw(panel.title, into: &img, x: titleLeft, y: top - titleHeight + 2, color: ink)
            for x in 0..<plotWidth {
                // Each pixel column shows the mean of the frames it covers.
                let f0 = x * frames / plotWidth, f1 = max(f0 + 1, (x + 1) * frames / plotWidth)
                for b in 0..<min(bands, mel.melCount) {
                    // Panels may differ by a few frames (resampled outputs); a shorter one ends blank.
                    var sum: Float = 0, n: Float = 0
                    for f in f0..<max(f0, min(f1, mel.frames)) { sum += mel.values[b * mel.frames + f]; n += 1 }
                    let col = n > 0 ? color((sum / n + 1) / 2) : background
                    for dy in 0..<rowScale { img[plotLeft + x, top + (bands - 1 - b) * rowScale + dy] = col }
                }
            }
            var lastLabelRow = Int.max
            for tick in yTicks {
                let y = row(tick.hertz, panelTop: top)
                for dx in 1...tickLength { img[plotLeft - dx, y] = ink }
                // Labels centred on their tick, kept inside the panel, never overlapping.
                let labelTop = min(max(y - BitmapFont.glyphHeight / 2, top), top + panelHeight - BitmapFont.glyphHeight)
                guard labelTop + BitmapFont.glyphHeight + 1 <= lastLabelRow else { continue }
                BitmapFont.draw(tick.label, into: &img, x: plotLeft - tickLength - 2 - BitmapFont.width(of: tick.label), y: labelTop, color: ink)
                lastLabelRow = labelTop
            }
            let thickness = rowScale >= 3 ? 2 : 1
            for region in regions {
                switch region {
                case .above(let hz):
                    // A cutoff above the front end's range has no row; the legend says so.
                    guard hz < config.fMax else { continue }
                    let y = row(hz, panelTop: top)
                    img.dashedLine(x0: plotLeft, y0: y, x1: plotLeft + plotWidth - 1, y1: y, color: cutoffColor, thickness: thickness)
                case .time(let s, let e):
                    for x in [column(s), column(e)] {
                        img.dashedLine(x0: x, y0: top, x1: x, y1: top + panelHeight - 1, color: changedColor, thickness: thickness)
                    }
                case .box(let s, let e, let lo, let hi):
                    let (x0, x1) = (column(s), column(e)), (y0, y1) = (row(hi, panelTop: top), row(lo, panelTop: top))
                    img.dashedLine(x0: x0, y0: y0, x1: x1, y1: y0, color: changedColor, thickness: thickness)
                    img.dashedLine(x0: x0, y0: y1 - thickness + 1, x1: x1, y1: y1 - thickness + 1, color: changedColor, thickness: thickness)
                    img.dashedLine(x0: x0, y0: y0, x1: x0, y1: y1, color: changedColor, thickness: thickness)
                    img.dashedLine(x0: x1 - thickness + 1, y0: y0, x1: x1 - thickness + 1, y1: y1, color: changedColor, thickness: thickness)
                }
            }
        }
        BitmapFont.draw("kHz", into: &img, x: plotLeft - tickLength - 2 - BitmapFont.width(of: "kHz"), y: 2, color: ink)

        // Time axis under the last panel; the last label carries the unit.
        let labelWidth = BitmapFont.width(of: number(seconds)) + BitmapFont.width(of: " s") + 6
        let step = timeSteps.first { $0 / seconds * Double(plotWidth) >= Double(labelWidth) } ?? timeSteps.last!
        let ticks = (0...Int((seconds / step).rounded(.down))).map { Double($0) * step }
        for (i, t) in ticks.enumerated() {
            let x = column(t)
            for dy in 0..<tickLength { img[x, axisTop + dy] = ink }
            let text = number(t) + (i == ticks.count - 1 ? " s" : "")
            let left = max(0, x - BitmapFont.width(of: number(t)) / 2)
            BitmapFont.draw(text, into: &img, x: left, y: axisTop + tickLength + 2, color: ink)
        }

        // Colour bar beside the panels: the normalised range is dbMin…dbMax.
        let barTop = titleHeight, barBottom = axisTop - 1
        for y in barTop..<max(barTop, barBottom + 1) {
            let v = Float(barBottom - y) / Float(max(1, barBottom - barTop))
            for x in 0..<barWidth { img[barLeft + x, y] = color(v) }
        }
        BitmapFont.draw("dB", into: &img, x: barLeft, y: 2, color: ink)
        for label in dbLabels {
            let y = barTop + Int((Double(label.fraction) * Double(barBottom - barTop)).rounded())
            img[barLeft + barWidth, y] = ink
            img[barLeft + barWidth + 1, y] = ink
            let labelTop = min(max(y - BitmapFont.glyphHeight / 2, barTop), barBottom - BitmapFont.glyphHeight + 1)
            BitmapFont.draw(label.text, into: &img, x: barLeft + barWidth + 3, y: labelTop, color: ink)
        }

        // Legend: one swatch and name per kind of mark.
        for (line, entries) in legendLines.enumerated() {
            let y = legendTop + line * legendLineHeight
            for (x, entry) in entries {
                switch entry.swatch {
                case .line: img.dashedLine(x0: x, y0: y + 3, x1: x + 9, y1: y + 3, color: entry.color, thickness: 1)
                case .box: img.outline(x0: x + 1, y0: y, x1: x + 7, y1: y + 6, color: entry.color, thickness: 1)
                }
                BitmapFont.draw(entry.text, into: &img, x: x + 13, y: y, color: ink)
            }
        }
        return img
    }

    /// Colour-bar labels: every `step` dB from dbMax down, with the step the bar's height allows.
    static func decibelLabels(config: MelConfig, height: Int) -> [(text: String, fraction: Float)] {
        let span = config.dbMax - config.dbMin
        guard span > 0 else { return [] }
        let step = decibelSteps.first { Float(height) * $0 / span >= Float(BitmapFont.glyphHeight + 3) } ?? span
        var labels: [(String, Float)] = []
        var db = config.dbMax
        while db >= config.dbMin - 1e-3 {
            labels.append((number(Double(db)), (config.dbMax - db) / span))
            db -= step
        }
        return labels
    }

    struct LegendEntry {
        enum Swatch { case line, box }
        var swatch: Swatch
        var color: Color
        var text: String
        var width: Int { 13 + BitmapFont.width(of: text) }
    }

    static func legendEntries(_ regions: [Region], config: MelConfig) -> [LegendEntry] {
        var entries: [LegendEntry] = []
        for case .above(let hz) in regions {
            let above = hz < config.fMax ? "" : " (above the plot)"
            entries.append(LegendEntry(swatch: .line, color: cutoffColor, text: "cutoff \(String(format: "%.1f", hz / 1000)) kHz\(above)"))
        }
        let gaps = regions.compactMap { r -> (Double, Double)? in if case .time(let s, let e) = r { return (s, e) } else { return nil } }
        if gaps.count == 1 {
            entries.append(LegendEntry(swatch: .box, color: changedColor, text: "gap \(String(format: "%.2f-%.2f", gaps[0].0, gaps[0].1)) s"))
        } else if gaps.count > 1 {
            entries.append(LegendEntry(swatch: .box, color: changedColor, text: "\(gaps.count) gaps"))
        }
        let boxes = regions.filter { if case .box = $0 { return true } else { return false } }.count
        if boxes > 0 {
            entries.append(LegendEntry(swatch: .box, color: changedColor, text: boxes == 1 ? "repaired box" : "\(boxes) repaired boxes"))
        }
        return entries
    }

    /// Entries left to right, wrapped onto new lines where they would cross `right`.
    static func layoutLegend(_ entries: [LegendEntry], left: Int, right: Int) -> [[(Int, LegendEntry)]] {
        var lines: [[(Int, LegendEntry)]] = []
        var x = left
        for entry in entries {
            if lines.isEmpty || (x + entry.width > right && x > left) {
                lines.append([])
                x = left
            }
            lines[lines.count - 1].append((x, entry))
            x += entry.width + 10
        }
        return lines
    }
}

extension RGBImage {
    /// A horizontal or vertical dashed line (4 on, 3 off), `thickness` pixels wide, clipped.
    mutating func dashedLine(x0: Int, y0: Int, x1: Int, y1: Int, color: (UInt8, UInt8, UInt8), thickness: Int) {
        let horizontal = y0 == y1
        let length = horizontal ? abs(x1 - x0) : abs(y1 - y0)
        for i in 0...length where i % 7 < 4 {
            for t in 0..<thickness {
                if horizontal { self[min(x0, x1) + i, y0 + t] = color } else { self[x0 + t, min(y0, y1) + i] = color }
            }
        }
    }
}
