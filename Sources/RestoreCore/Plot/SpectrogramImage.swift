import Foundation

/// Log-mel spectrogram images: before/after panels with the changed region outlined.
public enum SpectrogramImage {
    /// What a task changed, drawn as an outline.
    public enum Region: Sendable, Equatable {
        /// Everything above a frequency (bandwidth extension).
        case above(hertz: Double)
        /// A stretch of time (a filled gap), seconds.
        case time(start: Double, end: Double)
    }

    static let rowScale = 3, maxWidth = 1200

    /// Colour of a value in [0, 1]: a dark-blue → magenta → yellow ramp (perceptually ordered).
    static func color(_ v: Float) -> (UInt8, UInt8, UInt8) {
        let stops: [(Float, Float, Float)] = [(0, 0, 0.02), (0.23, 0.06, 0.43), (0.71, 0.21, 0.48), (0.98, 0.53, 0.24), (0.99, 0.99, 0.75)]
        let x = max(0, min(1, v)) * Float(stops.count - 1)
        let i = min(Int(x), stops.count - 2), t = x - Float(i)
        let (a, b) = (stops[i], stops[i + 1])
        func c(_ p: Float, _ q: Float) -> UInt8 { UInt8(max(0, min(255, (p + (q - p) * t) * 255))) }
        return (c(a.0, b.0), c(a.1, b.1), c(a.2, b.2))
    }

    /// Panels (each a normalised mel in [−1, 1], low frequencies at the bottom) stacked top to
    /// bottom, with the regions outlined in every panel after the first.
    public static func render(panels: [MelSpectrogram], regions: [Region], config: MelConfig = .standard) -> RGBImage {
        let frames = panels.map(\.frames).max() ?? 1
        let width = max(1, min(maxWidth, frames))
        let bands = panels.first?.melCount ?? config.melCount
        let panelHeight = bands * rowScale, gap = 6
        let height = panels.count * panelHeight + (panels.count - 1) * gap
        var img = RGBImage(width: width, height: max(1, height), fill: (255, 255, 255))
        let secondsPerFrame = Double(config.hop) / config.sampleRate
        for (pi, mel) in panels.enumerated() {
            let top = pi * (panelHeight + gap)
            for x in 0..<width {
                // Each pixel column shows the mean of the frames it covers.
                let f0 = x * frames / width, f1 = max(f0 + 1, (x + 1) * frames / width)
                for b in 0..<bands {
                    var s: Float = 0, n: Float = 0
                    for f in f0..<min(f1, mel.frames) { s += mel.values[b * mel.frames + f]; n += 1 }
                    let v = n > 0 ? (s / n + 1) / 2 : 0
                    let col = color(v)
                    for dy in 0..<rowScale { img[x, top + (bands - 1 - b) * rowScale + dy] = col }
                }
            }
            guard pi > 0 || panels.count == 1 else { continue }
            let lo = MelScale.hzToMel(config.fMin), hi = MelScale.hzToMel(config.fMax)
            for region in regions {
                switch region {
                case .above(let hz):
                    let bin = (MelScale.hzToMel(min(hz, config.fMax)) - lo) / (hi - lo) * Double(bands + 1) - 1
                    let y = top + Int((Double(bands) - max(0, bin)) * Double(rowScale))
                    img.outline(x0: 0, y0: top, x1: width - 1, y1: min(top + panelHeight - 1, y), color: (0, 255, 255))
                case .time(let s, let e):
                    let x0 = Int(s / secondsPerFrame * Double(width) / Double(frames))
                    let x1 = Int((e / secondsPerFrame * Double(width) / Double(frames)).rounded(.up))
                    img.outline(x0: max(0, x0 - 1), y0: top, x1: min(width - 1, max(x0 + 1, x1 + 1)), y1: top + panelHeight - 1, color: (0, 255, 255))
                }
            }
        }
        return img
    }
}
