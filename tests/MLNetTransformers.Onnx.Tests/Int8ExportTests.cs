using MLNetTransformers.Core.Kernels;
using MLNetTransformers.Core.Layers;
using MLNetTransformers.Core.Models;
using Xunit;

namespace MLNetTransformers.Onnx.Tests;

/// <summary>The int8 export (MatMulInteger) against the managed int8 inference it mirrors.</summary>
public class Int8ExportTests
{
    [VnniTheory]
    [MemberData(nameof(ExportParityTests.ClassifierShapes), MemberType = typeof(ExportParityTests))]
    public void Int8Classifier_OnnxRuntimeMatchesManagedInt8(NormPlacement norm, Pooling pooling, Activation act, PositionalEncodingKind pe)
    {
        var model = new TransformerClassifier(ExportParityTests.Small(norm, pooling, act, pe) with { NGramBuckets = 37 }, 3);
        Weights.Scramble(model.Parameters, 5);
        model.SetMixture(0.8f, 0.4f);
        var onnx = OnnxExporter.Export(model, quantize: true);
        var quantized = model.Copy();
        Int8Quantization.Quantize(quantized);
        int agree = 0, rows = 0;
        foreach (var (b, t) in new[] { (1, 1), (1, 7), (3, 5), (4, 16) })
        {
            var (ids, mask) = ExportParityTests.RandomBatch(b, t, b * 31 + t);
            var batch = new TokenBatch(b, t, ids, mask);
            var expected = quantized.Forward(batch).AsSpan(0, b * 3).ToArray();
            var floatLogits = model.Forward(batch).AsSpan(0, b * 3).ToArray();
            var ort = ExportParityTests.RunOrt(onnx, ids, mask, b, t);
            ExportParityTests.Close(expected, ort["logits"], $"int8 logits b={b} t={t}");
            Assert.NotEqual(floatLogits, ort["logits"]); // the graph computed in int8, not float
            for (int r = 0; r < b; r++, rows++)
                if (ArgMax(expected, r) == ArgMax(ort["logits"], r)) agree++;
        }
        Assert.Equal(rows, agree);
    }

    // ELECTRA's shape: the embeddings' projection stays float (as the managed int8 model keeps it), the blocks run int8.
    // The tables and the projection hold multiples of 1/16, so the projection's float sums are exact in any order and the
    // first int8 layer quantizes the same bits on both sides (a float sum one ulp apart can round a value to the next
    // int8 step; without the LayerNorm between them, the sums stay exact).
    // MPNet's shape too: a relative position bias on the float scores between the int8 projections. ALBERT's: both blocks
    // run one set of int8 weights, stored once.
    [VnniTheory]
    [InlineData(6, 0, 0)]
    [InlineData(0, 8, 0)]
    [InlineData(6, 0, 1)]
    [InlineData(0, 0, 0, 6)] // DeBERTa's: the disentangled terms from the float projections of the relative positions
    [InlineData(0, 0, 0, 6, true)] // DeBERTa v1's: each layer's own float projections of the positions, no key bias
    public void Int8Classifier_WithProjectedEmbeddingsOrAPositionBias_OnnxRuntimeMatchesManagedInt8(int embeddingDim, int relativeBuckets, int layerGroups, int disentangledSpan = 0, bool debertaV1 = false)
    {
        var model = new TransformerClassifier(ExportParityTests.Small(NormPlacement.PostNorm, Pooling.Cls) with
        {
            EmbeddingDim = embeddingDim, TypeVocabSize = 2, Pooler = true, PoolerActivation = PoolerActivation.Gelu, RelativeAttentionBuckets = relativeBuckets,
            LayerGroups = layerGroups, DisentangledSpan = disentangledSpan, DisentangledMaxDistance = debertaV1 ? 0 : 2 * disentangledSpan,
            PositionalEncoding = disentangledSpan > 0 ? PositionalEncodingKind.None : PositionalEncodingKind.Learned,
            DisentangledOwnProjections = debertaV1, DisentangledNorm = !debertaV1, AttentionKeyBias = !debertaV1,
        }, 3);
        ExportedInt8MatchesManagedInt8(model, 9);
    }

    // The families' shapes in int8. ModernBERT's: the GeGLU block's wide first layer and the bias-free projections run
    // int8, rotary positions and the window on the float scores between them. JinaBERT's: ALiBi on the float scores, the
    // bias-free gated layer and the biased output layer int8. GTE's: the gate second, NTK-scaled rotary positions. ESM's:
    // pre-norm rotary blocks in int8 after its token dropout (the float embeddings scaled by each sequence's masks).
    [VnniTheory]
    [InlineData("ModernBERT")]
    [InlineData("JinaBERT")]
    [InlineData("GTE")]
    [InlineData("ESM")]
    public void Int8FamilyShapedClassifier_OnnxRuntimeMatchesManagedInt8(string family)
    {
        var model = new TransformerClassifier(family switch
        {
            "ModernBERT" => ExportParityTests.ModernBertShape(), "JinaBERT" => ExportParityTests.JinaBertShape(), "ESM" => ExportParityTests.EsmShape(),
            _ => ExportParityTests.GteShape(),
        }, 3);
        ExportedInt8MatchesManagedInt8(model, 12);
    }

    // Scrambled weights, the embedding tables rounded to sixteenths (exact through the int8 steps' sums), exported int8: ONNX
    // Runtime's logits equal the managed int8 model's, not the float model's, on 3 padded rows of seqLen.
    private static void ExportedInt8MatchesManagedInt8(TransformerClassifier model, int seqLen)
    {
        Weights.Scramble(model.Parameters, 5);
        foreach (var name in new[] { "tok.weight", "pos.weight", "tok_type.weight", "emb_proj.weight", "emb_proj.bias" }.Where(model.Parameters.Contains))
        {
            var values = model.Parameters[name].Value;
            for (int i = 0; i < values.Length; i++) values[i] = MathF.Round(values[i] * 16f) / 16f;
        }
        var onnx = OnnxExporter.Export(model, quantize: true);
        var quantized = model.Copy();
        Int8Quantization.Quantize(quantized);
        var (ids, mask) = ExportParityTests.RandomBatch(3, seqLen, 12);
        var expected = quantized.Forward(new TokenBatch(3, seqLen, ids, mask)).AsSpan(0, 9).ToArray();
        var ort = ExportParityTests.RunOrt(onnx, ids, mask, 3, seqLen, model.Config.TypeVocabSize > 0 ? new int[3 * seqLen] : null);
        ExportParityTests.Close(expected, ort["logits"], "int8 logits");
        Assert.NotEqual(model.Forward(new TokenBatch(3, seqLen, ids, mask)).AsSpan(0, 9).ToArray(), ort["logits"]);
    }

    [Fact]
    public void Int8Export_LeavesOutTheFloatWeights_AndRefusesImport()
    {
        var model = new TransformerClassifier(ExportParityTests.Small() with { VocabSize = 50, ModelDim = 64, FeedForwardDim = 256 }, 3);
        Weights.Scramble(model.Parameters, 2);
        var full = OnnxExporter.Export(model);
        var int8 = OnnxExporter.Export(model, quantize: true);
        Assert.True(int8.Length < full.Length * 0.5, $"int8 export {int8.Length} bytes, float {full.Length}");
        var e = Assert.Throws<NotSupportedException>(() => OnnxImporter.Import(int8, "m.onnx"));
        Assert.Contains("int8", e.Message);
        Assert.Contains("m.onnx", e.Message);
    }

    private static int ArgMax(float[] logits, int row) => Array.IndexOf(logits, logits.Skip(row * 3).Take(3).Max(), row * 3) - row * 3;
}

/// <summary>
/// A test of ONNX Runtime's int8 results against exact int8 arithmetic: skipped, visibly, on CPUs without AVX-VNNI, where
/// ONNX Runtime's u8×s8 kernel (vpmaddubsw) saturates pairs of products at 16 bits and its sums differ from exact ones.
/// </summary>
public sealed class VnniTheoryAttribute : TheoryAttribute
{
    public VnniTheoryAttribute()
    {
        if (!System.Runtime.Intrinsics.X86.AvxVnni.IsSupported)
            Skip = "No AVX-VNNI: ONNX Runtime's u8×s8 MatMulInteger saturates 16-bit pair sums on this CPU, so it cannot match exact int8.";
    }
}

/// <summary>The <see cref="VnniTheoryAttribute"/> skip, for a single test.</summary>
public sealed class VnniFactAttribute : FactAttribute
{
    public VnniFactAttribute()
    {
        if (!System.Runtime.Intrinsics.X86.AvxVnni.IsSupported)
            Skip = "No AVX-VNNI: ONNX Runtime's u8×s8 MatMulInteger saturates 16-bit pair sums on this CPU, so it cannot match exact int8.";
    }
}
