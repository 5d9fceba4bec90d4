using System.Text.Json;
using System.Text.Json.Nodes;
using MLNetTransformers.Core.Kernels;
using MLNetTransformers.Core.Pretrained;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>
/// NomicBERT's config.json (a GPT2Config): what nomic-embed's checkpoints use is read (outputs and gradients:
/// PretrainedCheckpointTests, the "nomic" fixture), everything else refused by name.
/// </summary>
public class NomicBertConfigTests
{
    private static JsonObject Fixture() => JsonNode.Parse(File.ReadAllText(Path.Combine(PretrainedCheckpointTests.Folder("nomic"), "config.json")))!.AsObject();

    private static Models.TransformerConfig Read(JsonObject config)
    {
        using var doc = JsonDocument.Parse(config.ToJsonString());
        return EncoderFamily.NomicBert.ReadConfig(doc.RootElement, "config.json");
    }

    [Theory]
    [InlineData("prenorm", true, "prenorm true")]
    [InlineData("rotary_emb_interleaved", true, "rotary_emb_interleaved true")]
    [InlineData("rotary_scaling_factor", 2.0, "rotary_scaling_factor 2")]
    [InlineData("mlp_fc1_bias", true, "mlp_fc1_bias true with qkv_proj_bias false")]
    [InlineData("activation_function", "gelu", "activation_function 'gelu' is not supported")]
    [InlineData("rotary_emb_fraction", 0.5, "rotary_emb_fraction 0.5")]
    [InlineData("causal", true, "causal true")]
    public void UnsupportedSettings_AreRefusedByName(string key, object value, string message) =>
        PretrainedCheckpointTests.AssertSettingRefused(EncoderFamily.NomicBert, "nomic", key, value, message);

    // BERT's key names read as well as GPT-2's; a vocabulary not yet a multiple is rounded up as NomicBertModel does, and
    // the gated block's width to a multiple of 256 as its MLP does; GeGLU; no rotation means learned absolute positions.
    [Fact]
    public void OtherSpellings_AndSettings_ReadAsNomicBertModelBuildsThem()
    {
        var config = Fixture();
        foreach (var (gpt2, bert) in new[] { ("n_embd", "hidden_size"), ("n_head", "num_attention_heads"), ("n_layer", "num_hidden_layers"), ("n_inner", "intermediate_size") })
        {
            config[bert] = config[gpt2]!.DeepClone();
            config.Remove(gpt2);
        }
        config["vocab_size"] = 41;
        config["activation_function"] = "geglu";
        var c = Read(config);
        Assert.Equal((16, 2, 2, 256, 48, Activation.Gelu), (c.ModelDim, c.Heads, c.Layers, c.FeedForwardDim, c.VocabSize, c.Activation));
        config["intermediate_size"] = 250; // NomciBertGatedMLP rounds its width up to a multiple of 256
        Assert.Equal(256, Read(config).FeedForwardDim);
        config["rotary_emb_fraction"] = 0.0;
        c = Read(config);
        Assert.Equal((0f, Layers.PositionalEncodingKind.Learned), (c.RotaryTheta, c.PositionalEncoding));
    }
}
