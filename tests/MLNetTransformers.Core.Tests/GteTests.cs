using System.Text.Json.Nodes;
using MLNetTransformers.Core.Layers;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Core.Pretrained;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>
/// GTE v1.5 (model_type new): NTK-scaled rotary positions against their definition, its shape end to end (padded =
/// packed = tiled), its config.json read and refused by name, and the folders make_pretrained.py writes from a PyTorch
/// module with its names (outputs, gradients and masked-LM logits: PretrainedCheckpointTests; classifier:
/// SequenceClassifierCheckpointTests; tensors written back: HuggingFaceExportTests).
/// </summary>
public class GteTests
{
    private static string Folder(string name) => PretrainedCheckpointTests.Folder(name);

    // GTE's NTKScalingRotaryEmbedding at factor s: the frequencies of base·s, each divided by s^(2/hd); factor 1 leaves
    // the plain ones (bit for bit).
    [Fact]
    public void NtkScaling_DividesTheFrequenciesOfTheScaledBase()
    {
        var plain = new RotaryPositions(64, 500_000f);
        var scaled = new RotaryPositions(64, 500_000f, 2f);
        Assert.Equal(plain.InverseFrequencies.ToArray(), new RotaryPositions(64, 500_000f, 1f).InverseFrequencies.ToArray());
        for (int i = 0; i < 32; i++)
        {
            double expected = 1.0 / Math.Pow(1_000_000, 2.0 * i / 64) / Math.Pow(2, 2.0 / 64);
            Assert.True(Math.Abs(scaled.InverseFrequencies[i] - expected) <= 1e-6 * expected, $"frequency {i}: {scaled.InverseFrequencies[i]} against {expected}");
        }
        Assert.True(scaled.InverseFrequencies[31] < plain.InverseFrequencies[31]); // the slowest turn slower: longer reach
        Assert.Throws<ArgumentException>(() => new RotaryPositions(64, 10_000f, 0.5f));
    }

    internal static ClassifierConfig Config(int maxLength = 9) => new()
    {
        VocabSize = 64, VocabularyMultiple = 64, ModelDim = 8, Heads = 2, Layers = 2, FeedForwardDim = 6, MaxLength = maxLength, Dropout = 0f, NumClasses = 3,
        Norm = NormPlacement.PostNorm, EmbeddingNorm = true, PositionalEncoding = PositionalEncodingKind.None, RotaryTheta = 1000f, RotaryScaling = 2f,
        GatedFeedForward = true, ExpansionBias = false, ActivatedHalfFirst = false, Pooling = Pooling.Cls, Pooler = true, LayerNormEps = 1e-12f,
    };

    // GTE's whole shape in a classifier: every parameter against finite differences, then packed = padded = tiled; and on
    // sequences of 300 the tiled inference gives the materialized attention's states.
    [Fact]
    public void Classifier_OfGtesShape_EndToEnd()
    {
        var model = new TransformerClassifier(Config(), 3);
        Assert.Equal(2f, model.Encoder.Blocks[1].SelfAttention.Rotary!.NtkFactor);
        Assert.False(model.Encoder.Blocks[0].FeedForward.ActivatedHalfFirst);
        EncoderRunsAgree.GradientsOnTwoPaddedSentences_ThenPackedPaddedAndTiled(model);
        var encoder = new TransformerEncoder(Config(maxLength: 300).Shape(), 5);
        GradCheck.Scramble(encoder.Parameters, 6, 0.3f);
        EncoderRunsAgree.TiledAndMaterializedOnLongSequences(encoder);
    }

    [Fact]
    public void Decoders_RefuseGtesBlocks_AndScalingNeedsRotaryPositions()
    {
        var shape = Config().Shape() with { EmbeddingNorm = false, PositionalEncoding = PositionalEncodingKind.Learned, GatedFeedForward = false, ExpansionBias = true, RotaryTheta = 0f, RotaryScaling = 1f };
        Assert.Contains("ActivatedHalfFirst false", Assert.Throws<NotSupportedException>(() => new TransformerLanguageModel(shape, 1)).Message);
        Assert.Contains("RotaryScaling", Assert.Throws<ArgumentException>(() => (Config() with { RotaryTheta = 0f, PositionalEncoding = PositionalEncodingKind.Learned }).Validate()).Message);
        Assert.Contains("RotaryScaling", Assert.Throws<ArgumentException>(() => (Config() with { RotaryScaling = 0.5f }).Validate()).Message);
    }

    private static JsonObject FixtureConfig() => PretrainedCheckpointTests.FixtureConfig("gte");

    private static (EncoderFamily, TransformerConfig) Read(JsonObject config) => PretrainedCheckpointTests.ReadConfig(config);

    [Fact]
    public void Config_ReadsGtesBlocks()
    {
        var (family, c) = Read(FixtureConfig());
        Assert.Same(EncoderFamily.Gte, family);
        Assert.Equal((1000f, 2f, false, false, true, 0, PositionalEncodingKind.None), (c.RotaryTheta, c.RotaryScaling, c.ActivatedHalfFirst, c.ExpansionBias, c.Biases, c.TypeVocabSize, c.PositionalEncoding));
        Assert.Same(EncoderFamily.Gte, EncoderFamily.For(c));
        Assert.Equal(Pooling.Cls, c.Pooling); // without modules.json, the first token's state, as GTE's model cards pool
        var plain = FixtureConfig();
        plain.Remove("rope_scaling");
        Assert.Equal(1f, Read(plain).Item2.RotaryScaling);
        Assert.Same(EncoderFamily.Gte, EncoderFamily.For(Read(plain).Item2)); // the gate's half says GTE without the scaling
        var absolute = FixtureConfig();
        absolute["position_embedding_type"] = "absolute";
        Assert.Equal((0f, 1f, PositionalEncodingKind.Learned), (Read(absolute).Item2.RotaryTheta, Read(absolute).Item2.RotaryScaling, Read(absolute).Item2.PositionalEncoding));
    }

    [Theory]
    [InlineData("layer_norm_type", "\"rms_norm\"", "layer_norm_type 'rms_norm' is not supported")]
    [InlineData("logn_attention_scale", "true", "logn_attention_scale true is not supported")]
    [InlineData("pack_qkv", "false", "pack_qkv false")]
    [InlineData("position_embedding_type", "\"alibi\"", "position_embedding_type 'alibi'")]
    [InlineData("rope_scaling", """{"type": "linear", "factor": 2.0}""", "rope_scaling type 'linear'")]
    [InlineData("rope_scaling", """{"type": "ntk", "factor": 2.0, "mixed_b": 0.5}""", "mixed_b")]
    [InlineData("rope_scaling", """{"type": "ntk", "factor": 0.5}""", "rope_scaling's factor is 0.5")]
    [InlineData("rope_scaling", """[2]""", "'rope_scaling' is [2], not an object")]
    public void UnsupportedSettings_AreRefusedByName(string key, string json, string message)
    {
        var config = FixtureConfig();
        config[key] = JsonNode.Parse(json);
        var e = Assert.ThrowsAny<Exception>(() => Read(config));
        Assert.True(e is NotSupportedException or InvalidDataException, e.GetType().Name);
        Assert.Contains(message, e.Message);
    }

    // The written config.json says ntk scaling and points transformers at the reference code (auto_map), as GTE's released
    // configs do (the tensors: HuggingFaceExportTests).
    [Fact]
    public void WrittenConfig_SaysNtkScaling_AndNamesTheReferenceCode()
    {
        var config = HuggingFaceExportTests.WrittenConfig(PretrainedCheckpoint.LoadFolder(Folder("gte")).Encoder);
        Assert.Equal(("new", "ntk", 2.0, "Alibaba-NLP/new-impl--modeling.NewModel"),
            (config["model_type"]!.GetValue<string>(), config["rope_scaling"]!["type"]!.GetValue<string>(), config["rope_scaling"]!["factor"]!.GetValue<double>(), config["auto_map"]!["AutoModel"]!.GetValue<string>()));
    }
}
