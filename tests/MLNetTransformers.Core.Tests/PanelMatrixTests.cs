using MLNetTransformers.Core.Kernels;
using Xunit;

namespace MLNetTransformers.Core.Tests;

public class PanelMatrixTests
{
    private static float[] Random(Random rng, int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(1, 300, 7)]      // one row: the 8-panel kernel, with a partial last panel and a partial group of panels
    [InlineData(3, 31, 64)]      // fewer outputs than a panel
    [InlineData(8, 32, 33)]
    [InlineData(9, 33, 5)]       // a second row group of one row, a second panel of one output
    [InlineData(16, 257, 130)]
    [InlineData(7, 1024, 256)]   // large enough to be split across cores
    [InlineData(131, 70, 40)]    // a beam's worth of rows: a block of 128 rows and one of 3
    [InlineData(300, 257, 300)]  // three row blocks, the last partial, split across cores
    public void MatchesNaiveProduct_WithAndWithoutBias(int m, int n, int k)
    {
        var rng = new Random(m * 1000 + n * 10 + k);
        var w = Random(rng, n * k);
        var x = Random(rng, m * k);
        var bias = Random(rng, n);
        var panels = new PanelMatrix(n, k);
        panels.Pack(w);
        foreach (bool withBias in new[] { false, true })
        {
            var y = Enumerable.Repeat(float.NaN, m * n + 3).ToArray(); // the 3 past the end must stay untouched
            panels.Multiply(x, m, y.AsSpan(0, m * n), withBias ? bias : default);
            for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = withBias ? bias[j] : 0, mag = Math.Abs(sum);
                for (int p = 0; p < k; p++) { sum += (double)x[i * k + p] * w[j * k + p]; mag += Math.Abs((double)x[i * k + p] * w[j * k + p]); }
                Assert.True(Math.Abs(y[i * n + j] - sum) <= 1e-5 * mag + 1e-6, $"m={m} n={n} k={k} bias={withBias}: y[{i},{j}] = {y[i * n + j]}, expected {sum}");
            }
            Assert.All(y[(m * n)..], v => Assert.True(float.IsNaN(v)));
        }
    }

    [Fact]
    public void ARowsResult_DoesNotDependOnTheOtherRows_TheVectorWidth_OrTheThread()
    {
        // What makes batched generation equal generation one prompt at a time: every output is one FMA chain in order.
        var rng = new Random(3);
        int n = 300, k = 96;
        var w = Random(rng, n * k);
        var bias = Random(rng, n);
        var x = Random(rng, 200 * k);
        var panels = new PanelMatrix(n, k);
        panels.Pack(w);
        var saved = Gemm.Width;
        try
        {
            float[]? reference = null;
            foreach (var width in new[] { SimdWidth.V512, SimdWidth.V256, SimdWidth.V128 })
            {
                Gemm.Width = width;
                foreach (int m in new[] { 200, 129, 16, 11, 8, 5, 2, 1 }) // row blocks of 128, groups of 8, one row
                {
                    var y = new float[m * n];
                    panels.Multiply(x.AsSpan(0, m * k), m, y, bias);
                    reference ??= y;
                    for (int i = 0; i < m * n; i++)
                        Assert.True(BitConverter.SingleToInt32Bits(reference[i]) == BitConverter.SingleToInt32Bits(y[i]), $"{width}, m={m}: output {i} is {y[i]}, {reference[i]} with 200 rows at the widest");
                }
            }
        }
        finally { Gemm.Width = saved; }
    }

    [Fact]
    public void Repacking_FollowsTheWeights_AndBadCallsAreNamed()
    {
        var rng = new Random(5);
        int n = 40, k = 20;
        var w = Random(rng, n * k);
        var x = Random(rng, k);
        var panels = new PanelMatrix(n, k);
        panels.Pack(w);
        var before = new float[n];
        panels.Multiply(x, 1, before);
        for (int i = 0; i < w.Length; i++) w[i] *= 2;
        panels.Pack(w);
        var after = new float[n];
        panels.Multiply(x, 1, after);
        for (int j = 0; j < n; j++) Assert.Equal(2 * before[j], after[j], 5);

        Assert.Contains("at least one row", Assert.Throws<ArgumentOutOfRangeException>(() => panels.Multiply(x, 0, after)).Message);
        Assert.Contains("needs 40 inputs", Assert.Throws<ArgumentException>(() => panels.Multiply(x, 2, new float[2 * n])).Message);
        Assert.Contains("Bias has 3", Assert.Throws<ArgumentException>(() => panels.Multiply(x, 1, after, new float[3])).Message);
        Assert.Contains("needs 800 values", Assert.Throws<ArgumentException>(() => panels.Pack(new float[10])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new PanelMatrix(0, 3));
    }
}
