using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNetTransformers.Core.Kernels;
using MLNetTransformers.Core.Layers;
using MLNetTransformers.Core.Models;
using Xunit;

namespace MLNetTransformers.Onnx.Tests;

public class ExportParityTests
{
    internal static ClassifierConfig Small(NormPlacement norm = NormPlacement.PreNorm, Pooling pooling = Pooling.Mean,
        Activation act = Activation.Gelu, PositionalEncodingKind pe = PositionalEncodingKind.Learned) => new()
    {
        VocabSize = 50, ModelDim = 16, Heads = 4, Layers = 2, FeedForwardDim = 32, MaxLength = 16, Dropout = 0f,
        NumClasses = 3, Norm = norm, Pooling = pooling, Activation = act, PositionalEncoding = pe,
    };

    /// <summary>Random ids with a random amount of trailing padding per row (at least one real token).</summary>
    internal static (int[] Ids, int[] Mask) RandomBatch(int b, int t, int seed, int vocab = 50)
    {
        var rng = new Random(seed);
        var ids = new int[b * t]; var mask = new int[b * t];
        for (int i = 0; i < b; i++)
        {
            int len = i == 0 ? t : rng.Next(1, t + 1);
            for (int j = 0; j < t; j++) { ids[i * t + j] = j < len ? rng.Next(vocab) : 0; mask[i * t + j] = j < len ? 1 : 0; }
        }
        return (ids, mask);
    }

    internal static Dictionary<string, float[]> RunOrt(byte[] onnx, int[] ids, int[] mask, int b, int t, int[]? types = null)
    {
        using var session = new InferenceSession(onnx);
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids.Select(i => (long)i).ToArray(), new[] { b, t })),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(mask.Select(i => (long)i).ToArray(), new[] { b, t })),
        };
        if (types is not null) inputs.Add(NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(types.Select(i => (long)i).ToArray(), new[] { b, t })));
        using var results = session.Run(inputs);
        return results.ToDictionary(r => r.Name, r => r.AsTensor<float>().ToArray());
    }

    internal static void Close(ReadOnlySpan<float> expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        float scale = 0;
        foreach (var v in expected) scale = Math.Max(scale, Math.Abs(v));
        for (int i = 0; i < actual.Length; i++)
        {
            double rel = Math.Abs(actual[i] - expected[i]) / Math.Max(Math.Abs(expected[i]), 0.1 * scale);
            Assert.True(rel <= 1e-4, $"{what}[{i}]: ONNX Runtime {actual[i]}, managed {expected[i]} (relative error {rel:E2})");
        }
    }

    [Theory]
    [InlineData(2, 0, true, Pooling.Cls)]   // BERT: token types, pooler over [CLS]
    [InlineData(1, 2, true, Pooling.Cls)]   // RoBERTa: positions from 2
    [InlineData(2, 0, false, Pooling.Mean)] // sentence-transformers MiniLM: mean pooling, unit-length embeddings
    [InlineData(0, 0, true, Pooling.Cls, PoolerActivation.Relu)] // DistilBERT's classifier: pre_classifier + ReLU over [CLS]
    [InlineData(2, 0, true, Pooling.Cls, PoolerActivation.Gelu, 6)] // ELECTRA's: embeddings 6 wide projected to 16, classifier.dense + GELU
    [InlineData(0, 2, true, Pooling.Cls, PoolerActivation.Tanh, 0, 8)] // MPNet's: a relative position bias on every layer's scores
    [InlineData(2, 0, true, Pooling.Cls, PoolerActivation.Tanh, 6, 0, 1)] // ALBERT's: projected embeddings, both blocks on one set of weights
    [InlineData(0, 0, true, Pooling.Cls, PoolerActivation.Gelu, 0, 0, 0, 6)] // DeBERTa's: no absolute positions, disentangled attention with log buckets
    [InlineData(0, 0, true, Pooling.Cls, PoolerActivation.Gelu, 0, 0, 0, 6, true)] // DeBERTa v1's: positions projected by each layer's own weights, no table norm, no key bias
    public void BertFamilyClassifier_OnnxRuntimeMatchesManaged(int typeVocab, int positionOffset, bool pooler, Pooling pooling, PoolerActivation activation = PoolerActivation.Tanh,
        int embeddingDim = 0, int relativeBuckets = 0, int layerGroups = 0, int disentangledSpan = 0, bool debertaV1 = false)
    {
        var config = Small(NormPlacement.PostNorm, pooling) with
        {
            TypeVocabSize = typeVocab, PositionOffset = positionOffset, Pooler = pooler, EmbeddingNorm = true, NormalizeEmbeddings = !pooler, LayerNormEps = 1e-12f,
            PoolerActivation = activation, EmbeddingDim = embeddingDim, RelativeAttentionBuckets = relativeBuckets, LayerGroups = layerGroups,
            DisentangledSpan = disentangledSpan, DisentangledMaxDistance = debertaV1 ? 0 : 2 * disentangledSpan,
            PositionalEncoding = disentangledSpan > 0 ? PositionalEncodingKind.None : PositionalEncodingKind.Learned,
            DisentangledOwnProjections = debertaV1, DisentangledNorm = !debertaV1, AttentionKeyBias = !debertaV1,
        };
        var model = new TransformerClassifier(config, 3);
        Weights.Scramble(model.Parameters, 7);
        ExportedClassifierAndFeaturizerMatch_AndImportBack(model);
    }

    // DeBERTa-v2-xlarge's shape: the convolution after the first block (kernel 3, tanh; kernel 5, GELU) over the
    // embeddings, as a Conv node on [B, d, T] with padding rows zeroed; disentangled attention with log buckets.
    [Theory]
    [InlineData(3, PoolerActivation.Tanh)]
    [InlineData(5, PoolerActivation.Gelu)]
    public void DebertaWithConvolution_OnnxRuntimeMatchesManaged_AndImportsBack(int kernel, PoolerActivation activation)
    {
        var model = new TransformerClassifier(Small(NormPlacement.PostNorm, Pooling.Cls) with
        {
            Pooler = true, EmbeddingNorm = true, LayerNormEps = 1e-7f, PoolerActivation = PoolerActivation.Gelu, PositionalEncoding = PositionalEncodingKind.None,
            DisentangledSpan = 6, DisentangledMaxDistance = 12, ConvKernel = kernel, ConvActivation = activation,
        }, 3);
        Weights.Scramble(model.Parameters, 7);
        ExportedClassifierAndFeaturizerMatch_AndImportBack(model);
    }

    // The classifier's logits and embeddings and its encoder's featurizer export under ONNX Runtime against the engine, on
    // padded batches of 1×1, 3×5 and 4×16 (the second half of each row sentence B when the model has token types); then
    // the import reads the new blocks' weights back by name.
    private static void ExportedClassifierAndFeaturizerMatch_AndImportBack(TransformerClassifier model)
    {
        var onnx = OnnxExporter.Export(model);
        var featurizer = OnnxExporter.Export(model.Encoder);
        int typeVocab = model.Config.TypeVocabSize;
        foreach (var (b, t) in new[] { (1, 1), (3, 5), (4, 16) })
        {
            var (ids, mask) = RandomBatch(b, t, b * 17 + t);
            var types = ids.Select((_, i) => typeVocab > 1 && i % t >= t / 2 ? 1 : 0).ToArray();
            var batch = new TokenBatch(b, t, ids, mask) { TokenTypeIds = types };
            var expected = model.Forward(batch).AsSpan(0, b * 3).ToArray();
            var embeddings = model.Embed(batch).AsSpan(0, b * model.Config.ModelDim).ToArray();
            var ort = RunOrt(onnx, ids, mask, b, t, typeVocab > 0 ? types : null);
            Close(expected, ort["logits"], $"logits b={b} t={t}");
            Close(embeddings, ort["embeddings"], $"embeddings b={b} t={t}");
            Close(embeddings, RunOrt(featurizer, ids, mask, b, t, typeVocab > 0 ? types : null)["embeddings"], $"featurizer b={b} t={t}");
        }
        var back = (TransformerClassifier)OnnxImporter.Import(onnx).Model;
        Assert.Equal(model.Config, back.Config);
        var (i2, m2) = RandomBatch(2, 16, 99);
        Close(model.Forward(new TokenBatch(2, 16, i2, m2)).AsSpan(0, 6).ToArray(), back.Forward(new TokenBatch(2, 16, i2, m2)).AsSpan(0, 6).ToArray(), "imported logits");
    }

    // ModernBERT's shape: rotary positions (two bases), a sliding window of 2 in the local layer (sequences up to 16, so it
    // cuts), GeGLU blocks, no biases, the first block without its attention norm, mean pooling through dense + GELU + norm.
    internal static ClassifierConfig ModernBertShape() => Small(NormPlacement.PreNorm, Pooling.Mean) with
    {
        Layers = 3, EmbeddingNorm = true, PositionalEncoding = PositionalEncodingKind.None, Biases = false, NormBiases = false, GatedFeedForward = true, FeedForwardDim = 24,
        RotaryTheta = 160_000f, LocalRotaryTheta = 10_000f, SlidingWindow = 2, GlobalAttentionEvery = 2, FirstBlockAttentionNorm = false,
        Pooler = true, PoolerActivation = PoolerActivation.Gelu, PoolerNorm = true, PoolerBias = false,
    };

    [Fact]
    public void ModernBertShapedClassifier_OnnxRuntimeMatchesManaged_AndImportsBack()
    {
        var model = new TransformerClassifier(ModernBertShape(), 3);
        Weights.Scramble(model.Parameters, 7);
        ExportedClassifierAndFeaturizerMatch_AndImportBack(model);
    }

    // ESM-2's shape: pre-norm blocks with rotary positions, no LayerNorm on the embeddings, and token dropout: the mask
    // token's embeddings zeroed and each sequence scaled by its share of mask tokens (the random batches hold some; the one
    // below rows with none, one and three, padded differently).
    internal static ClassifierConfig EsmShape() => Small(NormPlacement.PreNorm, Pooling.Cls) with
    {
        PositionalEncoding = PositionalEncodingKind.None, RotaryTheta = 10_000f, MaskTokenDropout = 7, Pooler = true, PoolerActivation = PoolerActivation.Tanh,
    };

    [Fact]
    public void EsmShapedClassifier_OnnxRuntimeMatchesManaged_AndImportsBack()
    {
        var model = new TransformerClassifier(EsmShape(), 3);
        Weights.Scramble(model.Parameters, 7);
        ExportedClassifierAndFeaturizerMatch_AndImportBack(model);
        int[] ids = [1, 9, 12, 3, 2, 1, 7, 12, 2, 0, 1, 7, 7, 7, 2], mask = [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1];
        var expected = model.Forward(new TokenBatch(3, 5, ids, mask)).AsSpan(0, 9).ToArray();
        Close(expected, RunOrt(OnnxExporter.Export(model), ids, mask, 3, 5, null)["logits"], "logits with mask tokens");
        var plain = new TransformerClassifier(EsmShape() with { MaskTokenDropout = -1 }, 3);
        model.Parameters.Data.CopyTo(plain.Parameters.Data);
        Assert.NotEqual(expected[6], plain.Forward(new TokenBatch(3, 5, ids, mask))[6]); // the scale is in play
    }

    // RoFormer's shape: rotary positions in its own layout (pairs 2i, 2i + 1; the export gathers its table's rows), no
    // position table, embeddings projected to the blocks' width, token types, ELECTRA's GELU head on the first token.
    [Fact]
    public void RoFormerShapedClassifier_OnnxRuntimeMatchesManaged_AndImportsBack()
    {
        var model = new TransformerClassifier(Small(NormPlacement.PostNorm, Pooling.Cls) with
        {
            TypeVocabSize = 2, EmbeddingNorm = true, PositionalEncoding = PositionalEncodingKind.None, RotaryTheta = 10_000f, RotaryInterleaved = true,
            EmbeddingDim = 4, Pooler = true, PoolerActivation = PoolerActivation.Gelu, LayerNormEps = 1e-12f,
        }, 3);
        Assert.True(model.Encoder.Blocks[0].SelfAttention.Rotary!.Interleaved);
        Weights.Scramble(model.Parameters, 7);
        ExportedClassifierAndFeaturizerMatch_AndImportBack(model);
    }

    // NomicBERT's shape: post-norm blocks with rotary positions, SwiGLU (SiLU of the gate), bias-free projections, token
    // types, BERT's pooler with its bias, an embedding padded past the vocabulary.
    [Fact]
    public void NomicBertShapedClassifier_OnnxRuntimeMatchesManaged_AndImportsBack()
    {
        var model = new TransformerClassifier(Small(NormPlacement.PostNorm, Pooling.Cls, Activation.Silu) with
        {
            TypeVocabSize = 2, EmbeddingNorm = true, PositionalEncoding = PositionalEncodingKind.None, RotaryTheta = 1000f, GatedFeedForward = true, Biases = false,
            VocabSize = 64, VocabularyMultiple = 16, Pooler = true, LayerNormEps = 1e-12f,
        }, 3);
        Weights.Scramble(model.Parameters, 7);
        ExportedClassifierAndFeaturizerMatch_AndImportBack(model);
    }

    // JinaBERT's shape: post-norm blocks with ALiBi over 6 heads (the slopes' non-power-of-two path; sequences up to 16, so
    // the distances matter) and no position table, GeGLU whose gated layer has no bias while the rest have theirs, token types,
    // BERT's pooler, an embedding padded to a multiple of 64.
    internal static ClassifierConfig JinaBertShape() => Small(NormPlacement.PostNorm, Pooling.Cls) with
    {
        ModelDim = 24, Heads = 6, TypeVocabSize = 2, EmbeddingNorm = true, PositionalEncoding = PositionalEncodingKind.None, Alibi = true, GatedFeedForward = true,
        ExpansionBias = false, VocabSize = 64, VocabularyMultiple = 64, Pooler = true, LayerNormEps = 1e-12f,
    };

    [Fact]
    public void JinaBertShapedClassifier_OnnxRuntimeMatchesManaged_AndImportsBack()
    {
        var model = new TransformerClassifier(JinaBertShape(), 3);
        Assert.False(model.Parameters.Contains("layers.0.linear1.bias"));
        Assert.True(model.Parameters.Contains("layers.0.linear2.bias"));
        Weights.Scramble(model.Parameters, 7);
        ExportedClassifierAndFeaturizerMatch_AndImportBack(model);
    }

    // GTE's shape: post-norm blocks with NTK-scaled rotary positions, the gated block's activated half second and its first
    // layer without a bias, no token types, BERT's pooler, an embedding padded to a multiple of 64.
    internal static ClassifierConfig GteShape() => Small(NormPlacement.PostNorm, Pooling.Cls) with
    {
        EmbeddingNorm = true, PositionalEncoding = PositionalEncodingKind.None, RotaryTheta = 1000f, RotaryScaling = 2f, GatedFeedForward = true,
        ExpansionBias = false, ActivatedHalfFirst = false, VocabSize = 64, VocabularyMultiple = 64, Pooler = true, LayerNormEps = 1e-12f,
    };

    [Fact]
    public void GteShapedClassifier_OnnxRuntimeMatchesManaged_AndImportsBack()
    {
        var model = new TransformerClassifier(GteShape(), 3);
        Weights.Scramble(model.Parameters, 7);
        ExportedClassifierAndFeaturizerMatch_AndImportBack(model);
    }

    public static IEnumerable<object[]> ClassifierShapes()
    {
        yield return new object[] { NormPlacement.PreNorm, Pooling.Mean, Activation.Gelu, PositionalEncodingKind.Learned };
        yield return new object[] { NormPlacement.PostNorm, Pooling.Cls, Activation.GeluTanh, PositionalEncodingKind.Sinusoidal };
        yield return new object[] { NormPlacement.PreNorm, Pooling.Cls, Activation.Relu, PositionalEncodingKind.Sinusoidal };
    }

    [Theory]
    [MemberData(nameof(ClassifierShapes))]
    public void Classifier_OnnxRuntimeMatchesManaged(NormPlacement norm, Pooling pooling, Activation act, PositionalEncodingKind pe)
    {
        var model = new TransformerClassifier(Small(norm, pooling, act, pe), 3);
        Weights.Scramble(model.Parameters, 5);
        var onnx = OnnxExporter.Export(model);
        foreach (var (b, t) in new[] { (1, 1), (1, 7), (3, 5), (4, 16) })
        {
            var (ids, mask) = RandomBatch(b, t, b * 31 + t);
            var batch = new TokenBatch(b, t, ids, mask);
            var expected = model.Forward(batch).AsSpan(0, b * 3).ToArray();
            var embeddings = model.Embed(batch).AsSpan(0, b * model.Config.ModelDim).ToArray();
            var ort = RunOrt(onnx, ids, mask, b, t);
            Close(expected, ort["logits"], $"logits b={b} t={t}");
            Close(embeddings, ort["embeddings"], $"embeddings b={b} t={t}");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void ClassifierWithNGramBranch_OnnxRuntimeMatchesManaged(int members)
    {
        var model = new TransformerClassifier(Small() with { NGramBuckets = 37, Members = members }, 3);
        Weights.Scramble(model.Parameters, 7);
        model.SetMixture(0.3f, 1.7f);
        var onnx = OnnxExporter.Export(model);
        foreach (var (b, t) in new[] { (1, 1), (1, 7), (3, 5), (4, 16) })
        {
            var (ids, mask) = RandomBatch(b, t, b * 17 + t);
            var batch = new TokenBatch(b, t, ids, mask);
            var expected = model.Forward(batch).AsSpan(0, b * 3).ToArray();
            var (transformer, ngrams) = model.BranchLogits(batch);
            Assert.NotEqual(transformer.AsSpan(0, b * 3).ToArray(), ngrams!.AsSpan(0, b * 3).ToArray());
            var ort = RunOrt(onnx, ids, mask, b, t);
            Close(expected, ort["logits"], $"logits b={b} t={t}");
            Close(model.Embed(batch).AsSpan(0, b * 16), ort["embeddings"], $"embeddings b={b} t={t}");
        }
        // Weight import brings the branch and its mixture back.
        var imported = Assert.IsType<TransformerClassifier>(OnnxImporter.Import(onnx).Model);
        Assert.Equal((0.3f, 1.7f), imported.Mixture);
        Assert.Equal(model.Parameters.Data, imported.Parameters.Data);
    }

    [Fact]
    public void Featurizer_ExportsEmbeddingsOnly()
    {
        var model = new TransformerClassifier(Small() with { NGramBuckets = 37, Members = 2 }, 3);
        var onnx = OnnxExporter.Export(model, kind: OnnxExportKind.Featurizer);
        var (ids, mask) = RandomBatch(2, 6, 1);
        var ort = RunOrt(onnx, ids, mask, 2, 6);
        Assert.Equal(new[] { "embeddings" }, ort.Keys);
        var expected = model.Embed(new TokenBatch(2, 6, ids, mask)).AsSpan(0, 32).ToArray();
        Close(expected, ort["embeddings"], "embeddings");
        // The encoder alone: no head or n-gram weights travel, and it imports as an encoder with the same embeddings.
        Assert.Equal(onnx, OnnxExporter.Export(model.Encoder.Copy()));
        var imported = Assert.IsType<TransformerEncoder>(OnnxImporter.Import(onnx).Model);
        Assert.True(imported.OwnsParameters);
        Assert.DoesNotContain(imported.Parameters.Tensors, t => t.Name.StartsWith("head.") || t.Name.StartsWith("ngram."));
        Assert.Equal(expected, imported.Embed(new TokenBatch(2, 6, ids, mask)).AsSpan(0, 32).ToArray());
    }

    // An encoder with a sentence-transformers Dense module (16 → 12, tanh or none; normalized): the featurizer's embeddings
    // are ONNX Runtime's, float and int8, 12 wide, and it imports back as the same encoder.
    [Theory]
    [InlineData(PoolerActivation.Tanh, false)]
    [InlineData(PoolerActivation.Identity, false)]
    [InlineData(PoolerActivation.Tanh, true)]
    public void FeaturizerWithADenseModule_OnnxRuntimeMatchesManaged_AndImportsBack(PoolerActivation activation, bool quantized)
    {
        var encoder = new TransformerEncoder(Small().Shape() with { SentenceDense = 12, SentenceDenseActivation = activation, NormalizeEmbeddings = true, Pooling = Pooling.Cls }, 5);
        Weights.Scramble(encoder.Parameters, 9);
        var onnx = OnnxExporter.Export(encoder, quantize: quantized);
        var (ids, mask) = RandomBatch(3, 7, 2);
        var expected = encoder.Embed(new TokenBatch(3, 7, ids, mask)).AsSpan(0, 3 * 12).ToArray();
        var ort = RunOrt(onnx, ids, mask, 3, 7)["embeddings"];
        Assert.Equal(3 * 12, ort.Length);
        if (quantized)
        {
            for (int r = 0; r < 3; r++) Assert.True(System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(expected.AsSpan(r * 12, 12), ort.AsSpan(r * 12, 12)) > 0.99);
            return;
        }
        Close(expected, ort, "embeddings");
        var imported = Assert.IsType<TransformerEncoder>(OnnxImporter.Import(onnx).Model);
        Assert.Equal(encoder.Config, imported.Config);
        Assert.Equal(expected, imported.Embed(new TokenBatch(3, 7, ids, mask)).AsSpan(0, 3 * 12).ToArray());
    }

    // A token classifier of BERT's shape (post-norm, token types, no pooler): the logits at every token under ONNX Runtime
    // equal the engine's, padded rows included (their real tokens), and the file imports back to the same weights and tags.
    // ModernBERT's shape: its head (dense, GELU, norm) at every position before the output layer, no token types.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TokenClassifier_OnnxRuntimeMatchesManaged_AndImportsBack(bool modernBert)
    {
        var config = modernBert ? ModernBertShape() with { NumClasses = 5 } : Small(NormPlacement.PostNorm) with { NumClasses = 5, TypeVocabSize = 2 };
        var model = new TransformerTokenClassifier(config, 3);
        Weights.Scramble(model.Parameters, 9);
        string[] tags = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"];
        var onnx = OnnxExporter.Export(model, tags: tags);
        foreach (var (b, t) in new[] { (1, 1), (2, 9), (3, 16) })
        {
            var (ids, mask) = RandomBatch(b, t, b + t);
            var types = config.TypeVocabSize > 1 ? ids.Select((_, i) => i % t >= t / 2 ? 1 : 0).ToArray() : null;
            var expected = model.Forward(new TokenBatch(b, t, ids, mask) { TokenTypeIds = types }).AsSpan(0, b * t * 5).ToArray();
            var actual = RunOrt(onnx, ids, mask, b, t, types)["logits"];
            for (int i = 0; i < expected.Length; i++)
                if (mask[i / 5] == 0) expected[i] = actual[i] = 0; // padding's logits are nobody's
            Close(expected, actual, $"logits b={b} t={t}");
        }
        // The int8 export runs and tags as the float model does at nearly every token (8-bit weights and activations).
        var (qIds, qMask) = RandomBatch(4, 16, 77);
        var qTypes = config.TypeVocabSize > 0 ? new int[64] : null;
        var floatLogits = RunOrt(onnx, qIds, qMask, 4, 16, qTypes)["logits"];
        var int8Logits = RunOrt(OnnxExporter.Export(model, tags: tags, quantize: true), qIds, qMask, 4, 16, qTypes)["logits"];
        int Arg(float[] l, int p) => Array.IndexOf(l, l.Skip(p * 5).Take(5).Max(), p * 5) - p * 5;
        var real = Enumerable.Range(0, 64).Where(p => qMask[p] == 1).ToArray();
        Assert.True(real.Count(p => Arg(floatLogits, p) == Arg(int8Logits, p)) >= 0.9 * real.Length, "int8 tags differ from float at more than a tenth of the tokens");
        var imported = OnnxImporter.Import(onnx);
        Assert.Equal(OnnxExportKind.TokenClassifier, imported.Kind);
        Assert.Equal(tags, imported.ClassNames);
        Assert.Equal(model.Parameters.Data, Assert.IsType<TransformerTokenClassifier>(imported.Model).Parameters.Data);
    }

    // A question answerer of BERT's shape: start_logits and end_logits at every real token under ONNX Runtime equal the
    // engine's (question and context as two segments), the int8 export picks the same answer tokens at nearly every row,
    // and the file imports back to the same weights.
    // ModernBERT's shape: its head (dense, GELU, norm) at every position before the output layer, no token types.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void QuestionAnswerer_OnnxRuntimeMatchesManaged_AndImportsBack(bool modernBert)
    {
        var config = modernBert ? ModernBertShape() with { NumClasses = 2 } : Small(NormPlacement.PostNorm) with { NumClasses = 2, TypeVocabSize = 2 };
        var model = new TransformerQuestionAnswerer(config, 3);
        Weights.Scramble(model.Parameters, 9);
        var onnx = OnnxExporter.Export(model);
        foreach (var (b, t) in new[] { (1, 1), (2, 9), (3, 16) })
        {
            var (ids, mask) = RandomBatch(b, t, b + t);
            var types = config.TypeVocabSize > 1 ? ids.Select((_, i) => i % t >= t / 2 ? 1 : 0).ToArray() : null;
            var logits = model.Forward(new TokenBatch(b, t, ids, mask) { TokenTypeIds = types });
            var outputs = RunOrt(onnx, ids, mask, b, t, types);
            for (int output = 0; output < 2; output++)
            {
                var expected = Enumerable.Range(0, b * t).Select(p => mask[p] == 0 ? 0 : logits[2 * p + output]).ToArray();
                var actual = outputs[output == 0 ? "start_logits" : "end_logits"].Select((v, p) => mask[p] == 0 ? 0 : v).ToArray();
                Close(expected, actual, $"{(output == 0 ? "start" : "end")} logits b={b} t={t}");
            }
        }
        var (qIds, qMask) = RandomBatch(4, 16, 77);
        var qTypes = config.TypeVocabSize > 0 ? new int[64] : null;
        var (f, q) = (RunOrt(onnx, qIds, qMask, 4, 16, qTypes)["start_logits"], RunOrt(OnnxExporter.Export(model, quantize: true), qIds, qMask, 4, 16, qTypes)["start_logits"]);
        int Arg(float[] l, int row) => Enumerable.Range(0, 16).Where(p => qMask[row * 16 + p] == 1).MaxBy(p => l[row * 16 + p]);
        Assert.True(Enumerable.Range(0, 4).Count(r => Arg(f, r) == Arg(q, r)) >= 3, "int8 start tokens differ from float in more than one row of four");
        var imported = OnnxImporter.Import(onnx);
        Assert.Equal(OnnxExportKind.QuestionAnswerer, imported.Kind);
        Assert.Equal(model.Parameters.Data, Assert.IsType<TransformerQuestionAnswerer>(imported.Model).Parameters.Data);
    }

    [Fact]
    public void LanguageModel_OnnxRuntimeMatchesManaged()
    {
        var model = new TransformerLanguageModel(Small(act: Activation.GeluTanh), 3);
        Weights.Scramble(model.Parameters, 6);
        var onnx = OnnxExporter.Export(model);
        foreach (var (b, t) in new[] { (1, 1), (2, 9), (3, 16) })
        {
            var (ids, mask) = RandomBatch(b, t, b + t);
            var expected = model.Forward(new TokenBatch(b, t, ids, mask)).AsSpan(0, b * t * 50).ToArray();
            Close(expected, RunOrt(onnx, ids, mask, b, t)["logits"], $"logits b={b} t={t}");
        }
    }
}

internal static class Weights
{
    /// <summary>Moves weights off their initial values (biases 0, norms 1) so every path matters.</summary>
    public static void Scramble(ParameterSet ps, int seed)
    {
        var rng = new Random(seed);
        for (int i = 0; i < ps.Count; i++) ps.Data[i] += (float)(rng.NextDouble() - 0.5) * 0.4f;
    }
}
