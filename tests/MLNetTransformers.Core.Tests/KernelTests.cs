using MLNetTransformers.Core.Kernels;
using Xunit;

namespace MLNetTransformers.Core.Tests;

public class KernelTests
{
    [Fact]
    public void ColumnSum_AcrossCores_AddsEveryRowInOrder_BitForBit()
    {
        // 300 × 1,000 is past the one-core size, and 1,000 columns leave a last stripe of 40.
        int rows = 300, cols = 1000, offset = 5;
        var rng = new Random(3);
        var x = new float[rows * cols + 17];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1) * (i % 7 == 0 ? 1000f : 1f);
        var acc = new float[offset + cols + 3];
        for (int i = 0; i < acc.Length; i++) acc[i] = (float)rng.NextDouble();
        var expected = (float[])acc.Clone();
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) expected[offset + c] += x[r * cols + c];
        ColumnSum.Run(x, rows, cols, acc, offset);
        Assert.Equal(expected, acc); // exact: the same additions in the same order, outside [offset, offset + cols) untouched
    }

    [Fact]
    public void ParallelClear_ClearsExactlyTheLengthAsked()
    {
        var x = new float[(1 << 19) + 123];
        Array.Fill(x, 1f);
        int length = (1 << 18) + 77;
        ParallelClear.Run(x, length);
        Assert.All(x.AsSpan(0, length).ToArray(), v => Assert.Equal(0f, v));
        Assert.All(x.AsSpan(length).ToArray(), v => Assert.Equal(1f, v));
        ParallelClear.Run(x);
        Assert.DoesNotContain(1f, x);
    }

    [Fact]
    public void Softmax_IsStableForHugeLogits()
    {
        var x = new float[] { 1000f, 1001f, 999f, -1e30f };
        var y = new float[4];
        Softmax.Forward(x, y, 1, 4);
        double e0 = Math.Exp(-1), e2 = Math.Exp(-2), s = e0 + 1 + e2;
        Assert.Equal(e0 / s, y[0], 5);
        Assert.Equal(1 / s, y[1], 5);
        Assert.Equal(0f, y[3]);
        Assert.DoesNotContain(y, float.IsNaN);
    }

    [Fact]
    public void Softmax_AdditiveAndBooleanMasksBlockEntries()
    {
        var x = new float[] { 1, 2, 3, 4, 1, 2, 3, 4 };
        var yAdd = new float[8];
        Softmax.Forward(x, yAdd, 2, 4, additiveMask: new[] { 0f, float.NegativeInfinity, 0f, float.NegativeInfinity });
        var yBool = new float[8];
        Softmax.Forward(x, yBool, 2, 4, blocked: new[] { false, true, false, true });
        Assert.Equal(yAdd, yBool);
        Assert.Equal(0f, yAdd[1]); Assert.Equal(0f, yAdd[3]);
        Assert.Equal(1.0, yAdd[0] + yAdd[2], 6);
        // A fully masked row gives zeros, not NaN.
        var yAll = new float[4];
        Softmax.Forward(x.AsSpan(0, 4), yAll, 1, 4, blocked: new[] { true, true, true, true });
        Assert.All(yAll, v => Assert.Equal(0f, v));
        Assert.Throws<ArgumentException>(() => Softmax.Forward(x, yAdd, 2, 4, additiveMask: new float[3]));
    }

    [Fact]
    public void Softmax_BackwardMatchesFiniteDifferences()
    {
        var x = GradCheck.Random(3 * 5, 1, 3f);
        var r = GradCheck.Random(3 * 5, 2);
        var y = new float[15];
        Softmax.Forward(x, y, 3, 5);
        var dx = new float[15];
        Softmax.Backward(y, r, dx, 3, 5);
        GradCheck.Check("x", x, 0, 15, dx, () => { var t = new float[15]; Softmax.Forward(x, t, 3, 5); return GradCheck.Dot(t, r, 15); }, samples: 15, eps: 1e-3f);
    }

    [Fact]
    public void CrossEntropy_MatchesNaiveWithIgnoreAndSmoothing()
    {
        int rows = 5, classes = 7;
        var logits = GradCheck.Random(rows * classes, 3, 4f);
        int[] targets = { 3, -100, 0, 6, 2 };
        foreach (float eps in new[] { 0f, 0.1f })
        {
            double expected = 0; int counted = 0;
            for (int r = 0; r < rows; r++)
            {
                if (targets[r] == -100) continue;
                counted++;
                double max = logits.Skip(r * classes).Take(classes).Max();
                double lse = max + Math.Log(logits.Skip(r * classes).Take(classes).Sum(v => Math.Exp(v - max)));
                for (int c = 0; c < classes; c++)
                {
                    double q = (c == targets[r] ? 1 - eps : 0) + eps / classes;
                    expected -= q * (logits[r * classes + c] - lse);
                }
            }
            expected /= counted;
            var ce = new CrossEntropy();
            var grad = new float[rows * classes];
            float loss = ce.Compute(logits, targets, rows, classes, grad, labelSmoothing: eps);
            Assert.Equal(expected, loss, 4);
            for (int c = 0; c < classes; c++) Assert.Equal(0f, grad[classes + c]); // ignored row
            GradCheck.Check("logits", logits, 0, logits.Length, grad, () => ce.Compute(logits, targets, rows, classes, labelSmoothing: eps), samples: 35, eps: 1e-2f);
        }
    }

    [Fact]
    public void CrossEntropy_RejectsOutOfRangeTargets()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new CrossEntropy().Compute(new float[6], new[] { 1, 3 }, 2, 3));
        Assert.Contains("row 1", ex.Message);
        Assert.Equal(0f, new CrossEntropy().Compute(new float[6], new[] { -100, -100 }, 2, 3)); // all ignored: 0, not NaN
    }

    [Fact]
    public void Erf_IsAccurate()
    {
        // Reference values of erf (Abramowitz & Stegun table 7.1).
        (float x, double erf)[] table = { (0f, 0), (0.1f, 0.1124629160), (0.5f, 0.5204998778), (1f, 0.8427007929), (2f, 0.9953222650), (-1.5f, -0.9661051465), (4f, 0.9999999846) };
        foreach (var (x, e) in table) Assert.True(Math.Abs(Activations.Erf(x) - e) < 3e-7, $"erf({x}) = {Activations.Erf(x)}, expected {e}");
    }

    [Fact]
    public void WorkerPool_RunsEveryIndexOnceAndPropagatesErrors()
    {
        var hits = new int[100];
        WorkerPool.For(100, new Recorder(hits));
        Assert.All(hits, h => Assert.Equal(1, h));
        var ex = Assert.ThrowsAny<Exception>(() => WorkerPool.For(10, new Thrower()));
        Assert.Contains("piece 7", ex.ToString());
        WorkerPool.For(100, new Recorder(hits)); // still usable after a failure
        Assert.All(hits, h => Assert.Equal(2, h));
    }

    [Fact]
    public void WorkerPool_RunsEveryPieceAtTheCallersGemmWidth()
    {
        var saved = Gemm.Width;
        bool helped = false;
        try
        {
            Gemm.Width = SimdWidth.V128;
            // A call runs inline while another test holds the pool (and a loaded machine may not wake a helper in time),
            // so try for up to 30 s, pausing between calls, until the helpers took part in one.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            for (int attempt = 0; !helped && (attempt < 50 || clock.Elapsed < TimeSpan.FromSeconds(30)); attempt++)
            {
                if (attempt > 0) Thread.Sleep(20);
                var widths = new SimdWidth[32];
                var threads = new int[32];
                WorkerPool.For(32, new WidthRecorder(widths, threads)); // pieces slow enough for the helpers to take some
                Assert.All(widths, w => Assert.Equal(SimdWidth.V128, w));
                helped = threads.Distinct().Count() > 1;
            }
        }
        finally { Gemm.Width = saved; }
        if (WorkerPool.Degree > 1) Assert.True(helped, "in 30 s of calls no piece ran on a helper thread");
    }

    private sealed class WidthRecorder(SimdWidth[] widths, int[] threads) : IParallelWork
    {
        public void Run(int index)
        {
            Thread.Sleep(1);
            (widths[index], threads[index]) = (Gemm.Width, Environment.CurrentManagedThreadId);
        }
    }

    private sealed class Recorder(int[] hits) : IParallelWork
    {
        public void Run(int index) => Interlocked.Increment(ref hits[index]);
    }

    private sealed class Thrower : IParallelWork
    {
        public void Run(int index) { if (index == 7) throw new InvalidOperationException("piece 7 failed"); }
    }

    [Theory]
    [InlineData(8, 8)]
    [InlineData(37, 64)]   // whole 8×8 tiles and scalar edges
    [InlineData(5, 3)]
    public unsafe void BlockTranspose_TransposesStridedBlocks(int rows, int cols)
    {
        int srcStride = cols + 5, dstStride = rows + 3;
        var src = Enumerable.Range(0, rows * srcStride).Select(i => (float)i).ToArray();
        var dst = new float[cols * dstStride];
        fixed (float* s = src, d = dst) BlockTranspose.Run(s, srcStride, rows, cols, d, dstStride);
        for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) Assert.Equal(src[r * srcStride + c], dst[c * dstStride + r]);
    }
}
