/// A contiguous row-major Float32 tensor with a shape. Value semantics (copy on write
/// through Array); layers read and write through unsafe buffers in their hot loops.
public struct Tensor: Sendable, Equatable {
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count, "shape \(shape) does not hold \(data.count) elements")
        self.shape = shape
        self.data = data
    }

    public init(zeros shape: [Int]) {
        self.init(shape: shape, data: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    public var count: Int { data.count }
    public var rank: Int { shape.count }

    public static func random(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
        var rng = SplitMix64(seed: seed)
        return Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in scale * Float(rng.gaussian()) })
    }

    /// Uniform in [−scale·√3, scale·√3) (standard deviation `scale`): fast, for large random models.
    public static func uniformRandom(_ shape: [Int], seed: UInt64, scale: Float) -> Tensor {
        var rng = SplitMix64(seed: seed)
        let n = shape.reduce(1, *)
        let a = scale * Float(3).squareRoot()
        var data = [Float](repeating: 0, count: n)
        data.withUnsafeMutableBufferPointer { p in
            for i in 0..<n { p[i] = (Float(rng.next() >> 40) / Float(1 << 24) * 2 - 1) * a }
        }
        return Tensor(shape: shape, data: data)
    }

    /// Elementwise a + b (same shape).
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        precondition(a.shape == b.shape)
        var out = a
        out.data.withUnsafeMutableBufferPointer { o in
            b.data.withUnsafeBufferPointer { bb in
                for i in 0..<o.count { o[i] += bb[i] }
            }
        }
        return out
    }

    public mutating func add(_ b: Tensor) {
        precondition(shape == b.shape)
        data.withUnsafeMutableBufferPointer { o in
            b.data.withUnsafeBufferPointer { bb in for i in 0..<o.count { o[i] += bb[i] } }
        }
    }

    public mutating func scale(_ s: Float) {
        data.withUnsafeMutableBufferPointer { o in for i in 0..<o.count { o[i] *= s } }
    }

    /// In-place map through a vectorised buffer function.
    public mutating func apply(_ f: (UnsafeMutablePointer<Float>, Int) -> Void) {
        let n = data.count
        data.withUnsafeMutableBufferPointer { f($0.baseAddress!, n) }
    }
}
