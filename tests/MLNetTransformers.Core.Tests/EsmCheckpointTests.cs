using MLNetTransformers.Core.Kernels;
using MLNetTransformers.Core.Layers;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Core.Pretrained;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>
/// ESM folders written by make_pretrained.py from a PyTorch module that follows modeling_esm.py with Hugging Face's
/// names: ESM-2's shape (rotary positions, pre-norm layers, a final emb_layer_norm_after, token dropout on inputs holding
/// &lt;mask&gt;) and ESM-1b's (learned positions from pad_token_id + 1, a LayerNorm on the embeddings): hidden states and
/// every gradient, EsmForSequenceClassification's and EsmForMaskedLM's logits within 1e-4; written back bit for bit.
/// </summary>
public class EsmCheckpointTests
{
    private static string Folder(string name) => PretrainedCheckpointTests.Folder(name);

    [Theory]
    [InlineData("esm", false)]
    [InlineData("esm1b", true)]
    public void Config_ReadsEsmsBlocks(string folder, bool esm1b)
    {
        var loaded = PretrainedCheckpoint.LoadFolder(Folder(folder));
        var c = loaded.Encoder.Config;
        Assert.Equal("ESM", loaded.Family.Name);
        // the contact head is a head (listed); the rotary inv_freq buffers and position_ids hold no weights (skipped)
        Assert.Equal(esm1b ? [] : ["esm.contact_head.regression.bias", "esm.contact_head.regression.weight"], loaded.Unused);
        Assert.Equal((NormPlacement.PreNorm, true, false, 0, 32, Activation.Gelu), (c.Norm, c.FirstBlockAttentionNorm, c.GatedFeedForward, c.TypeVocabSize, c.MaskTokenDropout, c.Activation));
        Assert.Equal(esm1b
            ? (true, PositionalEncodingKind.Learned, 0f, 2)
            : (false, PositionalEncodingKind.None, 10_000f, 0), (c.EmbeddingNorm, c.PositionalEncoding, c.RotaryTheta, c.PositionOffset));
        Assert.Equal(Pooling.Cls, c.Pooling); // its sequence classifier reads <cls>
        Assert.Same(EncoderFamily.Esm, EncoderFamily.For(c));
    }

    // Σ hidden·R over real tokens: hidden states and the gradient of every parameter against PyTorch's, padded and packed.
    // The inputs hold <mask> tokens (none, one and two of them), so the token-dropout scale differs by sequence.
    [Theory]
    [InlineData("esm", true)]
    [InlineData("esm", false)]
    [InlineData("esm1b", true)]
    [InlineData("esm1b", false)]
    public void OutputsAndEveryGradientMatchPyTorch(string folder, bool packing)
    {
        var loaded = PretrainedCheckpoint.LoadFolder(Folder(folder));
        var encoder = loaded.Encoder;
        encoder.Packing = packing;
        PretrainedCheckpointTests.AssertOutputsAndEveryGradient(folder, loaded, pooler: false);
        int d = encoder.Config.ModelDim;
        // the mask token's row of the word embeddings gets no gradient: its embedding is zeroed before anything reads it
        Assert.All(encoder.Parameters["tok.weight"].Grad.Slice(32 * d, d).ToArray(), g => Assert.Equal(0f, g));
    }

    // Without the token-dropout scale the same encoder gives other hidden states: the fixture's inputs exercise it.
    [Fact]
    public void TokenDropout_ChangesTheHiddenStates()
    {
        var loaded = PretrainedCheckpoint.LoadFolder(Folder("esm"));
        var (ids, mask, root, doc) = PretrainedCheckpointTests.Expected("esm");
        using var _ = doc;
        var plain = new TransformerEncoder(loaded.Encoder.Config with { MaskTokenDropout = -1 });
        loaded.Encoder.Parameters.Data.CopyTo(plain.Parameters.Data);
        int b = ids.Length, t = ids[0].Length, d = plain.Config.ModelDim;
        var hidden = plain.Forward(ids.SelectMany(r => r).ToArray(), null, b, t, mask.Select(m => m == 0).ToArray(), training: false);
        var expected = root.GetProperty("last_hidden_state").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        double worst = Enumerable.Range(0, b * t * d).Where(i => mask[i / d] == 1).Max(i => Math.Abs(hidden[i] - expected[i]));
        Assert.True(worst > 1e-2, $"without the scale the hidden states differ from PyTorch's by only {worst}");
    }

    // A small ESM-shaped classifier (token dropout with mask id 4, rotary positions, pre-norm): every parameter against
    // finite differences, on a padded batch (packed) whose sequences hold none, one and two mask tokens.
    [Fact]
    public void Classifier_WithTokenDropout_EndToEnd()
    {
        var config = new ClassifierConfig
        {
            VocabSize = 13, ModelDim = 8, Heads = 2, Layers = 2, FeedForwardDim = 12, MaxLength = 6, Dropout = 0f, NumClasses = 3,
            Norm = NormPlacement.PreNorm, PositionalEncoding = PositionalEncodingKind.None, RotaryTheta = 10_000f, MaskTokenDropout = 4,
            Pooling = Pooling.Cls, Pooler = true, PoolerActivation = PoolerActivation.Tanh,
        };
        var model = new TransformerClassifier(config, 3);
        GradCheck.Scramble(model.Parameters, 4, 0.2f);
        var batch = new TokenBatch(3, 5, new[] { 1, 4, 12, 3, 5, 1, 4, 4, 7, 2, 1, 9, 2, 0, 0 }, new[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0 }, new[] { 2, 0, 1 });
        GradCheck.CheckModel(model, batch);
        // every entry of the token embedding's rows (the scale acts there, and the mask token's row gets none)
        int d = config.ModelDim;
        var tok = model.Parameters["tok.weight"];
        GradCheck.Check("tok.weight", model.Parameters.Data, tok.Offset, tok.Length, tok.Grad.ToArray(), () => model.Loss(batch), samples: tok.Length);
        Assert.All(tok.Grad.Slice(4 * d, d).ToArray(), g => Assert.Equal(0f, g));
    }

    // EsmForSequenceClassification's logits and its folder written back: SequenceClassifierCheckpointTests (esm-classifier).
    // EsmForMaskedLM's logits: PretrainedCheckpointTests.MaskedLmHeads_… (esm-mlm); the encoder written back:
    // HuggingFaceExportTests (esm, esm1b).

    // Settings the engine does not run are refused by name, before anything is read.
    [Theory]
    [InlineData("is_folding_model", true, "is_folding_model true (ESMFold) is not supported")]
    [InlineData("position_embedding_type", "relative_key", "position_embedding_type 'relative_key'")]
    [InlineData("mask_token_id", 33, "mask_token_id is 33")]
    public void UnsupportedSettings_AreRefusedByName(string key, object value, string message) =>
        PretrainedCheckpointTests.AssertSettingRefused(EncoderFamily.Esm, "esm", key, value, message);
}
