using MLNetTransformers.Core.Kernels;
using MLNetTransformers.Core.Layers;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>
/// The training attention's forward and backward (padded and packed batches, causal, padding keys) against a direct
/// double-precision computation, at the widest GEMM micro-kernel and with the GEMM narrowed to 256 bits in every piece.
/// </summary>
public class ScaledDotProductAttentionTests
{
    [Theory]
    [InlineData(3, 2, 26, 32, false, true, false, 0)]   // padded batch, MiniLM's head size
    [InlineData(3, 2, 26, 32, false, true, true, 0)]    // the same batch packed
    [InlineData(2, 3, 19, 16, true, false, false, 0)]   // causal
    [InlineData(2, 2, 40, 16, false, true, true, 0)]    // longer than a 32-key vector, packed
    [InlineData(2, 2, 21, 24, false, true, false, 0)]   // head size not a multiple of 16
    [InlineData(3, 2, 26, 32, false, true, true, 2)]    // the 256-bit micro-kernel
    public void ForwardAndBackward_EqualDirectComputation(int batch, int heads, int t, int hd, bool causal, bool padded, bool packed, int simdWidth) // the width enum is internal
    {
        int a = heads * hd, n = batch * t * a, seed = batch * 100 + t + hd;
        float[] q = GradCheck.Random(n, seed), k = GradCheck.Random(n, seed + 1), v = GradCheck.Random(n, seed + 2), dOut = GradCheck.Random(n, seed + 3);
        int[] lengths = Enumerable.Range(0, batch).Select(b => padded ? t - 7 * b : t).ToArray();
        var pad = new bool[batch * t];
        for (int b = 0; b < batch; b++) for (int j = lengths[b]; j < t; j++) pad[b * t + j] = true;
        float scale = 1f / MathF.Sqrt(hd);

        // Packed rows: sequence b's real tokens, one after another.
        PackedSequences? packing = null;
        float[] Rows(float[] x)
        {
            if (packing is null) return x;
            var y = new float[packing.Rows * a];
            packing.Gather(x, y, a);
            return y;
        }
        if (packed)
        {
            packing = new PackedSequences();
            Assert.True(packing.TryPack(pad, batch, t));
        }
        float[] pq = Rows(q), pk = Rows(k), pv = Rows(v), pdOut = Rows(dOut);
        var output = new float[pq.Length];
        float[] dq = new float[pq.Length], dk = new float[pq.Length], dv = new float[pq.Length];
        var saved = Gemm.Width;
        try
        {
            Gemm.Width = (SimdWidth)simdWidth;
            var attention = new ScaledDotProductAttention();
            attention.Forward(new(pq, 0, a), new(pk, 0, a), new(pv, 0, a), output, batch, heads, t, t, hd, scale, causal,
                packed ? null : pad, packed: packing, training: true);
            attention.Backward(pdOut, new(dq, 0, a), new(dk, 0, a), new(dv, 0, a));
        }
        finally { Gemm.Width = saved; }

        // The direct computation, sequence by sequence and head by head, on the padded layout; row r of sequence b is row
        // Starts[b] + r of the packed buffers.
        int Row(int b, int r) => packing is null ? b * t + r : packing.Starts[b] + r;
        for (int b = 0; b < batch; b++)
        for (int h = 0; h < heads; h++)
        {
            int len = packed ? lengths[b] : t;
            int c0 = h * hd;
            double Q(int i, int d) => q[(b * t + i) * a + c0 + d];
            double K(int j, int d) => k[(b * t + j) * a + c0 + d];
            double V(int j, int d) => v[(b * t + j) * a + c0 + d];
            double DO(int i, int d) => dOut[(b * t + i) * a + c0 + d];
            var p = new double[len, len];
            for (int i = 0; i < len; i++)
            {
                double max = double.NegativeInfinity;
                var s = new double[len];
                for (int j = 0; j < len; j++)
                {
                    bool seen = !pad[b * t + j] && (!causal || j <= i);
                    s[j] = double.NegativeInfinity;
                    if (!seen) continue;
                    double dot = 0;
                    for (int d = 0; d < hd; d++) dot += Q(i, d) * K(j, d);
                    s[j] = dot * scale;
                    max = Math.Max(max, s[j]);
                }
                double sum = 0;
                for (int j = 0; j < len; j++) sum += p[i, j] = double.IsNegativeInfinity(s[j]) ? 0 : Math.Exp(s[j] - max);
                for (int j = 0; j < len; j++) p[i, j] = sum > 0 ? p[i, j] / sum : 0;
            }
            var dS = new double[len, len];
            for (int i = 0; i < len; i++)
            {
                var dP = new double[len];
                double dot = 0;
                for (int j = 0; j < len; j++)
                {
                    for (int d = 0; d < hd; d++) dP[j] += DO(i, d) * V(j, d);
                    dot += dP[j] * p[i, j];
                }
                for (int j = 0; j < len; j++) dS[i, j] = p[i, j] * (dP[j] - dot) * scale;
            }
            for (int i = 0; i < len; i++)
            for (int d = 0; d < hd; d++)
            {
                double o = 0, gq = 0, gk = 0, gv = 0;
                for (int j = 0; j < len; j++)
                {
                    o += p[i, j] * V(j, d);
                    gq += dS[i, j] * K(j, d);
                    gk += dS[j, i] * Q(j, d);
                    gv += p[j, i] * DO(j, d);
                }
                int at = Row(b, i) * a + c0 + d;
                Near(o, output[at], "output", b, h, i, d);
                Near(gq, dq[at], "dQ", b, h, i, d);
                Near(gk, dk[at], "dK", b, h, i, d);
                Near(gv, dv[at], "dV", b, h, i, d);
            }
        }
    }

    private static void Near(double expected, float actual, string what, int b, int h, int i, int d) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-5 * (1 + Math.Abs(expected)),
            $"{what}[sequence {b}, head {h}, row {i}, column {d}]: {actual}, expected {expected}");
}
