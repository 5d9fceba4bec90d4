using MLNetTransformers.Core.Kernels;
using MLNetTransformers.Core.Layers;
using MLNetTransformers.Core.Models;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>
/// The blocks ModernBERT is made of: rotary positions, sliding-window attention, the gated feed-forward block, layers
/// and norms without biases, a first block without its attention norm and a pooler with a norm; each against finite
/// differences, and padded = packed = tiled.
/// </summary>
public class ModernBertBlockTests
{
    // RoPE's point: a query at p and a key at p + δ score the same for every p. And the rotation is one: lengths kept,
    // the inverse undoes it. Components i and i + hd/2 turn by p·θ_i, θ_i = base^(−2i/hd), written out here as complex numbers.
    [Fact]
    public void RotaryPositions_RotatePairsByPositionTimesFrequency_AndScoresDependOnDistanceOnly()
    {
        const int hd = 8, heads = 2, width = hd * heads, t = 40;
        var rope = new RotaryPositions(hd, 10_000f);
        var rng = new Random(1);
        var q = Enumerable.Range(0, width).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        var k = Enumerable.Range(0, width).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        var qkv = new float[t * 3 * width];
        for (int p = 0; p < t; p++) { q.CopyTo(qkv, p * 3 * width); k.CopyTo(qkv, p * 3 * width + width); }
        var original = (float[])qkv.Clone();
        rope.Rotate(qkv, 3 * width, width, 1, t, null, inverse: false);
        for (int p = 0; p < t; p++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < hd / 2; i++)
                {
                    double angle = p * Math.Pow(10_000, -2.0 * i / hd);
                    var z = new System.Numerics.Complex(q[h * hd + i], q[h * hd + hd / 2 + i]) * System.Numerics.Complex.FromPolarCoordinates(1, angle);
                    Assert.True(Math.Abs(z.Real - qkv[p * 3 * width + h * hd + i]) < 1e-5, $"position {p}, head {h}, pair {i}: real part");
                    Assert.True(Math.Abs(z.Imaginary - qkv[p * 3 * width + h * hd + hd / 2 + i]) < 1e-5, $"position {p}, head {h}, pair {i}: imaginary part");
                }
        float Score(int qp, int kp, int h) => Enumerable.Range(0, hd).Sum(i => qkv[qp * 3 * width + h * hd + i] * qkv[kp * 3 * width + width + h * hd + i]);
        for (int h = 0; h < heads; h++)
            foreach (int delta in new[] { -5, 0, 3, 17 })
            {
                float first = Score(10, 10 + delta, h);
                for (int p = 5; p + delta < t && p + delta >= 0 && p < t; p += 6) Assert.Equal(first, Score(p, p + delta, h), 4);
            }
        Assert.NotEqual(Score(10, 13, 0), Score(10, 20, 0)); // and the distance does change it
        for (int p = 0; p < t; p++) Assert.Equal(original.Skip(p * 3 * width + 2 * width).Take(width), qkv.Skip(p * 3 * width + 2 * width).Take(width)); // values untouched
        rope.Rotate(qkv, 3 * width, width, 1, t, null, inverse: true);
        for (int i = 0; i < qkv.Length; i++) Assert.True(Math.Abs(original[i] - qkv[i]) < 1e-5, $"value {i} after the inverse rotation");
    }

    // GeGLU (ModernBERT's) and SwiGLU (NomicBERT's): act of the first half times the second; GTE's: act of the second
    // half times the first, its first layer without a bias beside a biased second (as JinaBERT's).
    [Theory]
    [InlineData(true, Activation.Gelu)]
    [InlineData(false, Activation.Gelu)]
    [InlineData(false, Activation.Silu)]
    [InlineData(true, Activation.Gelu, false)]
    public void GatedFeedForward(bool bias, Activation activation, bool activatedFirst = true)
    {
        var ps = new ParameterSet();
        var ff = new FeedForward(ps, "", 6, 5, activation, 0f, 1, gated: true, bias: bias, expansionBias: bias && activatedFirst, activatedHalfFirst: activatedFirst);
        ps.Allocate(5);
        Assert.Equal([10, 6], ff.Linear1.Weight.Shape);
        Assert.Equal(bias && activatedFirst, ps.Contains("linear1.bias"));
        Assert.Equal(bias, ps.Contains("linear2.bias"));
        GradCheck.Scramble(ps, 6);
        var x = GradCheck.Random(3 * 6, 1);
        var r = GradCheck.Random(3 * 6, 2);
        var y = (float[])ff.Forward(x, 3, false).Clone();
        // y = W2 (act(u) ⊙ g) (+ b2), [u, g] = W1 x (+ b1), written out for one row.
        float Act(float v) => activation == Activation.Silu ? v / (1f + MathF.Exp(-v)) : 0.5f * v * (1f + (float)Erf(v / Math.Sqrt(2)));
        var h = new float[10];
        for (int o = 0; o < 10; o++) h[o] = Enumerable.Range(0, 6).Sum(i => ff.Linear1.Weight.Value[o * 6 + i] * x[i]) + (ff.Linear1.Bias is { } b1 ? b1.Value[o] : 0f);
        var a = Enumerable.Range(0, 5).Select(j => activatedFirst ? Act(h[j]) * h[5 + j] : Act(h[5 + j]) * h[j]).ToArray();
        for (int o = 0; o < 6; o++)
            Assert.Equal(Enumerable.Range(0, 5).Sum(j => ff.Linear2.Weight.Value[o * 5 + j] * a[j]) + (bias ? ff.Linear2.Bias!.Value[o] : 0f), y[o], 4);
        ff.Forward(x, 3, false);
        var dx = (float[])ff.Backward(r, 3).Clone();
        double L() => GradCheck.Dot(ff.Forward(x, 3, false), r, 18);
        GradCheck.Check("x", x, 0, x.Length, dx, L, eps: 1e-2f);
        GradCheck.CheckParameters(ps, L);
        // inference takes the same path
        Assert.Equal(y, ff.Forward(x, 3, training: false, inference: true).Take(18).ToArray());
    }

    [Fact]
    public void LayerNormWithoutBias_AndPoolerWithANorm()
    {
        var ps = new ParameterSet();
        var norm = new LayerNorm(ps, "n.", 9, bias: false);
        var pooler = new Pooler(ps, "p.", 9, PoolerActivation.Gelu, bias: false, normEps: 1e-5f, normBias: false);
        ps.Allocate(3);
        Assert.False(ps.Contains("n.bias") || ps.Contains("p.dense.bias") || ps.Contains("p.norm.bias"));
        Assert.True(ps.Contains("p.norm.weight"));
        GradCheck.Scramble(ps, 4);
        var x = GradCheck.Random(4 * 9, 1, 2f);
        var r = GradCheck.Random(4 * 9, 2);
        float[] Forward() => pooler.Forward(norm.Forward(x, 4), 4);
        var y = Forward();
        for (int row = 0; row < 4; row++) Assert.Equal(0.0, y.Skip(row * 9).Take(9).Average(v => v / 1.0), 0.5); // normed rows, scaled by γ
        ps.ZeroGrad();
        var dx = (float[])norm.Backward(pooler.Backward(r), 4).Clone();
        double L() => GradCheck.Dot(Forward(), r, 36);
        GradCheck.Check("x", x, 0, x.Length, dx, L, eps: 1e-3f);
        GradCheck.CheckParameters(ps, L);
    }

    // Two layers, the first global with one rotary base, the second local (window 2) with another; padded and packed.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SelfAttention_WithRotaryPositionsAndASlidingWindow(bool packed)
    {
        const int t = 9, d = 8;
        var ps = new ParameterSet();
        var first = new MultiHeadAttention(ps, "a.", d, 2, bias: false) { Rotary = new RotaryPositions(4, 160_000f) };
        var second = new MultiHeadAttention(ps, "b.", d, 2, bias: false) { Rotary = new RotaryPositions(4, 10_000f), Window = 2 };
        ps.Allocate(1);
        GradCheck.Scramble(ps, 2, 0.5f);
        // the second sequence has 6 tokens; the window: query 5 of the first sequence weighs keys 3..7 only
        GradCheck.CheckTwoSelfAttentionLayers(ps, first, second, t, d, 6, packed, afterForward: () =>
        {
            if (packed) return;
            var w = second.Weights.ToArray();
            for (int j = 0; j < t; j++) Assert.Equal(Math.Abs(j - 5) <= 2, w[5 * t + j] > 0f);
        });
    }

    internal static ClassifierConfig Config(int maxLength = 9, int window = 2) => new()
    {
        VocabSize = 13, ModelDim = 8, Heads = 2, Layers = 3, FeedForwardDim = 6, MaxLength = maxLength, Dropout = 0f, NumClasses = 3,
        Norm = NormPlacement.PreNorm, EmbeddingNorm = true, PositionalEncoding = PositionalEncodingKind.None, Biases = false, NormBiases = false, GatedFeedForward = true,
        RotaryTheta = 160_000f, LocalRotaryTheta = 10_000f, SlidingWindow = window, GlobalAttentionEvery = 3, FirstBlockAttentionNorm = false,
        Pooling = Pooling.Mean, Pooler = true, PoolerActivation = PoolerActivation.Gelu, PoolerNorm = true, PoolerBias = false,
    };

    // ModernBERT's whole shape in a classifier: every parameter against finite differences, then packed = padded = tiled.
    [Fact]
    public void Classifier_OfModernBertsShape_EndToEnd()
    {
        var model = new TransformerClassifier(Config(), 3);
        var names = model.Parameters.Tensors.Select(t => t.Name).ToHashSet();
        Assert.DoesNotContain("layers.0.norm1.weight", names);
        Assert.Contains("layers.1.norm1.weight", names);
        Assert.DoesNotContain(names, n => n.EndsWith(".bias", StringComparison.Ordinal) && !n.StartsWith("head.", StringComparison.Ordinal));
        Assert.Equal(2, model.Encoder.Blocks[1].SelfAttention.Window);
        Assert.Equal(0, model.Encoder.Blocks[0].SelfAttention.Window);
        Assert.Equal(10_000f, model.Encoder.Blocks[1].SelfAttention.Rotary!.Theta);
        Assert.Equal(160_000f, model.Encoder.Blocks[0].SelfAttention.Rotary!.Theta);
        EncoderRunsAgree.GradientsOnTwoPaddedSentences_ThenPackedPaddedAndTiled(model);
    }

    // Sequences of 300 and 280: the tiled inference takes keys in blocks of 256, so a window of 64 crosses block edges and
    // whole blocks fall outside it; the materialized attention's hidden states, packed and padded.
    [Fact]
    public void SlidingWindow_OnLongSequences_TiledEqualsMaterialized()
    {
        var encoder = new TransformerEncoder(Config(maxLength: 300, window: 64).Shape(), 5);
        GradCheck.Scramble(encoder.Parameters, 6, 0.3f);
        EncoderRunsAgree.TiledAndMaterializedOnLongSequences(encoder);
    }

    [Fact]
    public void Decoders_RefuseTheseBlocks_AndBadSettingsAreRefusedByName()
    {
        var e = Assert.Throws<NotSupportedException>(() => new TransformerLanguageModel(Config().Shape() with { }, 1));
        Assert.Contains("RotaryTheta", e.Message);
        Assert.Throws<ArgumentException>(() => (Config() with { LocalRotaryTheta = 0.5f }).Validate());
        Assert.Throws<ArgumentException>(() => (Config() with { Heads = 8, ModelDim = 8 }).Validate()); // head size 1 cannot rotate
        Assert.Throws<ArgumentException>(() => (Config() with { Norm = NormPlacement.PostNorm }).Validate());
        Assert.Throws<ArgumentException>(() => (Config() with { LayerGroups = 1 }).Validate()); // ALBERT's shared blocks would need the first one's norm
    }

    private static double Erf(double x)
    {
        // Abramowitz-Stegun 7.1.26 is too coarse here: integrate instead (Simpson, 2000 steps).
        int n = 2000;
        double h = x / n, s = 0;
        for (int i = 0; i <= n; i++) s += (i == 0 || i == n ? 1 : i % 2 == 1 ? 4 : 2) * Math.Exp(-(i * h) * (i * h));
        return 2 / Math.Sqrt(Math.PI) * s * h / 3;
    }
}
