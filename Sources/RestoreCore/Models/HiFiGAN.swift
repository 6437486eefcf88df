import CKernels
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
    /// oneDNN primitives per chunk length and precision, built on first use.
    let plans = HiFiGANPlanCache()

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
    public func callAsFunction(_ logMel: Tensor, threads: Int = ExecutionContext.current.threads) -> [Float] {
        precondition(logMel.rank == 2 && logMel.shape[0] == config.num_mels)
        if ComputeBackend.current == .onednn, logMel.shape[1] > 0,
           let out = synthesizeOneDNN(MelSpectrogram(melCount: logMel.shape[0], frames: logMel.shape[1], values: logMel.data),
                                      chunkFrames: logMel.shape[1], threads: threads, progress: nil) {
            return out
        }
        return synthesizeOpenBLAS(logMel, threads: threads)
    }

    /// The OpenBLAS/im2col generator on a whole (num_mels, frames) input.
    func synthesizeOpenBLAS(_ logMel: Tensor, threads: Int) -> [Float] {
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
    public func synthesize(_ logMel: MelSpectrogram, chunkFrames: Int = 1024, threads: Int = ExecutionContext.current.threads,
                           progress: (@Sendable (Double) -> Void)? = nil) -> [Float] {
        let frames = logMel.frames, m = logMel.melCount
        precondition(m == config.num_mels)
        guard frames > 0 else { return [] }
        if ComputeBackend.current == .onednn,
           let out = synthesizeOneDNN(logMel, chunkFrames: chunkFrames, threads: threads, progress: progress) {
            return out
        }
        let perThread = (frames + threads - 1) / max(1, threads)
        let chunk = max(64, min(chunkFrames, perThread))
        let chunks = (frames + chunk - 1) / chunk
        let workers = max(1, min(threads, chunks))
        var out = [Float](repeating: 0, count: frames * hop)
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
                    let audio = self.synthesizeOpenBLAS(input, threads: workers > 1 ? 1 : threads)
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

// MARK: - oneDNN path

/// Every chunk runs at a length from a small set (multiples of `HiFiGANPlan.granule` frames),
/// so primitives are created once per length and reused. A chunk shorter than its plan is
/// zero-padded at the end, and each layer's output is zeroed past the valid length, which
/// is exactly the zero padding the generator sees at the end of the input.
/// Activations are kept in oneDNN's channel blocks (nCw16c, nCw8c on AVX2) end to end:
/// its direct JIT convolutions are created in milliseconds at any length (the brgconv ones
/// for channels-last took ~0.3–0.9 s per layer at 10 s lengths) and run as fast.
final class HiFiGANPlanCache: @unchecked Sendable {
    private let lock = NSLock()
    private var plans: [String: HiFiGANPlan] = [:]
    private var order: [String] = []
    private var failed = false
    /// Each plan holds its own reordered copy of the weights (~56 MB fp32 for the universal
    /// V1 generator); the oldest goes beyond this many. Runs hold their plans alive.
    static let capacity = 4

    func plan(_ g: HiFiGAN, length: Int, bf16: Bool) -> HiFiGANPlan? {
        lock.lock(); defer { lock.unlock() }
        if failed { return nil }
        let key = "\(length)-\(bf16)"
        if let p = plans[key] { return p }
        do {
            let p = try HiFiGANPlan(g, length: length, bf16: bf16)
            if order.count >= HiFiGANPlanCache.capacity { plans[order.removeFirst()] = nil }
            plans[key] = p
            order.append(key)
            return p
        } catch {
            // Unsupported here (or oneDNN refused a shape): the OpenBLAS path runs instead.
            FileHandle.standardError.write(Data("restore: oneDNN vocoder unavailable (\(error)); using OpenBLAS\n".utf8))
            failed = true
            return nil
        }
    }
}

final class HiFiGANPlan: @unchecked Sendable {
    static let granule = 64
    let length: Int
    let bf16: Bool
    let block: Int
    let melCount: Int
    let pre: DNNLConv
    let ups: [DNNLConv]
    /// Transposed convolutions that run channels-last (see init).
    let upPlain: [Bool]
    /// blocks[stage][kernel] = [(c1 with leaky ReLU fused, c2 with the residual sum fused)]
    let blocks: [[[(DNNLConv, DNNLConv)]]]
    /// Whether each pair runs in bf16 (bf16 plans only).
    let pairBF16: [[[Bool]]]
    /// PyTorch's output length of each transposed convolution, for the valid region.
    let upLength: [(Int) -> Int]
    let postWeight: [Float]
    let postBias: Float
    let postKernel: Int, postPad: Int, postChannels: Int
    /// Largest activation (elements) and scratchpad (bytes) over the layers.
    let maxElements: Int
    let scratchBytes: Int
    var outLength: Int { ups.last!.outLength }

    /// Stages whose resblocks run in bf16 in a bf16 plan: all but the last by default
    /// (RESTORE_VOCODER_BF16_STAGES=0,1,… overrides). The last stage (32 channels, ~10% of
    /// the work) in bf16 costs 3.9% resynthesis log-mel L1; without it the L1 is within
    /// 0.1% of fp32 (bench/vocoder).
    static let bf16Stages: Set<Int>? = {
        guard let v = ProcessInfo.processInfo.environment["RESTORE_VOCODER_BF16_STAGES"] else { return nil }
        return Set(v.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) })
    }()

    init(_ g: HiFiGAN, length: Int, bf16: Bool) throws {
        guard g.resblocks.allSatisfy({ $0.count >= 2 }) else { throw OneDNNError(description: "fewer than two resblocks per stage") }
        self.length = length
        self.bf16 = bf16
        let block = CPUKernels.block
        self.block = block
        melCount = g.config.num_mels
        let c = g.convPre
        guard melCount % block == 0, c.outChannels % block == 0 else { throw OneDNNError(description: "channels not a multiple of \(block)") }
        pre = try DNNLConv(weight: c.weight, bias: c.bias, dilation: c.dilation, padLeft: c.padding, padRight: c.padding,
                           length: length, postLeakyReLU: HiFiGAN.slope, block: block)
        var maxEl = length * max(melCount, c.outChannels)
        var scratch = pre.scratchBytes
        var ups: [DNNLConv] = [], blocks: [[[(DNNLConv, DNNLConv)]]] = [], upLen: [(Int) -> Int] = [], upPlain: [Bool] = []
        var pairBF16: [[[Bool]]] = []
        var len = pre.outLength
        for (i, up) in g.ups.enumerated() {
            // Transposed convolutions stay fp32. oneDNN 2.6 has no JIT kernel for the blocked
            // layout at stride 8 (only its reference one, ~1000× slower): those run channels-last
            // through its GEMM kernel, with the activations transposed around them.
            var u = try DNNLConv(transposed: true, weight: up.weight, bias: up.bias, stride: up.stride, dilation: up.dilation,
                                 padLeft: up.padding, padRight: up.padding - up.outputPadding, length: len, block: block)
            if u.implementation.hasPrefix("ref") {
                u = try DNNLConv(transposed: true, weight: up.weight, bias: up.bias, stride: up.stride, dilation: up.dilation,
                                 padLeft: up.padding, padRight: up.padding - up.outputPadding, length: len, block: 0)
                upPlain.append(true)
            } else {
                upPlain.append(false)
            }
            guard !u.implementation.hasPrefix("ref") else { throw OneDNNError(description: "no JIT kernel for a transposed convolution") }
            guard u.cout % block == 0 else { throw OneDNNError(description: "channels not a multiple of \(block)") }
            ups.append(u)
            upLen.append { up.outputLength($0) }
            len = u.outLength
            maxEl = max(maxEl, len * u.cout)
            scratch = max(scratch, u.scratchBytes)
            var stage: [[(DNNLConv, DNNLConv)]] = []
            var stageBF16: [[Bool]] = []
            for pairs in g.resblocks[i] {
                var ps: [(DNNLConv, DNNLConv)] = []
                var pb: [Bool] = []
                for (c1, c2) in pairs {
                    // bf16 where oneDNN has a JIT kernel for the shape (not for k 11, dilation 5);
                    // such a pair runs in fp32.
                    func make(_ half: Bool) throws -> (DNNLConv, DNNLConv) {
                        let a = try DNNLConv(weight: c1.weight, bias: c1.bias, dilation: c1.dilation, padLeft: c1.padding, padRight: c1.padding,
                                             length: len, srcBF16: half, dstBF16: half, weiBF16: half, postLeakyReLU: HiFiGAN.slope, block: block)
                        let b = try DNNLConv(weight: c2.weight, bias: c2.bias, dilation: c2.dilation, padLeft: c2.padding, padRight: c2.padding,
                                             length: len, srcBF16: half, weiBF16: half, postSum: true, block: block)
                        return (a, b)
                    }
                    let stageHalf = bf16 && (HiFiGANPlan.bf16Stages?.contains(i) ?? (i < g.ups.count - 1))
                    var (a, b) = try make(stageHalf)
                    var half = stageHalf
                    if stageHalf && (a.implementation.hasPrefix("ref") || b.implementation.hasPrefix("ref")) {
                        (a, b) = try make(false)
                        half = false
                    }
                    guard !a.implementation.hasPrefix("ref"), !b.implementation.hasPrefix("ref") else {
                        throw OneDNNError(description: "no JIT kernel for a resblock convolution")
                    }
                    guard a.outLength == len, b.outLength == len else { throw OneDNNError(description: "resblock convolution changes the length") }
                    scratch = max(scratch, a.scratchBytes, b.scratchBytes)
                    ps.append((a, b))
                    pb.append(half)
                }
                stage.append(ps)
                stageBF16.append(pb)
            }
            pairBF16.append(stageBF16)
            blocks.append(stage)
        }
        self.ups = ups
        self.upPlain = upPlain
        self.blocks = blocks
        self.pairBF16 = pairBF16
        upLength = upLen
        maxElements = maxEl
        scratchBytes = scratch
        // conv_post (one output channel) runs in C: weights permuted to (channel block, k, block).
        let p = g.convPost
        guard p.outChannels == 1, p.dilation == 1, p.stride == 1 else { throw OneDNNError(description: "unsupported conv_post") }
        let (cin, k) = (p.inChannels, p.kernel)
        var w = [Float](repeating: 0, count: cin * k)
        for ci in 0..<cin { for j in 0..<k { w[((ci / block) * k + j) * block + ci % block] = p.weight.data[ci * k + j] } }
        postWeight = w
        postBias = p.bias?.data[0] ?? 0
        postKernel = k
        postPad = p.padding
        postChannels = cin
    }

    var implementations: [String] {
        [pre.implementation] + ups.map(\.implementation) + blocks.flatMap { $0.flatMap { $0.flatMap { [$0.0.implementation, $0.1.implementation] } } }
    }
}

/// One worker's buffers, sized for the largest plan it runs.
final class HiFiGANWorkspace {
    let bytes: Int
    let x, t0, t, u, a, y: UnsafeMutableRawPointer
    let scratch: UnsafeMutableRawPointer?
    let mel: UnsafeMutablePointer<Float>
    let melCapacity: Int

    init(maxElements: Int, scratchBytes: Int, melElements: Int) {
        bytes = maxElements * 4
        func alloc(_ n: Int) -> UnsafeMutableRawPointer { UnsafeMutableRawPointer.allocate(byteCount: max(n, 64), alignment: 64) }
        x = alloc(bytes); t0 = alloc(bytes); t = alloc(bytes); u = alloc(bytes); a = alloc(bytes); y = alloc(bytes)
        scratch = scratchBytes > 0 ? alloc(scratchBytes) : nil
        melCapacity = melElements
        mel = UnsafeMutablePointer<Float>.allocate(capacity: max(1, melElements))
    }

    deinit {
        for p in [x, t0, t, u, a, y] { p.deallocate() }
        scratch?.deallocate()
        mel.deallocate()
    }
}

extension HiFiGAN {
    /// The oneDNN generator in chunks (nil when oneDNN is unavailable). Chunks run in
    /// parallel, each single-threaded inside.
    func synthesizeOneDNN(_ logMel: MelSpectrogram, chunkFrames: Int, threads: Int,
                          progress: (@Sendable (Double) -> Void)?) -> [Float]? {
        // Without AVX-512, oneDNN 2.6 has no JIT kernel for the blocked dilated convolutions
        // (its reference one runs ~1000× slower, and the channels-last GEMM one is slower than
        // OpenBLAS): such CPUs keep the OpenBLAS generator, unchanged.
        guard rk_isa() >= 2 else { return nil }
        let frames = logMel.frames, m = logMel.melCount
        let threads = max(1, threads)
        let perThread = (frames + threads - 1) / threads
        let chunk = max(64, min(chunkFrames, perThread))
        let chunks = (frames + chunk - 1) / chunk
        let workers = max(1, min(threads, chunks))
        // One thread inside each chunk: no OpenMP team (see `sgemm`); chunks give the parallelism.
        let inner = 1
        let ctx = HiFiGAN.chunkContext
        let bf16 = VocoderPrecision.current == .bf16 && CPUKernels.hasBF16
        @Sendable func window(_ c: Int) -> (start: Int, end: Int, lo: Int, hi: Int) {
            let start = c * chunk, end = min(frames, start + chunk)
            return (start, end, max(0, start - ctx), min(frames, end + ctx))
        }
        @Sendable func planLength(_ n: Int) -> Int { (n + HiFiGANPlan.granule - 1) / HiFiGANPlan.granule * HiFiGANPlan.granule }
        // Plans first, on this thread (primitive creation JIT-compiles kernels).
        CPUKernels.setThreads(1)
        var plans: [Int: HiFiGANPlan] = [:]
        for c in 0..<chunks {
            let w = window(c), len = planLength(w.hi - w.lo)
            if plans[len] == nil {
                guard let p = self.plans.plan(self, length: len, bf16: bf16) else { return nil }
                plans[len] = p
            }
        }
        let planFor = plans
        let maxEl = plans.values.map(\.maxElements).max()!, maxScratch = plans.values.map(\.scratchBytes).max()!
        let maxMel = plans.keys.max()! * m
        let hop = self.hop
        var out = [Float](repeating: 0, count: frames * hop)
        let done = Counter()
        out.withUnsafeMutableBufferPointer { ob in
            let os = SharedPointer(ob.baseAddress!)
            logMel.values.withUnsafeBufferPointer { mb in
                let ms = SharedPointer(mb.baseAddress!)
                parallelWorkers(workers) { worker in
                    CPUKernels.setThreads(inner)
                    let ws = HiFiGANWorkspace(maxElements: maxEl, scratchBytes: maxScratch, melElements: maxMel)
                    var c = worker
                    while c < chunks {
                        let w = window(c), n = w.hi - w.lo
                        let plan = planFor[planLength(n)]!
                        // (mels, frames) → channel blocks [mels/B][frames][B], zero past n.
                        let bl = plan.block, rows = plan.length
                        for b in 0..<m {
                            let src = ms.base + b * frames + w.lo, dst = ws.mel + (b / bl) * rows * bl + b % bl
                            for f in 0..<n { dst[f * bl] = src[f] }
                            for f in n..<rows { dst[f * bl] = 0 }
                        }
                        let valid = self.runOneDNN(plan, ws, validFrames: n)
                        let skip = (w.start - w.lo) * hop
                        precondition(skip + (w.end - w.start) * hop <= valid)
                        (os.base + w.start * hop).update(from: ws.a.assumingMemoryBound(to: Float.self) + skip, count: (w.end - w.start) * hop)
                        progress?(done.add(w.end - w.start, of: frames))
                        c += workers
                    }
                }
            }
        }
        return out
    }

    /// One chunk: ws.mel (plan.length, mels) → audio in ws.a[0..<returned count].
    func runOneDNN(_ plan: HiFiGANPlan, _ ws: HiFiGANWorkspace, validFrames n: Int) -> Int {
        let bl = plan.block
        /// Zeroes time steps [valid, rows) of a [channels/B][rows][B] buffer of `size`-byte elements.
        func mask(_ p: UnsafeMutableRawPointer, valid: Int, rows: Int, channels: Int, size: Int) {
            guard valid < rows else { return }
            for cb in 0..<(channels / bl) {
                (p + ((cb * rows + valid) * bl) * size).initializeMemory(as: UInt8.self, repeating: 0, count: (rows - valid) * bl * size)
            }
        }
        func f(_ p: UnsafeMutableRawPointer) -> UnsafeMutablePointer<Float> { p.assumingMemoryBound(to: Float.self) }
        func h(_ p: UnsafeMutableRawPointer) -> UnsafeMutablePointer<UInt16> { p.assumingMemoryBound(to: UInt16.self) }
        // conv_pre with leaky ReLU → t (the first transposed convolution's input)
        var len = plan.length, valid = n
        let c0 = plan.pre.cout
        plan.pre.run(ws.mel, ws.t, scratch: ws.scratch)
        mask(ws.t, valid: valid, rows: len, channels: c0, size: 4)
        let stages = plan.ups.count
        for i in 0..<stages {
            let up = plan.ups[i]
            if plan.upPlain[i] {
                rk_blocked_to_nwc(f(ws.u), f(ws.t), Int32(len), Int32(up.cin), Int32(bl))
                up.run(ws.u, ws.y, scratch: ws.scratch)
                rk_nwc_to_blocked(f(ws.x), f(ws.y), Int32(up.outLength), Int32(up.cout), Int32(bl))
            } else {
                up.run(ws.t, ws.x, scratch: ws.scratch)
            }
            len = up.outLength
            valid = plan.upLength[i](valid)
            let ch = up.cout, count = len * ch
            mask(ws.x, valid: valid, rows: len, channels: ch, size: 4)
            // Every resblock's first pair reads lrelu(x): computed once.
            let t0Half = plan.pairBF16[i][0][0]
            if t0Half { rk_lrelu_bf16(h(ws.t0), f(ws.x), count, HiFiGAN.slope) } else { rk_lrelu(f(ws.t0), nil, f(ws.x), count, HiFiGAN.slope) }
            let blocks = plan.blocks[i]
            for (j, pairs) in blocks.enumerated() {
                let dst = j == 0 ? ws.a : ws.y
                dst.copyMemory(from: ws.x, byteCount: count * 4)
                for (k, (c1, c2)) in pairs.enumerated() {
                    let half = plan.pairBF16[i][j][k]
                    var src = ws.t0
                    if k > 0 || half != t0Half {
                        src = ws.t
                        if half { rk_lrelu_bf16(h(ws.t), f(dst), count, HiFiGAN.slope) } else { rk_lrelu(f(ws.t), nil, f(dst), count, HiFiGAN.slope) }
                    }
                    c1.run(src, ws.u, scratch: ws.scratch)
                    mask(ws.u, valid: valid, rows: len, channels: ch, size: half ? 2 : 4)
                    c2.run(ws.u, dst, scratch: ws.scratch)
                    mask(dst, valid: valid, rows: len, channels: ch, size: 4)
                }
                if j > 0 && j < blocks.count - 1 { rk_add(f(ws.a), f(ws.y), count) }
            }
            // Mean of the resblocks, then the next leaky ReLU (PyTorch's default 0.01 before conv_post).
            let scale = 1 / Float(blocks.count)
            if i < stages - 1 {
                rk_add_scale_lrelu(f(ws.t), f(ws.a), f(ws.y), count, scale, HiFiGAN.slope)
            } else {
                rk_add_scale_lrelu(f(ws.x), f(ws.a), f(ws.y), count, scale, 0.01)
            }
        }
        // conv_post (leaky ReLU already applied) and tanh, over the valid samples only.
        plan.postWeight.withUnsafeBufferPointer { w in
            rk_conv_out1(f(ws.a), f(ws.x), Int32(valid), Int32(len), Int32(plan.postChannels), Int32(bl), w.baseAddress,
                         Int32(plan.postKernel), Int32(plan.postPad), plan.postBias, 1)
        }
        Activation.tanh(f(ws.a), valid)
        return valid
    }
}
