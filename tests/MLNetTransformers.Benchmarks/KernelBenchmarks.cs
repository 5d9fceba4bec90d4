using BenchmarkDotNet.Attributes;
using MLNetTransformers.Core.Kernels;
using MLNetTransformers.Core.Layers;

namespace MLNetTransformers.Benchmarks;

/// <summary>GEMM in the three transposition variants the layers use.</summary>
[MemoryDiagnoser]
public class GemmBenchmarks
{
    private float[] _a = null!, _b = null!, _c = null!;

    [Params(256, 1024)] public int N;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        _a = Enumerable.Range(0, N * N).Select(_ => (float)rng.NextDouble()).ToArray();
        _b = Enumerable.Range(0, N * N).Select(_ => (float)rng.NextDouble()).ToArray();
        _c = new float[N * N];
    }

    [Benchmark] public void NN() => Gemm.MatMul(_a, _b, _c, N, N, N);
    [Benchmark] public void NT() => Gemm.MatMulTransB(_a, _b, _c, N, N, N);
    [Benchmark] public void TN() => Gemm.MatMulTransA(_a, _b, _c, N, N, N);
}

/// <summary>The non-GEMM kernels over reference-model activations ([4096, 256] rows, [4096, 1024] FFN).</summary>
[MemoryDiagnoser]
public class ElementwiseBenchmarks
{
    private const int Rows = 4096, Dim = 256, Hidden = 1024;
    private float[] _x = null!, _h = null!, _y = null!, _logits = null!;
    private int[] _targets = null!;
    private LayerNorm _ln = null!;
    private readonly CrossEntropy _ce = new();

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        _x = Enumerable.Range(0, Rows * Dim).Select(_ => (float)rng.NextDouble()).ToArray();
        _h = Enumerable.Range(0, Rows * Hidden).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
        _y = new float[Rows * Hidden];
        _logits = Enumerable.Range(0, 512 * 8000).Select(_ => (float)rng.NextDouble()).ToArray();
        _targets = Enumerable.Range(0, 512).Select(_ => rng.Next(8000)).ToArray();
        var ps = new ParameterSet();
        _ln = new LayerNorm(ps, "", Dim);
        ps.Allocate(1);
    }

    [Benchmark] public void LayerNormForward() => _ln.Forward(_x, Rows);
    [Benchmark] public void GeluForward() => Activations.Forward(Activation.Gelu, _h, _y);
    [Benchmark] public void GeluBackward() => Activations.Backward(Activation.Gelu, _h, _h, _y);
    [Benchmark] public void SoftmaxRows() => Softmax.Forward(_h, _y, Rows * 8, 128);
    [Benchmark] public float CrossEntropy512x8000() => _ce.Compute(_logits, _targets, 512, 8000);
}
