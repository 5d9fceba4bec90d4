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
}
