using System.Text.Json;
using System.Text.Json.Nodes;
using MLNetTransformers.Core.Layers;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Core.Pretrained;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>
/// ModernBERT folders written by make_pretrained.py from a PyTorch module that follows modeling_modernbert.py with
/// Hugging Face's names: the encoder's hidden states and every gradient, ModernBertForSequenceClassification's logits
/// (mean pooling, head.dense + GELU + head.norm) and ModernBertForMaskedLM's, within 1e-4; written back bit for bit.
/// </summary>
public class ModernBertCheckpointTests
{
    private static string Folder(string name) => PretrainedCheckpointTests.Folder(name);

    [Fact]
    public void Config_ReadsModernBertsBlocks()
    {
        var loaded = PretrainedCheckpoint.LoadFolder(Folder("modernbert"));
        var c = loaded.Encoder.Config;
        Assert.Equal("ModernBERT", loaded.Family.Name);
        Assert.Empty(loaded.Unused);
        Assert.Equal((NormPlacement.PreNorm, false, true, false, Layers.PositionalEncodingKind.None, 0), (c.Norm, c.FirstBlockAttentionNorm, c.GatedFeedForward, c.Biases && c.NormBiases, c.PositionalEncoding, c.TypeVocabSize));
        Assert.Equal((160_000f, 10_000f, 2, 2), (c.RotaryTheta, c.LocalRotaryTheta, c.SlidingWindow, c.GlobalAttentionEvery));
        Assert.Equal([0, 2, 0], Enumerable.Range(0, 3).Select(c.WindowOf));
        Assert.Equal([160_000f, 10_000f, 160_000f], Enumerable.Range(0, 3).Select(c.RotaryThetaOf));
        Assert.Equal(Pooling.Mean, c.Pooling); // classifier_pooling
        Assert.Same(EncoderFamily.ModernBert, EncoderFamily.For(c));
    }

    // Σ hidden·R over real tokens: hidden states and the gradient of every parameter against PyTorch's, padded and packed.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void OutputsAndEveryGradientMatchPyTorch(bool packing)
    {
        var loaded = PretrainedCheckpoint.LoadFolder(Folder("modernbert"));
        var encoder = loaded.Encoder;
        encoder.Packing = packing;
        PretrainedCheckpointTests.AssertOutputsAndEveryGradient("modernbert", loaded, pooler: false);
        Assert.Equal(3 * 6 + 3 - 1, encoder.Parameters.Tensors.Count); // tok, emb norm, final norm; 6 per layer, layer 0 without its attention norm
    }

    // (written back bit for bit: SequenceClassifierCheckpointTests.WrittenBack_…)
    [Fact]
    public void SequenceClassifier_LogitsMatchPyTorch()
    {
        string folder = Folder("modernbert-classifier");
        var loaded = PretrainedCheckpoint.LoadSequenceClassifierFolder(folder);
        Assert.Equal("ModernBERT", loaded.Family.Name);
        Assert.Equal(["negative", "neutral", "positive"], loaded.Labels);
        var c = loaded.Model.Config;
        Assert.Equal((Pooling.Mean, true, true, PoolerActivation.Gelu), (c.Pooling, c.Pooler, c.PoolerNorm, c.PoolerActivation));
        var (ids, mask, root, doc) = PretrainedCheckpointTests.Expected("modernbert-classifier");
        using var _ = doc;
        var logits = loaded.Model.Forward(new TokenBatch(ids.Length, ids[0].Length, ids.SelectMany(r => r).ToArray(), mask));
        var expected = root.GetProperty("logits").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(logits[i] - expected[i]) <= 1e-4 * Math.Max(1, Math.Abs(expected[i])), $"logit {i}: {logits[i]} against PyTorch {expected[i]}");
    }

    [Fact]
    public void MaskedLmHead_LogitsMatchPyTorch()
    {
        var model = PretrainedCheckpoint.LoadMaskedLanguageModelFolder(Folder("modernbert-mlm"));
        Assert.True(model.Config.MlmTransform && !model.Config.Pooler);
        Assert.False(model.Parameters.Contains("mlm_head.transform.dense.bias") || model.Parameters.Contains("mlm_head.transform.norm.bias"));
        var (ids, mask, root, doc) = PretrainedCheckpointTests.Expected("modernbert-mlm");
        using var _ = doc;
        int b = ids.Length, t = ids[0].Length, v = model.Config.VocabSize;
        var logits = model.Forward(new TokenBatch(b, t, ids.SelectMany(r => r).ToArray(), mask)).AsSpan(0, b * t * v).ToArray();
        var expected = root.GetProperty("logits").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        for (int i = 0; i < logits.Length; i++)
            if (mask[i / v] == 1) Assert.True(Math.Abs(logits[i] - expected[i]) <= 1e-4 * Math.Max(1, Math.Abs(expected[i])), $"logits[{i}]: {logits[i]} against PyTorch {expected[i]}");
    }

    // The encoder written back as a ModernBertModel folder: PyTorch's tensors bit for bit, the same config read back.
    [Fact]
    public void Encoder_WrittenBack_ReadsBackToTheSameEncoder()
    {
        var loaded = PretrainedCheckpoint.LoadFolder(Folder("modernbert"));
        string dir = Directory.CreateTempSubdirectory("modernbert-encoder").FullName;
        try
        {
            Assert.Same(EncoderFamily.ModernBert, PretrainedCheckpoint.SaveFolder(loaded.Encoder, dir));
            using (var written = SafeTensorsFile.Open(Path.Combine(dir, "model.safetensors")))
            using (var source = SafeTensorsFile.Open(Path.Combine(Folder("modernbert"), "model.safetensors")))
                HuggingFaceExportTests.SameTensors(written, source, name => name);
            var back = PretrainedCheckpoint.LoadFolder(dir);
            Assert.Equal(loaded.Encoder.Parameters.Data, back.Encoder.Parameters.Data);
            Assert.Equal(loaded.Encoder.Config with { Pooler = false }, back.Encoder.Config with { Pooler = false });
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // Settings the engine does not run are refused by name, before anything is read.
    [Theory]
    [InlineData("mlp_bias", true, "mlp_bias true with attention_bias false")]
    [InlineData("classifier_activation", "silu", "classifier_activation 'silu' unlike hidden_activation 'gelu'")]
    [InlineData("classifier_pooling", "max", "classifier_pooling 'max' is not supported")]
    [InlineData("local_attention", 5, "local_attention is 5")]
    [InlineData("decoder_bias", false, "decoder_bias false is not supported")]
    public void UnsupportedSettings_AreRefusedByName(string key, object value, string message) =>
        PretrainedCheckpointTests.AssertSettingRefused(EncoderFamily.ModernBert, "modernbert", key, value, message);

    // transformers' newer configs: layer_types and rope_parameters instead of global_attn_every_n_layers and the two thetas.
    [Fact]
    public void NewerConfigKeys_ReadTheSameShape()
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Folder("modernbert"), "config.json")))!.AsObject();
        foreach (var key in new[] { "global_attn_every_n_layers", "global_rope_theta", "local_rope_theta" }) config.Remove(key);
        config["layer_types"] = new JsonArray("full_attention", "sliding_attention", "full_attention");
        config["rope_parameters"] = new JsonObject
        {
            ["full_attention"] = new JsonObject { ["rope_type"] = "default", ["rope_theta"] = 160000.0 },
            ["sliding_attention"] = new JsonObject { ["rope_type"] = "default", ["rope_theta"] = 10000.0 },
        };
        using var doc = JsonDocument.Parse(config.ToJsonString());
        var c = EncoderFamily.ModernBert.ReadConfig(doc.RootElement, "config.json");
        Assert.Equal((160_000f, 10_000f, 2, 2), (c.RotaryTheta, c.LocalRotaryTheta, c.SlidingWindow, c.GlobalAttentionEvery));
        config["layer_types"] = new JsonArray("full_attention", "full_attention", "sliding_attention");
        using var irregular = JsonDocument.Parse(config.ToJsonString());
        Assert.Contains("layer_types [full_attention, full_attention, sliding_attention]",
            Assert.Throws<NotSupportedException>(() => EncoderFamily.ModernBert.ReadConfig(irregular.RootElement, "config.json")).Message);
        config["layer_types"] = new JsonArray("full_attention", "sliding_attention", "full_attention");
        config["rope_parameters"]!["full_attention"]!["rope_type"] = "yarn";
        using var yarn = JsonDocument.Parse(config.ToJsonString());
        Assert.Contains("rope_type 'yarn'", Assert.Throws<NotSupportedException>(() => EncoderFamily.ModernBert.ReadConfig(yarn.RootElement, "config.json")).Message);
    }
}
