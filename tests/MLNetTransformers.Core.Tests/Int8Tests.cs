using System.Numerics.Tensors;
using MLNetTransformers.Core.Kernels;
using MLNetTransformers.Core.Models;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>The int8 GEMM and the quantized encoder.</summary>
public class Int8Tests
{
    [Int8KernelFact("Avx2Widening")]
    public void Int8Gemm_Avx2Kernel_IsExactWhereSaturatingPairSumsWouldNotBe() =>
        AssertExactWhereSaturatingPairSumsWouldNotBe(Int8Gemm.Kernel.Avx2Widening);

    [Int8KernelFact("Avx512Widening")]
    public void Int8Gemm_Avx512Kernel_IsExactWhereSaturatingPairSumsWouldNotBe()
    {
        AssertExactWhereSaturatingPairSumsWouldNotBe(Int8Gemm.Kernel.Avx512Widening);
        if (!System.Runtime.Intrinsics.X86.AvxVnni.IsSupported) Assert.Equal(Int8Gemm.Kernel.Avx512Widening, Int8Gemm.Path); // the one such CPUs run
    }

    private static void AssertExactWhereSaturatingPairSumsWouldNotBe(Int8Gemm.Kernel kernel)
    {
        // Rows quantized to 255 everywhere (all positive and equal) against weights at ±127: every pair of products is
        // ±64,770, past the ±32,767 a 16-bit pair sum (vpmaddubsw) holds.
        int m = 7, n = 24, k = 64;
        var x = Enumerable.Repeat(3f, m * k).ToArray();
        var w = Enumerable.Range(0, n * k).Select(i => (i / k) % 2 == 0 ? -1f : 1f).ToArray();
        var q = new QuantizedMatrix(w, n, k);
        var saved = Int8Gemm.Path;
        var scalar = new float[m * n]; var widening = new float[m * n];
        try
        {
            Int8Gemm.Path = Int8Gemm.Kernel.Scalar;
            Int8Gemm.Multiply(x, m, q, scalar);
            Int8Gemm.Path = kernel;
            Int8Gemm.Multiply(x, m, q, widening);
        }
        finally { Int8Gemm.Path = saved; }
        Assert.Equal(scalar, widening);
        Assert.Equal(-3f * 64, widening[0], 1f); // and right: 3 × (−1) summed over 64 inputs
        Assert.Equal(3f * 64, widening[n + 1], 1f); // row 1, output 1: +1 weights
    }

    [Theory]
    [InlineData(1, 16, 8)]
    [InlineData(7, 37, 13)]      // odd shapes: padding of outputs (to 16) and inputs (to 4)
    [InlineData(64, 96, 256)]
    public void Int8Gemm_EqualsFloatProductOfTheQuantizedValues(int m, int n, int k)
    {
        var rng = new Random(m * 1000 + n + k);
        var x = new float[m * k]; var w = new float[n * k]; var bias = new float[n];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 6 - 2);   // not centred: zero points differ by row
        for (int i = 0; i < w.Length; i++) w[i] = (float)(rng.NextDouble() - 0.5) * 0.1f;
        for (int i = 0; i < n; i++) bias[i] = (float)rng.NextDouble();
        var q = new QuantizedMatrix(w, n, k);
        var wDeq = q.Dequantized();
        // What the kernel computes: the dequantized row times the dequantized weights.
        var xDeq = new float[m * k];
        var bytes = new byte[(k + 3) / 4 * 4];
        for (int r = 0; r < m; r++)
        {
            Int8Gemm.QuantizeRow(x.AsSpan(r * k, k), bytes, out float s, out int z);
            for (int i = 0; i < k; i++) xDeq[r * k + i] = s * (bytes[i] - z);
            for (int i = k; i < bytes.Length; i++) Assert.Equal(z, bytes[i]); // padding contributes nothing
        }
        var expected = new float[m * n];
        for (int r = 0; r < m; r++)
        for (int o = 0; o < n; o++)
        {
            double acc = bias[o];
            for (int i = 0; i < k; i++) acc += (double)xDeq[r * k + i] * wDeq[o * k + i];
            expected[r * n + o] = (float)acc;
        }
        var vnni = new float[m * n]; var portable = new float[m * n];
        var saved = Int8Gemm.Path;
        try
        {
            Int8Gemm.Multiply(x, m, q, vnni, bias); // the machine's kernel
            Int8Gemm.Path = Int8Gemm.Kernel.Scalar;
            Int8Gemm.Multiply(x, m, q, portable, bias);
            Assert.Equal(portable, vnni); // exact integer sums either way
            foreach (var kernel in Enum.GetValues<Int8Gemm.Kernel>().Where(Int8Gemm.IsSupported)) // every kernel this CPU runs
            {
                Int8Gemm.Path = kernel;
                var other = new float[m * n];
                Int8Gemm.Multiply(x, m, q, other, bias);
                Assert.Equal(portable, other);
            }
        }
        finally { Int8Gemm.Path = saved; }
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - vnni[i]) <= 1e-4f * (1 + Math.Abs(expected[i])), $"element {i}: int8 {vnni[i]}, expected {expected[i]}");
        // And close to the float product itself (the quantization error of 8 bits).
        var exact = new float[m * n];
        Gemm.MatMulTransB(x, w, exact, m, n, k, bias);
        double err = 0, norm = 0;
        for (int i = 0; i < exact.Length; i++) { err += Math.Pow(exact[i] - vnni[i] - 0, 2); norm += Math.Pow(exact[i] - bias[i % n], 2); }
        Assert.True(Math.Sqrt(err / norm) < 0.02, $"relative error {Math.Sqrt(err / norm):F4}");
    }

    // Blocks that share weights (ALBERT's) share their int8 copies and their inference panels: one per weight tensor, so
    // serving an ALBERT holds its shared blocks once, not once per layer; the outputs are those of unshared copies.
    [Fact]
    public void SharedBlocks_ShareTheirQuantizedWeightsAndPanels()
    {
        var config = new TransformerConfig { VocabSize = 13, ModelDim = 16, Heads = 2, Layers = 3, LayerGroups = 1, FeedForwardDim = 32, MaxLength = 6, Dropout = 0f, Norm = NormPlacement.PostNorm };
        int[] ids = [2, 4, 7, 3, 9, 1, 2, 9, 11, 5, 6, 3];
        var floatEncoder = new TransformerEncoder(config, 3);
        var expected = floatEncoder.Forward(ids, 2, 6, null, training: false).Take(2 * 6 * 16).ToArray();
        var panelled = floatEncoder.Copy();
        InferencePanels.AttachForGood(panelled);
        var blocks = panelled.Blocks;
        Assert.Same(blocks[0].FeedForward.Linear1.Panels, blocks[2].FeedForward.Linear1.Panels);
        Assert.Same(blocks[0].SelfAttention.InProjPanels, blocks[1].SelfAttention.InProjPanels);
        Assert.NotNull(blocks[0].FeedForward.Linear1.Panels);
        var withPanels = panelled.Forward(ids, 2, 6, null, training: false).Take(2 * 6 * 16).ToArray();
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - withPanels[i]) < 1e-4f, $"{i}: {withPanels[i]} against {expected[i]}");
        var quantized = floatEncoder.Copy();
        Int8Quantization.Quantize(quantized);
        Assert.Same(quantized.Blocks[0].SelfAttention.InProjInt8, quantized.Blocks[2].SelfAttention.InProjInt8);
        Assert.Same(quantized.Blocks[0].FeedForward.Linear2.Int8, quantized.Blocks[1].FeedForward.Linear2.Int8);
        var int8 = quantized.Forward(ids, 2, 6, null, training: false).Take(2 * 6 * 16).ToArray();
        Assert.True(expected.Zip(int8).Max(p => Math.Abs(p.First - p.Second)) < 0.1f);
    }

    [Fact]
    public void QuantizeRow_RoundsHalfToEvenAndKeepsZeroExact()
    {
        var q = new byte[4];
        Int8Gemm.QuantizeRow(new[] { -1f, 0f, 2f, 0.5f }, q, out float s, out int z);
        Assert.Equal(3f / 255f, s, 6);
        Assert.Equal(85, z);                    // round(1 / (3/255)) = 85
        Assert.Equal(z, q[1]);                  // zero maps to the zero point exactly
        Assert.Equal(0, q[0]);
        Assert.Equal(255, q[2]);
    }

    [Fact]
    public void QuantizedClassifier_AgreesWithFloatAndRefusesTraining()
    {
        var config = new ClassifierConfig { VocabSize = 300, ModelDim = 64, Heads = 4, Layers = 2, FeedForwardDim = 128, MaxLength = 32, NumClasses = 3, Dropout = 0f };
        var model = new TransformerClassifier(config, 3);
        // Spread the weights so the logits differ by more than the quantization error.
        foreach (var t in model.Parameters.Tensors) TensorPrimitives.Multiply(t.Value, 4f, t.Value);
        var rng = new Random(1);
        var ids = Enumerable.Range(0, 16 * 32).Select(_ => rng.Next(300)).ToArray();
        var batch = new TokenBatch(16, 32, ids, labels: Enumerable.Range(0, 16).Select(i => i % 3).ToArray());
        var reference = model.Forward(batch).AsSpan(0, 16 * 3).ToArray();
        var quantized = model.Copy();
        Int8Quantization.Quantize(quantized);
        Assert.True(Int8Quantization.IsQuantized(quantized.Encoder));
        Assert.False(Int8Quantization.IsQuantized(model.Encoder));
        var logits = quantized.Forward(batch).AsSpan(0, 16 * 3).ToArray();
        Assert.NotEqual(reference, logits); // it did run the int8 path
        double err = 0, norm = 0;
        for (int i = 0; i < logits.Length; i++) { err += Math.Pow(logits[i] - reference[i], 2); norm += Math.Pow(reference[i], 2); }
        Assert.True(Math.Sqrt(err / norm) < 0.05, $"relative logit error {Math.Sqrt(err / norm):F4}");
        int agree = Enumerable.Range(0, 16).Count(r => ArgMax(logits, r) == ArgMax(reference, r));
        Assert.True(agree >= 15, $"{agree} of 16 predictions agree");
        var e = Assert.Throws<InvalidOperationException>(() => quantized.ForwardBackward(batch));
        Assert.Contains("int8", e.Message);
    }

    private static int ArgMax(float[] logits, int row) => logits[row * 3] >= logits[row * 3 + 1] ? (logits[row * 3] >= logits[row * 3 + 2] ? 0 : 2) : (logits[row * 3 + 1] >= logits[row * 3 + 2] ? 1 : 2);
}

/// <summary>A test of one int8 kernel (an <see cref="Int8Gemm.Kernel"/> name): skipped, visibly, on CPUs that cannot run it.</summary>
public sealed class Int8KernelFactAttribute : FactAttribute
{
    public Int8KernelFactAttribute(string kernel)
    {
        if (!Int8Gemm.IsSupported(Enum.Parse<Int8Gemm.Kernel>(kernel))) Skip = $"This CPU cannot run the {kernel} int8 kernel.";
    }
}
