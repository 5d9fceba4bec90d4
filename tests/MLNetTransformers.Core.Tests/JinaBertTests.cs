using System.Text.Json;
using System.Text.Json.Nodes;
using MLNetTransformers.Core.Kernels;
using MLNetTransformers.Core.Layers;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Core.Pretrained;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>
/// JinaBERT (jina-embeddings-v2): ALiBi's biases on the attention scores against their definition and finite
/// differences, its shape end to end (padded = packed = tiled), its config.json read and refused by name, and the
/// folders make_pretrained.py writes from a PyTorch module with its names (outputs, gradients and masked-LM logits:
/// PretrainedCheckpointTests; classifier: SequenceClassifierCheckpointTests; tensors written back: HuggingFaceExportTests).
/// </summary>
public class JinaBertTests
{
    private static string Folder(string name) => PretrainedCheckpointTests.Folder(name);

    // The slopes of 1..32 heads as the reference's _get_alibi_head_slopes gives them (powers of two and the interleaved rest).
    [Fact]
    public void AlibiSlopes_AreTheReferencesOwn()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder("jina"), "alibi_slopes.json")));
        var slopes = doc.RootElement.GetProperty("slopes").EnumerateArray().Select(r => r.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray()).ToArray();
        Assert.Equal(32, slopes.Length);
        for (int n = 1; n <= 32; n++) Assert.Equal(slopes[n - 1], AttentionLinearBiases.Slopes(n));
        Assert.Equal([0.25f, 0.0625f, 0.015625f, 0.00390625f, 0.5f, 0.125f], AttentionLinearBiases.Slopes(6)); // 4 of 2^(−2i), then every other of 8's
    }

    // With queries of zero the scores are the biases alone: query i weighs key j by exp(−m_h·|i − j|), normalized over the
    // real keys; in a second layer, padded and packed, every gradient against finite differences.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SelfAttention_WithAlibi(bool packed)
    {
        const int t = 9, d = 12, heads = 3;
        var ps = new ParameterSet();
        var alibi = new AttentionLinearBiases(heads);
        var first = new MultiHeadAttention(ps, "a.", d, heads) { Alibi = alibi };
        var second = new MultiHeadAttention(ps, "b.", d, heads) { Alibi = alibi };
        ps.Allocate(1);
        GradCheck.Scramble(ps, 2, 0.5f);
        GradCheck.CheckTwoSelfAttentionLayers(ps, first, second, t, d, 6, packed);

        var probe = new MultiHeadAttention(new ParameterSet(), "", d, heads) { Alibi = alibi, RecordWeights = true };
        probe.InProjWeight.Owner.Allocate(3);
        probe.InProjWeight.Value[..(d * d)].Clear(); // Wq = 0
        probe.InProjBias!.Value.Clear();
        var padding = Enumerable.Range(0, t).Select(j => j >= 7).ToArray();
        probe.Forward(GradCheck.Random(t * d, 4), 1, t, padding, inference: true);
        var w = probe.Weights.ToArray();
        var m = AttentionLinearBiases.Slopes(heads);
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < t; i++)
            {
                double sum = Enumerable.Range(0, 7).Sum(j => Math.Exp(-m[h] * Math.Abs(i - j)));
                for (int j = 0; j < t; j++)
                    Assert.Equal(j < 7 ? Math.Exp(-m[h] * Math.Abs(i - j)) / sum : 0.0, w[(h * t + i) * t + j], 5);
            }
    }

    internal static ClassifierConfig Config(int maxLength = 9) => new()
    {
        VocabSize = 64, VocabularyMultiple = 64, ModelDim = 12, Heads = 3, Layers = 2, FeedForwardDim = 8, MaxLength = maxLength, Dropout = 0f, NumClasses = 3,
        Norm = NormPlacement.PostNorm, EmbeddingNorm = true, TypeVocabSize = 2, PositionalEncoding = PositionalEncodingKind.None, Alibi = true,
        GatedFeedForward = true, ExpansionBias = false, Pooling = Pooling.Cls, Pooler = true, LayerNormEps = 1e-12f,
    };

    // JinaBERT's whole shape in a classifier: every parameter against finite differences, then packed = padded = tiled.
    [Fact]
    public void Classifier_OfJinaBertsShape_EndToEnd()
    {
        var model = new TransformerClassifier(Config(), 3);
        var names = model.Parameters.Tensors.Select(t => t.Name).ToHashSet();
        Assert.DoesNotContain("pos.weight", names);
        Assert.DoesNotContain("layers.0.linear1.bias", names);
        Assert.Contains("layers.0.linear2.bias", names);
        Assert.Contains("layers.0.self_attn.in_proj_bias", names);
        Assert.Same(model.Encoder.Alibi, model.Encoder.Blocks[1].SelfAttention.Alibi);
        EncoderRunsAgree.GradientsOnTwoPaddedSentences_ThenPackedPaddedAndTiled(model);
    }

    // Sequences of 300 and 280 (the tiled inference's key blocks of 256): the biases of far keys come from the right offsets.
    [Fact]
    public void Alibi_OnLongSequences_TiledEqualsMaterialized()
    {
        var encoder = new TransformerEncoder(Config(maxLength: 300).Shape(), 5);
        GradCheck.Scramble(encoder.Parameters, 6, 0.3f);
        EncoderRunsAgree.TiledAndMaterializedOnLongSequences(encoder);
    }

    [Fact]
    public void Decoders_RefuseAlibi_AndItCombinesWithNoOtherPositions()
    {
        var shape = Config().Shape() with { TypeVocabSize = 0, EmbeddingNorm = false, PositionalEncoding = PositionalEncodingKind.Learned, GatedFeedForward = false, ExpansionBias = true };
        var e = Assert.Throws<NotSupportedException>(() => new TransformerLanguageModel(shape, 1));
        Assert.Contains("Alibi", e.Message);
        Assert.Contains("ExpansionBias false", Assert.Throws<NotSupportedException>(() => new TransformerLanguageModel(shape with { Alibi = false, ExpansionBias = false }, 1)).Message);
        Assert.Contains("RotaryTheta", Assert.Throws<ArgumentException>(() => (Config() with { RotaryTheta = 10_000f }).Validate()).Message);
        Assert.Contains("RelativeAttentionBuckets", Assert.Throws<ArgumentException>(() => (Config() with { RelativeAttentionBuckets = 32 }).Validate()).Message);
        var causal = new MultiHeadAttention(new ParameterSet(), "", 12, 3, causal: true);
        Assert.Throws<NotSupportedException>(() => causal.Alibi = new AttentionLinearBiases(3));
        Assert.Throws<ArgumentException>(() => new MultiHeadAttention(new ParameterSet(), "", 12, 3).Alibi = new AttentionLinearBiases(4));
    }

    private static JsonObject FixtureConfig() => PretrainedCheckpointTests.FixtureConfig("jina");

    private static (EncoderFamily, TransformerConfig) Read(JsonObject config) => PretrainedCheckpointTests.ReadConfig(config);

    // model_type bert with position_embedding_type alibi is JinaBERT (its code keeps BERT's model_type); absolute is BERT.
    [Fact]
    public void Config_IsJinaBertByItsPositions()
    {
        var (family, c) = Read(FixtureConfig());
        Assert.Same(EncoderFamily.JinaBert, family);
        Assert.Equal((true, PositionalEncodingKind.None, true, false, Activation.Gelu, 64, 32), (c.Alibi, c.PositionalEncoding, c.GatedFeedForward, c.ExpansionBias, c.Activation, c.VocabularyMultiple, c.MaxLength));
        Assert.Same(EncoderFamily.JinaBert, EncoderFamily.For(c));
        var relu = FixtureConfig();
        relu["feed_forward_type"] = "reglu";
        relu["hidden_act"] = "relu";
        Assert.Equal(Activation.Relu, Read(relu).Item2.Activation);
        var bert = FixtureConfig();
        bert.Remove("position_embedding_type");
        Assert.Same(EncoderFamily.Bert, Read(bert).Item1);
        var odd = FixtureConfig();
        odd["vocab_size"] = 41; // not a multiple of 64: the vocabulary must match the rows
        Assert.Equal(1, Read(odd).Item2.VocabularyMultiple);
    }

    [Theory]
    [InlineData("feed_forward_type", "original", "feed_forward_type 'original' is not supported")]
    [InlineData("feed_forward_type", null, "feed_forward_type 'original' is not supported")]
    [InlineData("hidden_act", "relu", "hidden_act 'relu' with feed_forward_type 'geglu'")]
    [InlineData("position_embedding_type", "relative_key", "position_embedding_type 'relative_key' is not supported")]
    public void UnsupportedSettings_AreRefusedByName(string key, string? value, string message)
    {
        var config = FixtureConfig();
        if (value is null) config.Remove(key);
        else config[key] = value;
        var e = Assert.ThrowsAny<Exception>(() => Read(config));
        Assert.True(e is NotSupportedException or InvalidDataException, e.GetType().Name);
        Assert.Contains(message, e.Message);
    }

    // emb_pooler "mean" (the released configs') is how jina-embeddings-v2's encode pools: mean over the tokens, the
    // pooler left out; without it the checkpoint's pooler over [CLS], as BERT's.
    [Fact]
    public void EmbPoolerMean_PoolsSentenceVectorsByTheMean()
    {
        Assert.Equal((true, Pooling.Cls), (PretrainedCheckpoint.LoadFolder(Folder("jina")).Encoder.Config.Pooler, PretrainedCheckpoint.LoadFolder(Folder("jina")).Encoder.Config.Pooling));
        string dir = Directory.CreateTempSubdirectory("jina-mean").FullName;
        try
        {
            foreach (var f in Directory.GetFiles(Folder("jina"))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
            var config = FixtureConfig();
            config["emb_pooler"] = "mean";
            File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
            var loaded = PretrainedCheckpoint.LoadFolder(dir);
            Assert.Equal((false, Pooling.Mean), (loaded.Encoder.Config.Pooler, loaded.Encoder.Config.Pooling));
            Assert.Equal(["pooler.dense.bias", "pooler.dense.weight"], loaded.Unused);
            Assert.Equal((true, Pooling.Cls), (PretrainedCheckpoint.LoadFolder(dir, Pooling.Cls).Encoder.Config.Pooler, PretrainedCheckpoint.LoadFolder(dir, Pooling.Cls).Encoder.Config.Pooling));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // jina-embeddings-v2-base-code's variant normalizes queries and keys (attention.self.layer_norm_q / layer_norm_k),
    // which the engine does not: its checkpoint is refused by the tensor, not read without it.
    [Fact]
    public void QueryKeyNormedVariant_IsRefusedNamingTheTensor()
    {
        string dir = Directory.CreateTempSubdirectory("jina-qk").FullName;
        try
        {
            foreach (var f in Directory.GetFiles(Folder("jina"))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
            var tensors = new List<(string, int[], ReadOnlyMemory<float>)>();
            using (var source = SafeTensorsFile.Open(Path.Combine(Folder("jina"), "model.safetensors")))
                foreach (var (name, shape) in source.Shapes)
                {
                    var values = new float[shape.Aggregate(1, (a, d) => a * d)];
                    source.Read(name, values);
                    tensors.Add((name, shape.ToArray(), values));
                }
            tensors.Add(("encoder.layer.0.attention.self.layer_norm_q.weight", [24], new float[24]));
            SafeTensorsFile.Write(Path.Combine(dir, "model.safetensors"), tensors);
            var e = Assert.Throws<InvalidDataException>(() => PretrainedCheckpoint.LoadFolder(dir));
            Assert.Contains("'encoder.layer.0.attention.self.layer_norm_q.weight' [24], which no JinaBERT encoder parameter reads", e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // The written config.json says ALiBi and GeGLU and points transformers at the reference code (auto_map), as the
    // released configs do (the tensors: HuggingFaceExportTests).
    [Fact]
    public void WrittenConfig_SaysAlibiAndGeglu_AndNamesTheReferenceCode()
    {
        var config = HuggingFaceExportTests.WrittenConfig(PretrainedCheckpoint.LoadFolder(Folder("jina")).Encoder);
        Assert.Equal(("bert", "alibi", "geglu", "jinaai/jina-bert-implementation--modeling_bert.JinaBertModel"),
            (config["model_type"]!.GetValue<string>(), config["position_embedding_type"]!.GetValue<string>(), config["feed_forward_type"]!.GetValue<string>(), config["auto_map"]!["AutoModel"]!.GetValue<string>()));
    }
}
