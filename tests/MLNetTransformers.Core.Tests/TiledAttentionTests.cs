using MLNetTransformers.Core.Kernels;
using MLNetTransformers.Core.Layers;
using MLNetTransformers.Core.Models;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>The tiled inference attention (online softmax over key blocks) against the materialized one.</summary>
public class TiledAttentionTests
{
    [Theory]
    [InlineData(2, 3, 40, 40, 16, false, false, 0)]     // one key block
    [InlineData(1, 2, 600, 600, 64, false, true, 0)]    // three key blocks, padded keys
    [InlineData(1, 2, 520, 520, 32, true, false, 0)]    // causal over several key blocks
    [InlineData(2, 2, 70, 300, 16, false, true, 0)]     // cross-attention: Tq ≠ Tk
    [InlineData(1, 2, 300, 300, 24, true, true, 0)]     // head size not a multiple of 16: packed GEMM
    [InlineData(1, 2, 300, 300, 32, false, true, 2)]    // no 512-bit kernel: packed GEMM
    public void Tiled_EqualsMaterialized(int batch, int heads, int tq, int tk, int hd, bool causal, bool padded, int simdWidth) // the kernel enum is internal
    {
        var width = (SimdWidth)simdWidth;
        var rng = new Random(tq + tk + hd);
        int a = heads * hd;
        float[] R(int n) { var x = new float[n]; for (int i = 0; i < n; i++) x[i] = (float)(rng.NextDouble() * 4 - 2); return x; }
        float[] q = R(batch * tq * a), k = R(batch * tk * a), v = R(batch * tk * a);
        bool[]? pad = null;
        if (padded)
        {
            pad = new bool[batch * tk];
            for (int b = 0; b < batch; b++)
            for (int j = tk - 5 - 37 * b; j < tk; j++) pad[b * tk + j] = true;   // trailing padding, different per row
            pad[3] = true;                                                        // and a hole
        }
        var expected = new float[batch * tq * a];
        var actual = new float[batch * tq * a];
        float scale = 1f / MathF.Sqrt(hd);
        var saved = Gemm.Width;
        try
        {
            Gemm.Width = width;
            new ScaledDotProductAttention().Forward(new(q, 0, a), new(k, 0, a), new(v, 0, a), expected, batch, heads, tq, tk, hd, scale, causal, pad);
            var tiled = new ScaledDotProductAttention();
            tiled.Forward(new(q, 0, a), new(k, 0, a), new(v, 0, a), actual, batch, heads, tq, tk, hd, scale, causal, pad, tiled: true);
            Assert.Throws<InvalidOperationException>(() => tiled.Weights.Length);
        }
        finally { Gemm.Width = saved; }
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 2e-5f * (1 + Math.Abs(expected[i])), $"element {i}: tiled {actual[i]}, materialized {expected[i]}");
    }

    // MPNet's relative position bias: the tiled path adds it in one key block and across several, as the materialized one does.
    [Theory]
    [InlineData(2, 40, false)]
    [InlineData(1, 300, true)]
    public void Tiled_WithARelativePositionBias_EqualsMaterialized(int batch, int t, bool padded)
    {
        const int heads = 2, hd = 16, a = heads * hd;
        var rng = new Random(t);
        float[] R(int n) { var x = new float[n]; for (int i = 0; i < n; i++) x[i] = (float)(rng.NextDouble() * 4 - 2); return x; }
        float[] q = R(batch * t * a), k = R(batch * t * a), v = R(batch * t * a);
        var ps = new ParameterSet();
        var bias = new RelativePositionBias(ps, "", 32, heads);
        ps.Allocate(1);
        for (int i = 0; i < bias.Weight.Length; i++) bias.Weight.Value[i] = (float)(rng.NextDouble() * 6 - 3);
        var offsets = bias.Offsets(t);
        bool[]? pad = padded ? Enumerable.Range(0, batch * t).Select(j => j % t >= t - 20).ToArray() : null;
        float[] expected = new float[batch * t * a], actual = new float[batch * t * a], without = new float[batch * t * a];
        float scale = 1f / MathF.Sqrt(hd);
        new ScaledDotProductAttention().Forward(new(q, 0, a), new(k, 0, a), new(v, 0, a), expected, batch, heads, t, t, hd, scale, false, pad, scoreBias: offsets, biasBound: t);
        new ScaledDotProductAttention().Forward(new(q, 0, a), new(k, 0, a), new(v, 0, a), actual, batch, heads, t, t, hd, scale, false, pad, tiled: true, scoreBias: offsets, biasBound: t);
        new ScaledDotProductAttention().Forward(new(q, 0, a), new(k, 0, a), new(v, 0, a), without, batch, heads, t, t, hd, scale, false, pad);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 2e-5f * (1 + Math.Abs(expected[i])), $"element {i}: tiled {actual[i]}, materialized {expected[i]}");
        Assert.True(expected.Zip(without).Count(p => Math.Abs(p.First - p.Second) > 1e-3f) > expected.Length / 2); // the bias matters
    }

    [Fact]
    public void Tiled_RowWithEveryKeyMasked_IsZero()
    {
        int tq = 3, tk = 300, hd = 16;
        var rng = new Random(5);
        float[] R(int n) { var x = new float[n]; for (int i = 0; i < n; i++) x[i] = (float)rng.NextDouble(); return x; }
        float[] q = R(tq * hd), k = R(tk * hd), v = R(tk * hd), o = Enumerable.Repeat(9f, tq * hd).ToArray();
        new ScaledDotProductAttention().Forward(new(q, 0, hd), new(k, 0, hd), new(v, 0, hd), o, 1, 1, tq, tk, hd, 0.25f, false, Enumerable.Repeat(true, tk).ToArray(), tiled: true);
        Assert.All(o, x => Assert.Equal(0f, x));
    }
}

/// <summary>Inference over a large batch runs in chunks of sequences; the result does not depend on it.</summary>
public class ChunkedInferenceTests
{
    [Fact]
    public void LargeBatchInference_EqualsSmallerBatches_BitForBit()
    {
        var config = new TransformerConfig { VocabSize = 40, ModelDim = 16, Heads = 2, Layers = 2, FeedForwardDim = 32, MaxLength = 32, Dropout = 0f };
        var encoder = new TransformerEncoder(config, 4);
        int batch = 300, t = 32, d = 16;                    // 9,600 tokens: chunks of 128 sequences
        Assert.True(batch * t > TransformerEncoder.InferenceChunkTokens);
        var rng = new Random(3);
        var ids = Enumerable.Range(0, batch * t).Select(_ => rng.Next(40)).ToArray();
        var padding = Enumerable.Range(0, batch * t).Select(i => i % t >= t - (i / t) % 7).ToArray(); // 0-6 padded positions per row
        var whole = encoder.Forward(ids, batch, t, padding, training: false)[..(batch * t * d)];
        var copy = encoder.Copy();
        for (int b0 = 0; b0 < batch; b0 += 100)              // groups of 100 sequences: under one chunk, so not chunked
        {
            var part = copy.Forward(ids[(b0 * t)..((b0 + 100) * t)], 100, t, padding[(b0 * t)..((b0 + 100) * t)], training: false);
            Assert.Equal(part[..(100 * t * d)], whole[(b0 * t * d)..((b0 + 100) * t * d)]);
        }
    }
}
