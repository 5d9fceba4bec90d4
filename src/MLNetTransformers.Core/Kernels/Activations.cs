using System.Numerics;
using System.Runtime.Intrinsics;

namespace MLNetTransformers.Core.Kernels;

/// <summary>Forward and backward of the activations, vectorised.</summary>
internal static class Activations
{
    private const float InvSqrt2 = 0.70710678118654752f;
    private const float InvSqrt2Pi = 0.39894228040143268f;
    private const float Sqrt2OverPi = 0.79788456080286536f;
    private const float TanhCoef = 0.044715f;

    /// <summary>y = act(x).</summary>
    public static void Forward(Activation act, ReadOnlySpan<float> x, Span<float> y)
    {
        switch (act)
        {
            case Activation.Relu: TensorPrimitives.Max(x, 0f, y); break;
            case Activation.Gelu: GeluErf(x, y); break;
            case Activation.GeluTanh: GeluTanh(x, y); break;
            case Activation.Silu: Silu(x, y); break;
            default: throw new ArgumentOutOfRangeException(nameof(act), act, "Unknown activation.");
        }
    }

    /// <summary>dx = act'(x) ⊙ dy (from the pre-activation x). dx may alias dy.</summary>
    public static void Backward(Activation act, ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx)
    {
        switch (act)
        {
            case Activation.Relu: ReluBackward(x, dy, dx); break;
            case Activation.Gelu: GeluErfBackward(x, dy, dx); break;
            case Activation.GeluTanh: GeluTanhBackward(x, dy, dx); break;
            case Activation.Silu: SiluBackward(x, dy, dx); break;
            default: throw new ArgumentOutOfRangeException(nameof(act), act, "Unknown activation.");
        }
    }

    private const int SiluChunk = 256;

    // x·σ(x), in chunks through a stack buffer (y may alias x).
    private static void Silu(ReadOnlySpan<float> x, Span<float> y)
    {
        Span<float> s = stackalloc float[SiluChunk];
        for (int i = 0; i < x.Length; i += SiluChunk)
        {
            int n = Math.Min(SiluChunk, x.Length - i);
            TensorPrimitives.Sigmoid(x.Slice(i, n), s[..n]);
            TensorPrimitives.Multiply(x.Slice(i, n), s[..n], y.Slice(i, n));
        }
    }

    // d(x·σ(x))/dx = σ(x)·(1 + x·(1 − σ(x))); dx may alias dy.
    private static void SiluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx)
    {
        Span<float> s = stackalloc float[SiluChunk], t = stackalloc float[SiluChunk];
        for (int i = 0; i < x.Length; i += SiluChunk)
        {
            int n = Math.Min(SiluChunk, x.Length - i);
            ReadOnlySpan<float> xs = x.Slice(i, n);
            Span<float> sn = s[..n], tn = t[..n];
            TensorPrimitives.Sigmoid(xs, sn);
            TensorPrimitives.Subtract(1f, sn, tn);
            TensorPrimitives.MultiplyAdd(xs, tn, 1f, tn);
            TensorPrimitives.Multiply(tn, sn, tn);
            TensorPrimitives.Multiply(dy.Slice(i, n), tn, dx.Slice(i, n));
        }
    }

    /// <summary>y = act(x) over x[0..length), split across cores for large buffers (the FFN's [tokens, 4d] activations).</summary>
    public static void Forward(Activation act, float[] x, float[] y, int length) => ActivationJob.Run(act, x, null, y, length);

    /// <summary>dx = act'(x) ⊙ dy over [0..length), split across cores; dx may alias dy.</summary>
    public static void Backward(Activation act, float[] x, float[] dy, float[] dx, int length) => ActivationJob.Run(act, x, dy, dx, length);

    /// <summary>
    /// erf(x) for float vectors, from the complementary error function of Numerical Recipes (erfcc, a Chebyshev
    /// fit with fractional error below 1.2e-7 everywhere): accurate to float precision, and vectorisable.
    /// </summary>
    // erf as a rational function of x on [-4, 4] (erf(±4) = ±1 in float), odd numerator over even denominator: no
    // exponential, so GELU costs a dozen FMAs and a division per element. Coefficients from Eigen's fast float erf;
    // the largest error against the exact erf over [-6, 6] is 3.3e-7.
    public static Vector<float> Erf(Vector<float> x)
    {
        x = Vector.Min(Vector.Max(x, new Vector<float>(-4f)), new Vector<float>(4f));
        var x2 = x * x;
        var p = Vector.FusedMultiplyAdd(x2, new Vector<float>(-2.72614225801306e-10f), new Vector<float>(2.77068142495902e-08f));
        p = Vector.FusedMultiplyAdd(x2, p, new Vector<float>(-2.10102402082508e-06f));
        p = Vector.FusedMultiplyAdd(x2, p, new Vector<float>(-5.69250639462346e-05f));
        p = Vector.FusedMultiplyAdd(x2, p, new Vector<float>(-7.34990630326855e-04f));
        p = Vector.FusedMultiplyAdd(x2, p, new Vector<float>(-2.95459980854025e-03f));
        p = Vector.FusedMultiplyAdd(x2, p, new Vector<float>(-1.60960333262415e-02f));
        var q = Vector.FusedMultiplyAdd(x2, new Vector<float>(-1.45660718464996e-05f), new Vector<float>(-2.13374055278905e-04f));
        q = Vector.FusedMultiplyAdd(x2, q, new Vector<float>(-1.68282697438203e-03f));
        q = Vector.FusedMultiplyAdd(x2, q, new Vector<float>(-7.37332916720468e-03f));
        q = Vector.FusedMultiplyAdd(x2, q, new Vector<float>(-1.42647390514189e-02f));
        return x * p / q;
    }

    // The rational erf above on 512-bit vectors.
    private static Vector512<float> Erf(Vector512<float> x)
    {
        x = Vector512.Min(Vector512.Max(x, Vector512.Create(-4f)), Vector512.Create(4f));
        var x2 = x * x;
        var p = Vector512.FusedMultiplyAdd(x2, Vector512.Create(-2.72614225801306e-10f), Vector512.Create(2.77068142495902e-08f));
        p = Vector512.FusedMultiplyAdd(x2, p, Vector512.Create(-2.10102402082508e-06f));
        p = Vector512.FusedMultiplyAdd(x2, p, Vector512.Create(-5.69250639462346e-05f));
        p = Vector512.FusedMultiplyAdd(x2, p, Vector512.Create(-7.34990630326855e-04f));
        p = Vector512.FusedMultiplyAdd(x2, p, Vector512.Create(-2.95459980854025e-03f));
        p = Vector512.FusedMultiplyAdd(x2, p, Vector512.Create(-1.60960333262415e-02f));
        var q = Vector512.FusedMultiplyAdd(x2, Vector512.Create(-1.45660718464996e-05f), Vector512.Create(-2.13374055278905e-04f));
        q = Vector512.FusedMultiplyAdd(x2, q, Vector512.Create(-1.68282697438203e-03f));
        q = Vector512.FusedMultiplyAdd(x2, q, Vector512.Create(-7.37332916720468e-03f));
        q = Vector512.FusedMultiplyAdd(x2, q, Vector512.Create(-1.42647390514189e-02f));
        return x * p / q;
    }

    public static float Erf(float x)
    {
        Span<float> tmp = stackalloc float[Vector<float>.Count];
        tmp.Clear();
        tmp[0] = x;
        return Erf(new Vector<float>(tmp))[0];
    }

    private static void GeluErf(ReadOnlySpan<float> x, Span<float> y)
    {
        int n = x.Length, w = Vector<float>.Count, i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            // Vector<float> is 256-bit even where 512-bit vectors run: the same rational erf, 16 lanes at a time.
            for (; i <= n - 16; i += 16)
            {
                var v = Vector512.Create(x.Slice(i, 16));
                (Vector512.Create(0.5f) * v * (Vector512<float>.One + Erf(v * Vector512.Create(InvSqrt2)))).CopyTo(y.Slice(i, 16));
            }
        }
        var half = new Vector<float>(0.5f);
        var c = new Vector<float>(InvSqrt2);
        for (; i <= n - w; i += w)
        {
            var v = new Vector<float>(x[i..]);
            (half * v * (Vector<float>.One + Erf(v * c))).CopyTo(y[i..]);
        }
        for (; i < n; i++) y[i] = 0.5f * x[i] * (1f + Erf(x[i] * InvSqrt2));
    }

    // d/dx x·Φ(x) = Φ(x) + x·φ(x)
    private static void GeluErfBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx)
    {
        int n = x.Length, w = Vector<float>.Count, i = 0;
        var half = new Vector<float>(0.5f);
        var c = new Vector<float>(InvSqrt2);
        var k = new Vector<float>(InvSqrt2Pi);
        for (; i <= n - w; i += w)
        {
            var v = new Vector<float>(x[i..]);
            var cdf = half * (Vector<float>.One + Erf(v * c));
            var pdf = k * Vector.Exp(-half * v * v);
            ((cdf + v * pdf) * new Vector<float>(dy[i..])).CopyTo(dx[i..]);
        }
        for (; i < n; i++)
        {
            float v = x[i];
            float cdf = 0.5f * (1f + Erf(v * InvSqrt2));
            float pdf = InvSqrt2Pi * MathF.Exp(-0.5f * v * v);
            dx[i] = (cdf + v * pdf) * dy[i];
        }
    }

    private static void GeluTanh(ReadOnlySpan<float> x, Span<float> y)
    {
        int n = x.Length, w = Vector<float>.Count, i = 0;
        for (; i <= n - w; i += w)
        {
            var v = new Vector<float>(x[i..]);
            var th = TanhInner(v);
            (new Vector<float>(0.5f) * v * (Vector<float>.One + th)).CopyTo(y[i..]);
        }
        for (; i < n; i++)
        {
            float v = x[i];
            y[i] = 0.5f * v * (1f + MathF.Tanh(Sqrt2OverPi * (v + TanhCoef * v * v * v)));
        }
    }

    private static void GeluTanhBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx)
    {
        int n = x.Length, w = Vector<float>.Count, i = 0;
        var half = new Vector<float>(0.5f);
        for (; i <= n - w; i += w)
        {
            var v = new Vector<float>(x[i..]);
            var th = TanhInner(v);
            var du = new Vector<float>(Sqrt2OverPi) * (Vector<float>.One + new Vector<float>(3f * TanhCoef) * v * v);
            var g = half * (Vector<float>.One + th) + half * v * (Vector<float>.One - th * th) * du;
            (g * new Vector<float>(dy[i..])).CopyTo(dx[i..]);
        }
        for (; i < n; i++)
        {
            float v = x[i];
            float th = MathF.Tanh(Sqrt2OverPi * (v + TanhCoef * v * v * v));
            float du = Sqrt2OverPi * (1f + 3f * TanhCoef * v * v);
            dx[i] = (0.5f * (1f + th) + 0.5f * v * (1f - th * th) * du) * dy[i];
        }
    }

    // tanh(u) = 1 - 2/(exp(2u)+1), saturating cleanly for large |u|.
    private static Vector<float> TanhInner(Vector<float> v)
    {
        var u = new Vector<float>(Sqrt2OverPi) * (v + new Vector<float>(TanhCoef) * v * v * v);
        u = Vector.Min(Vector.Max(u, new Vector<float>(-15f)), new Vector<float>(15f));
        var e = Vector.Exp(new Vector<float>(2f) * u);
        return Vector<float>.One - new Vector<float>(2f) / (e + Vector<float>.One);
    }

    private static void ReluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx)
    {
        for (int i = 0; i < x.Length; i++) dx[i] = x[i] > 0f ? dy[i] : 0f;
    }
}
