using MLNetTransformers.Core.Layers;
using MLNetTransformers.Core.Training;
using Xunit;

namespace MLNetTransformers.Core.Tests;

public class AdamWScaleTests
{
    private static ParameterSet Two(out ParameterTensor a, out ParameterTensor b)
    {
        var ps = new ParameterSet();
        a = ps.Add("a", [37], Init.Normal(1f), decay: true);
        b = ps.Add("b", [5], Init.Normal(1f), decay: false);
        ps.Allocate(9);
        for (int i = 0; i < ps.Count; i++) ps.Grad[i] = MathF.Sin(i + 1);
        return ps;
    }

    [Fact]
    public void ATensorsScale_StepsItAsItsOwnLearningRateWould_AndZeroFreezesIt()
    {
        var scaled = Two(out var a1, out var b1);
        var plain = Two(out var a2, out _);
        var opt = new AdamW(scaled, new AdamWOptions { WeightDecay = 0.1f });
        opt.SetLearningRateScales([0.25f, 0f]);
        var reference = new AdamW(plain, new AdamWOptions { WeightDecay = 0.1f });
        var frozen = b1.Value.ToArray();
        for (int step = 0; step < 3; step++) { opt.Update(0.01f); reference.Update(0.0025f); }
        Assert.Equal(a2.Value.ToArray(), a1.Value.ToArray());
        Assert.Equal(frozen, b1.Value.ToArray());
        Assert.All(opt.M.AsSpan(b1.Offset, b1.Length).ToArray(), m => Assert.Equal(0f, m));
        Assert.Throws<ArgumentException>(() => opt.SetLearningRateScales([1f]));
        Assert.Throws<ArgumentOutOfRangeException>(() => opt.SetLearningRateScales([1f, float.NaN]));
    }

    // Tensors larger than the update's chunk (65,536 values), several of them, one decayed and one not: the update split across cores
    // must equal the textbook formula value by value, and a gradient scale must equal scaling the gradients beforehand.
    [Fact]
    public void ChunkedUpdate_EqualsTheFormulaValueByValue_AndAGradientScaleEqualsScaledGradients()
    {
        ParameterSet Make()
        {
            var ps = new ParameterSet();
            ps.Add("w", [300, 500], Init.Normal(1f), decay: true);   // 150,000 values: three chunks, the last partial
            ps.Add("emb", [70_001], Init.Normal(1f), decay: false);
            ps.Allocate(3);
            for (int i = 0; i < ps.Count; i++) ps.Grad[i] = MathF.Sin(0.37f * i) * 3f;
            return ps;
        }
        var ps = Make();
        var start = ps.Data.ToArray();
        var opt = new AdamW(ps, new AdamWOptions { WeightDecay = 0.1f });
        opt.Update(0.01f, 0.5f);
        var o = opt.Options;
        var decayed = ps.Tensors[0];
        for (int i = 0; i < ps.Count; i += 997)
        {
            float g = ps.Grad[i] * 0.5f;
            float m = (1 - o.Beta1) * g, v = (1 - o.Beta2) * g * g;
            float decay = i < decayed.Length ? 1f - 0.01f * 0.1f : 1f;
            float expected = start[i] * decay - 0.01f / (1 - o.Beta1) * m / (MathF.Sqrt(v) / MathF.Sqrt(1 - o.Beta2) + o.Epsilon);
            Assert.Equal(expected, ps.Data[i], 1e-6f);
            Assert.Equal(m, opt.M[i], 1e-7f);
        }
        var prescaled = Make();
        for (int i = 0; i < prescaled.Count; i++) prescaled.Grad[i] *= 0.5f;
        new AdamW(prescaled, new AdamWOptions { WeightDecay = 0.1f }).Update(0.01f);
        Assert.Equal(prescaled.Data, ps.Data);
        Assert.Throws<ArgumentOutOfRangeException>(() => opt.Update(0.01f, 0f));
        Assert.Throws<ArgumentOutOfRangeException>(() => opt.Update(0.01f, float.NaN));
    }

    [Fact]
    public void GlobalNormAcrossCores_EqualsOnePass()
    {
        var g = new float[1_000_003];
        for (int i = 0; i < g.Length; i++) g[i] = MathF.Cos(i * 0.01f) * (i % 7);
        float parallel = GradientClipping.GlobalNorm(g), single = GradientClipping.GlobalNorm((ReadOnlySpan<float>)g);
        Assert.Equal(single, parallel, single * 1e-5f);
        Assert.Equal(0.5f, GradientClipping.ScaleFor(2f, 1f), 1e-5f);
        Assert.Equal(1f, GradientClipping.ScaleFor(0.5f, 1f));
        Assert.Equal(1f, GradientClipping.ScaleFor(5f, 0f));
    }
}
