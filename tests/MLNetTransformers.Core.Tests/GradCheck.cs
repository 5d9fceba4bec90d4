using MLNetTransformers.Core.Layers;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>Central finite differences against analytic gradients.</summary>
internal static class GradCheck
{
    public static double Dot(float[] y, float[] r, int length)
    {
        double s = 0;
        for (int i = 0; i < length; i++) s += (double)y[i] * r[i];
        return s;
    }

    /// <summary>
    /// Perturbs <paramref name="samples"/> entries of values[offset..offset+length] by ±eps and compares
    /// (L(+) − L(−))/2eps with <paramref name="analytic"/>.
    /// </summary>
    public static void Check(string what, float[] values, int offset, int length, float[] analytic, Func<double> loss,
        int samples = 10, float eps = 1e-2f, int seed = 1, bool kinks = false)
    {
        var rng = new Random(seed);
        double scale = 0;
        for (int i = 0; i < length; i++) scale = Math.Max(scale, Math.Abs(analytic[i]));
        var picks = length <= samples ? Enumerable.Range(0, length) : Enumerable.Range(0, samples).Select(_ => rng.Next(length));
        foreach (int i in picks)
        {
            float saved = values[offset + i];
            values[offset + i] = saved + eps;
            double up = loss();
            values[offset + i] = saved - eps;
            double down = loss();
            values[offset + i] = saved;
            double fd = (up - down) / (2 * eps);
            double an = analytic[i];
            bool Near(double f) => Math.Abs(f - an) <= 2e-2 * Math.Max(Math.Abs(f), Math.Abs(an)) + 2e-3 * scale + 1e-5;
            if (!Near(fd) && kinks)
            {
                // A piecewise-linear function (ReLU) with a kink inside [x−eps, x+eps]: the analytic gradient is
                // the slope of one side, so compare with the one-sided differences instead.
                double mid = loss();
                fd = Near((up - mid) / eps) ? (up - mid) / eps : (mid - down) / eps;
            }
            Assert.True(Near(fd),
                $"{what}[{i}]: finite difference {fd:G6}, analytic {an:G6} (gradient scale {scale:G3})");
        }
    }

    /// <summary>
    /// One training step's gradients of <paramref name="model"/> on <paramref name="batch"/>, every parameter against finite
    /// differences of its loss. With <paramref name="zero"/>, the tensor of that name must have a gradient of zero (one the
    /// loss cannot see, such as a bias that moves every position's logits alike under a softmax over positions): its
    /// analytic gradient below 1e-6 and its finite differences below 1e-4, float noise.
    /// </summary>
    public static void CheckModel(Models.ITrainableModel model, Models.TokenBatch batch, int samples = 4, string? zero = null)
    {
        model.Parameters.ZeroGrad();
        model.ForwardBackward(batch);
        CheckParameters(model.Parameters, () => model.Loss(batch), samples, zero: zero);
    }

    /// <summary>Checks every parameter tensor of <paramref name="ps"/> (grads must hold the analytic gradient); the tensor named <paramref name="zero"/> as in <see cref="CheckModel"/>.</summary>
    public static void CheckParameters(ParameterSet ps, Func<double> loss, int samples = 6, bool kinks = false, string? zero = null)
    {
        var grads = (float[])ps.Grad.Clone();
        foreach (var t in ps.Tensors)
        {
            if (t.Name != zero)
            {
                Check(t.Name, ps.Data, t.Offset, t.Length, grads.AsSpan(t.Offset, t.Length).ToArray(), loss, samples, kinks: kinks);
                continue;
            }
            for (int i = 0; i < t.Length; i++)
            {
                Assert.True(Math.Abs(grads[t.Offset + i]) < 1e-6, $"{t.Name}[{i}]: analytic gradient {grads[t.Offset + i]:G6}, expected zero");
                float saved = ps.Data[t.Offset + i];
                ps.Data[t.Offset + i] = saved + 1e-2f;
                double up = loss();
                ps.Data[t.Offset + i] = saved - 1e-2f;
                double down = loss();
                ps.Data[t.Offset + i] = saved;
                Assert.True(Math.Abs((up - down) / 2e-2) < 1e-4, $"{t.Name}[{i}]: finite difference {(up - down) / 2e-2:G6}, expected zero");
            }
        }
    }

    public static float[] Random(int n, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return x;
    }

    /// <summary>Perturbs weights away from their initial values (biases 0, norms 1) so every path carries gradient.</summary>
    public static void Scramble(ParameterSet ps, int seed, float scale = 0.3f)
    {
        var r = Random(ps.Count, seed, scale);
        for (int i = 0; i < ps.Count; i++) ps.Data[i] += r[i];
    }

    /// <summary>
    /// Two self-attention layers in a row over two sequences of <paramref name="seqLen"/> tokens of width
    /// <paramref name="dim"/>, the second <paramref name="secondLength"/> long (padded or <paramref name="packed"/>): the
    /// gradients of the input and of every parameter of <paramref name="ps"/> against finite differences of Σ y·R.
    /// <paramref name="afterForward"/> looks at the layers after a forward (before the backward).
    /// </summary>
    public static void CheckTwoSelfAttentionLayers(ParameterSet ps, MultiHeadAttention first, MultiHeadAttention second, int seqLen, int dim, int secondLength,
        bool packed, Action? afterForward = null, Action? afterBackward = null)
    {
        int t = seqLen, d = dim;
        var x = Random(2 * t * d, 1);
        var r = Random(2 * t * d, 2);
        var pad = Enumerable.Range(0, 2 * t).Select(i => i >= t + secondLength).ToArray();
        var packing = new PackedSequences();
        Assert.True(packing.TryPack(pad, 2, t));
        int rows = packed ? packing.Rows : 2 * t;
        float[] Forward()
        {
            var h = packed ? first.Forward(x, packing, inference: false, training: true) : first.Forward(x, 2, t, pad, inference: false, training: true);
            h = (float[])h.Clone();
            return packed ? second.Forward(h, packing, inference: false, training: true) : second.Forward(h, 2, t, pad, inference: false, training: true);
        }
        Forward();
        afterForward?.Invoke();
        ps.ZeroGrad();
        var dx = (float[])first.Backward(second.Backward(r)).Clone();
        afterBackward?.Invoke();
        double L() => Dot(Forward(), r, rows * d);
        Check("x", x, 0, rows * d, dx, L, samples: 16);
        CheckParameters(ps, L, samples: 12);
    }
}
