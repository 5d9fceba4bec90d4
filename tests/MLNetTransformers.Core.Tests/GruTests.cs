using MLNetTransformers.Core.Layers;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>The GRU: PyTorch parity over packed (padded) sequences, finite differences, padding invariance.</summary>
public class GruTests
{
    private static void Near(double[] expected, ReadOnlySpan<float> actual, double tolerance, string what)
    {
        double scale = expected.Max(Math.Abs);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * Math.Max(1, scale), $"{what}[{i}]: PyTorch {expected[i]:G7}, ours {actual[i]:G7}");
    }

    [Fact]
    public void Bidirectional_PackedSequences_MatchPyTorch_OutputsAndEveryGradient()
    {
        var f = new TorchFixture("gru_bidirectional");
        var ps = new ParameterSet();
        var gru = new Gru(ps, "", 4, 6, bidirectional: true);
        ps.Allocate(0);
        foreach (var t in ps.Tensors) f.F(t.Name).CopyTo(t.Value);
        var x = f.F("x");
        var lengths = f.Ints("lengths");
        var output = gru.Forward(x, 3, 5, lengths, f.F("h0"));
        Near(f.Raw("output"), output.AsSpan(0, 3 * 5 * 12), 1e-5, "output");
        Near(f.Raw("h_n"), gru.FinalState.AsSpan(0, 2 * 3 * 6), 1e-5, "h_n");
        ps.ZeroGrad();
        var dx = gru.Backward(f.F("R_out"), f.F("R_h"));
        Near(f.Raw("grad_x"), dx.AsSpan(0, x.Length), 1e-4, "grad_x");
        Near(f.Raw("grad_h0"), gru.InitialStateGrad.AsSpan(0, 36), 1e-4, "grad_h0");
        foreach (var t in ps.Tensors) Near(f.Raw("grad_" + t.Name), t.Grad, 1e-4, "grad_" + t.Name);
    }

    [Fact]
    public void Gradients_MatchFiniteDifferences_AndPaddingNeverChangesAState()
    {
        var ps = new ParameterSet();
        var gru = new Gru(ps, "enc.", 3, 5, bidirectional: true);
        ps.Allocate(7);
        int[] lengths = { 4, 2 };
        var x = GradCheck.Random(2 * 4 * 3, 8);
        var h0 = GradCheck.Random(2 * 2 * 5, 9, 0.5f);
        var rOut = GradCheck.Random(2 * 4 * 10, 10);
        var rH = GradCheck.Random(2 * 2 * 5, 11);
        double Loss()
        {
            var o = gru.Forward(x, 2, 4, lengths, h0);
            return GradCheck.Dot(o, rOut, 80) + GradCheck.Dot(gru.FinalState, rH, 20);
        }
        Loss();
        ps.ZeroGrad();
        var dx = (float[])gru.Backward(rOut, rH).Clone();
        var dh0 = (float[])gru.InitialStateGrad.Clone();
        GradCheck.CheckParameters(ps, Loss, samples: 8);
        GradCheck.Check("x", x, 0, x.Length, dx, Loss, samples: 24);
        GradCheck.Check("h0", h0, 0, h0.Length, dh0, Loss, samples: 20);

        // Row 1 is 2 long: what stands in its padded positions changes nothing, and its outputs there are zeros.
        var before = (float[])gru.Forward(x, 2, 4, lengths, h0).Clone();
        var finalBefore = (float[])gru.FinalState.Clone();
        for (int i = (1 * 4 + 2) * 3; i < 2 * 4 * 3; i++) x[i] = 9f;
        Assert.Equal(before, gru.Forward(x, 2, 4, lengths, h0).AsSpan(0, 80).ToArray());
        Assert.Equal(finalBefore, gru.FinalState.AsSpan(0, 20).ToArray());
        Assert.All(before.AsSpan((1 * 4 + 2) * 10, 20).ToArray(), v => Assert.Equal(0f, v));
        // And its states equal those of the row run alone, unpadded.
        var alone = gru.Forward(x.AsSpan(12, 6).ToArray(), 1, 2, null, h0[5..10].Concat(h0[15..20]).ToArray());
        for (int i = 0; i < 20; i++) Assert.Equal(before[40 + i], alone[i], 5);
    }
}
