import Foundation

/// HiFi-GAN V1 generator configuration (the `config` metadata of the converted file).
public struct HiFiGANConfig: Codable, Sendable, Equatable {
    public var resblock: String
    public var upsample_rates: [Int]
    public var upsample_kernel_sizes: [Int]
    public var upsample_initial_channel: Int
    public var resblock_kernel_sizes: [Int]
    public var resblock_dilation_sizes: [[Int]]
    public var num_mels: Int
    public var hop_size: Int
    public var sampling_rate: Int
}

/// The HiFi-GAN V1 generator (Kong et al. 2020), weight norm already folded:
/// conv_pre → [leaky ReLU 0.1 → transposed conv ↑ → mean of ResBlock1s] × stages
/// → leaky ReLU 0.01 → conv_post → tanh.
public struct HiFiGAN: Sendable {
    public let config: HiFiGANConfig
    let convPre: Conv1d
    let ups: [ConvTranspose1d]
    /// resblocks[stage][kernel] = [(dilated conv, plain conv)] pairs.
    let resblocks: [[[(Conv1d, Conv1d)]]]
    let convPost: Conv1d
    static let slope: Float = 0.1

    public init(file: SafeTensorsFile) throws {
        guard let text = file.metadata["config"], let cfg = try? JSONDecoder().decode(HiFiGANConfig.self, from: Data(text.utf8)) else {
            throw SafeTensorsError(file: file.path, problem: "no HiFi-GAN config in __metadata__")
        }
        guard cfg.resblock == "1", cfg.upsample_rates.count == cfg.upsample_kernel_sizes.count,
              cfg.resblock_kernel_sizes.count == cfg.resblock_dilation_sizes.count else {
            throw SafeTensorsError(file: file.path, problem: "unsupported HiFi-GAN config (ResBlock1 only)")
        }
        config = cfg
        func conv(_ name: String, _ cout: Int, _ cin: Int, _ k: Int, dilation: Int = 1) throws -> Conv1d {
            Conv1d(weight: try file.tensor("\(name).weight", shape: [cout, cin, k]),
                   bias: try file.tensor("\(name).bias", shape: [cout]),
                   padding: (k * dilation - dilation) / 2, dilation: dilation)
        }
        let c0 = cfg.upsample_initial_channel
        convPre = try conv("conv_pre", c0, cfg.num_mels, 7)
        var ups: [ConvTranspose1d] = []
        var blocks: [[[(Conv1d, Conv1d)]]] = []
        var ch = c0
        for (i, (u, k)) in zip(cfg.upsample_rates, cfg.upsample_kernel_sizes).enumerated() {
            let out = c0 >> (i + 1)
            ups.append(ConvTranspose1d(weight: try file.tensor("ups.\(i).weight", shape: [ch, out, k]),
                                       bias: try file.tensor("ups.\(i).bias", shape: [out]),
                                       stride: u, padding: (k - u) / 2))
            ch = out
            var stage: [[(Conv1d, Conv1d)]] = []
            for (j, (rk, dils)) in zip(cfg.resblock_kernel_sizes, cfg.resblock_dilation_sizes).enumerated() {
                let r = i * cfg.resblock_kernel_sizes.count + j
                var pairs: [(Conv1d, Conv1d)] = []
                for (m, d) in dils.enumerated() {
                    pairs.append((try conv("resblocks.\(r).convs1.\(m)", ch, ch, rk, dilation: d),
                                  try conv("resblocks.\(r).convs2.\(m)", ch, ch, rk)))
                }
                stage.append(pairs)
            }
            blocks.append(stage)
        }
        self.ups = ups
        resblocks = blocks
        convPost = try conv("conv_post", 1, ch, 7)
    }

    public init(path: String) throws { try self.init(file: SafeTensorsFile(path: path)) }

    /// Samples produced per mel frame.
    public var hop: Int { config.upsample_rates.reduce(1, *) }

    /// ln-mel (num_mels, frames) → waveform of frames·hop samples in [−1, 1].
    public func callAsFunction(_ logMel: Tensor, threads: Int = ParallelConfig.threads) -> [Float] {
        precondition(logMel.rank == 2 && logMel.shape[0] == config.num_mels)
        var x = convPre(logMel, threads: threads)
        for (i, up) in ups.enumerated() {
            x.apply { Activation.leakyReLU($0, $1, slope: HiFiGAN.slope) }
            x = up(x)
            var sum: Tensor? = nil
            for pairs in resblocks[i] {
                // y ← y + c2(lrelu(c1(lrelu(y)))) for each pair; the first pair reads x directly.
                var y: Tensor? = nil
                for (c1, c2) in pairs {
                    var t = Activation.leakyReLUCopy(y ?? x, slope: HiFiGAN.slope)
                    t = c1(t, threads: threads)
                    t.apply { Activation.leakyReLU($0, $1, slope: HiFiGAN.slope) }
                    t = c2(t, threads: threads)
                    t.add(y ?? x)
                    y = t
                }
                if sum == nil { sum = y! } else { sum!.add(y!) }
            }
            x = sum!
            x.scale(1 / Float(resblocks[i].count))
        }
        // The final activation uses PyTorch's default slope 0.01.
        x.apply { Activation.leakyReLU($0, $1, slope: 0.01) }
        x = convPost(x, threads: threads)
        x.apply(Activation.tanh)
        return x.data
    }

    /// Multiply–accumulates per output sample, for GFLOP/s reports.
    public func macsPerSecondOfAudio(frames: Int) -> Double {
        var macs = 0.0
        var t = Double(frames)
        macs += t * Double(convPre.outChannels * convPre.inChannels * convPre.kernel)
        for (i, up) in ups.enumerated() {
            macs += t * Double(up.inChannels * up.outChannels * up.kernel)
            t *= Double(up.stride)
            for pairs in resblocks[i] {
                for (c1, c2) in pairs {
                    macs += t * Double(c1.outChannels * c1.inChannels * c1.kernel + c2.outChannels * c2.inChannels * c2.kernel)
                }
            }
        }
        macs += t * Double(convPost.inChannels * convPost.kernel)
        return macs / (t / Double(config.sampling_rate))
    }
}

extension HiFiGAN {
    /// Frames of context given to each side of a chunk. The generator's receptive field
    /// is about ±14 frames (conv_pre ±3, first stage ±8.5, later stages ±2); 16 makes
    /// chunked output equal the whole-input output (tested).
    public static let chunkContext = 16

    /// Vocodes any length in chunks of at most `chunkFrames`, so memory stays bounded
    /// (a whole 10-minute mel at once would need gigabytes in the last stage). With
    /// several threads the chunks run in parallel, each single-threaded inside: every
    /// part of the network then scales, not only the GEMMs.
    public func synthesize(_ logMel: MelSpectrogram, chunkFrames: Int = 1024, threads: Int = ParallelConfig.threads,
                           progress: (@Sendable (Double) -> Void)? = nil) -> [Float] {
        let frames = logMel.frames, m = logMel.melCount
        precondition(m == config.num_mels)
        guard frames > 0 else { return [] }
        let perThread = (frames + threads - 1) / max(1, threads)
        let chunk = max(64, min(chunkFrames, perThread))
        let chunks = (frames + chunk - 1) / chunk
        let workers = max(1, min(threads, chunks))
        var out = [Float](repeating: 0, count: frames * hop)
        let previousBLAS = BLASThreads.current
        if workers > 1 { BLASThreads.set(1) }
        defer { if workers > 1 { BLASThreads.set(previousBLAS) } }
        let hop = self.hop
        let done = Counter()
        out.withUnsafeMutableBufferPointer { ob in
            let os = SharedPointer(ob.baseAddress!)
            logMel.values.withUnsafeBufferPointer { mb in
                let ms = SharedPointer(mb.baseAddress!)
                parallelFor(chunks, threads: workers) { c in
                    let start = c * chunk, end = min(frames, start + chunk)
                    let lo = max(0, start - HiFiGAN.chunkContext), hi = min(frames, end + HiFiGAN.chunkContext)
                    var input = Tensor(zeros: [m, hi - lo])
                    for b in 0..<m {
                        for f in lo..<hi { input.data[b * (hi - lo) + f - lo] = ms.base[b * frames + f] }
                    }
                    let audio = self(input, threads: workers > 1 ? 1 : threads)
                    let skip = (start - lo) * hop
                    audio.withUnsafeBufferPointer { ab in
                        (os.base + start * hop).update(from: ab.baseAddress! + skip, count: (end - start) * hop)
                    }
                    progress?(done.add(end - start, of: frames))
                }
            }
        }
        return out
    }
}

/// Thread-safe progress counter.
final class Counter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()
    func add(_ n: Int, of total: Int) -> Double {
        lock.lock(); defer { lock.unlock() }
        value += n
        return Double(value) / Double(max(total, 1))
    }
}
