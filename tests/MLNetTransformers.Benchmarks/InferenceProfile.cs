using System.Diagnostics;
using System.Numerics.Tensors;
using System.Text.Json.Nodes;
using MLNetTransformers.Core.Kernels;
using MLNetTransformers.Core.Layers;
using MLNetTransformers.Core.Models;

namespace MLNetTransformers.Benchmarks;

/// <summary>
/// `profile [--seq T] [--batch B]`: where one inference forward of the reference encoder spends its time. Each piece of
/// an encoder layer runs alone on the layer's own shapes (best of several trials), and the whole forward is timed
/// beside them, so the pieces' sum shows what the layer costs beyond its kernels.
/// </summary>
internal static class InferenceProfile
{
    public static JsonObject Measure(int batch, int seqLen)
    {
        var config = ReferenceModel.Config with { MaxLength = seqLen };
        int n = batch * seqLen, d = config.ModelDim, f = config.FeedForwardDim, h = config.Heads, hd = d / h;
        var rng = new Random(1);
        float[] R(int len) { var a = new float[len]; for (int i = 0; i < len; i++) a[i] = (float)(rng.NextDouble() - 0.5); return a; }
        float[] x = R(n * d), wqkv = R(3 * d * d), wo = R(d * d), w1 = R(f * d), w2 = R(d * f), bias = R(Math.Max(f, 3 * d));
        float[] qkv = new float[n * 3 * d], ctx = new float[n * d], y = new float[n * d], hidden = new float[n * f];
        var ps = new ParameterSet();
        var norm = new LayerNorm(ps, "n.", d);
        ps.Allocate(1);
        var attention = new ScaledDotProductAttention();
        float scale = 1f / MathF.Sqrt(hd);

        // The pieces of one layer's inference forward as it runs (InForward), and, for comparison, what training runs instead.
        var pieces = new (string Name, bool InForward, Action Run)[]
        {
            ("layernorm x2", true, () => { norm.Forward(x, n); norm.Forward(x, n); }),
            ("qkv gemm + bias", true, () => Gemm.MatMulTransB(x, wqkv, qkv, n, 3 * d, d, bias.AsSpan(0, 3 * d))),
            ("attention tiled (inference)", true, () => attention.Forward(new(qkv, 0, 3 * d), new(qkv, d, 3 * d), new(qkv, 2 * d, 3 * d), ctx, batch, h, seqLen, seqLen, hd, scale, false, null, tiled: true)),
            ("attention materialized (training)", false, () => attention.Forward(new(qkv, 0, 3 * d), new(qkv, d, 3 * d), new(qkv, 2 * d, 3 * d), ctx, batch, h, seqLen, seqLen, hd, scale, false, null)),
            ("out-proj gemm + bias", true, () => Gemm.MatMulTransB(ctx, wo, y, n, d, d, bias.AsSpan(0, d))),
            ("ffn1 gemm + bias", true, () => Gemm.MatMulTransB(x, w1, hidden, n, f, d, bias.AsSpan(0, f))),
            ("gelu", true, () => Activations.Forward(Activation.Gelu, hidden, hidden, n * f)),
            ("ffn2 gemm + bias", true, () => Gemm.MatMulTransB(hidden, w2, y, n, d, f, bias.AsSpan(0, d))),
            ("residual adds x2", true, () => { TensorPrimitives.Add(x, y, ctx); TensorPrimitives.Add(x, y, ctx); }),
        };
        var model = new TransformerClassifier(config, 1);
        var tokens = new int[n];
        for (int i = 0; i < n; i++) tokens[i] = rng.Next(config.VocabSize);
        var tb = new TokenBatch(batch, seqLen, tokens);
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed.TotalSeconds < 2) { model.Forward(tb); foreach (var p in pieces) p.Run(); }
        var o = new JsonObject { ["batch"] = batch, ["seq"] = seqLen };
        var ms = new JsonObject();
        double sum = 0;
        foreach (var (name, inForward, run) in pieces)
        {
            double t = Best(run) * config.Layers;
            if (inForward) sum += t;
            ms[name] = Math.Round(t, 2);
        }
        ms["sum of the forward pieces"] = Math.Round(sum, 2);
        double whole = Best(() => model.Forward(tb));
        ms["whole forward"] = Math.Round(whole, 2);
        o["ms_per_forward"] = ms;
        o["tokens_per_s"] = Math.Round(n / whole * 1000);
        return o;
    }

    private static double Best(Action run, int trials = 7)
    {
        double best = double.MaxValue;
        for (int i = 0; i < trials; i++)
        {
            var sw = Stopwatch.StartNew();
            run();
            best = Math.Min(best, sw.Elapsed.TotalMilliseconds);
        }
        return best;
    }
}
