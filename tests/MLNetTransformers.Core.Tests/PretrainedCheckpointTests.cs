using System.Text.Json;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Core.Pretrained;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>
/// Hugging Face checkpoints of each family (Fixtures/pretrained, written by make_pretrained.py from reference modules
/// with Hugging Face's parameter names): the imported encoder's outputs and every parameter's gradient against PyTorch.
/// </summary>
public class PretrainedCheckpointTests
{
    internal static string Folder(string family) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", family);

    [Theory]
    [InlineData("bert", "BERT", 2, true)]
    [InlineData("distilbert", "DistilBERT", 0, false)]
    [InlineData("roberta", "RoBERTa", 1, true)]
    public void OutputsAndEveryGradientMatchPyTorch(string folder, string family, int types, bool pooler)
    {
        var loaded = PretrainedCheckpoint.LoadFolder(Folder(folder));
        var encoder = loaded.Encoder;
        var c = encoder.Config;
        Assert.Equal(family, loaded.Family.Name);
        Assert.Equal((types, pooler, NormPlacement.PostNorm, true), (c.TypeVocabSize, c.Pooler, c.Norm, c.EmbeddingNorm));
        Assert.Equal(folder == "roberta" ? 2 : 0, c.PositionOffset);
        Assert.Equal((0f, 0f), (c.Dropout, c.AttentionDropout)); // the fixtures' configs set both to 0 (parity needs no dropout)
        Assert.Equal(folder == "bert" ? ["cls.predictions.bias"] : Array.Empty<string>(), loaded.Unused);

        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder(folder), "expected.json")));
        var root = doc.RootElement;
        int[][] Rows(string name) => root.GetProperty(name).EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToArray();
        double[] Flat(string name) => root.GetProperty(name).EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var ids = Rows("input_ids");
        int b = ids.Length, t = ids[0].Length, d = c.ModelDim;
        var mask = Rows("attention_mask").SelectMany(r => r).ToArray();
        var batch = new TokenBatch(b, t, ids.SelectMany(r => r).ToArray(), mask) { TokenTypeIds = Rows("token_type_ids").SelectMany(r => r).ToArray() };
        var padding = mask.Select(m => m == 0).ToArray();

        encoder.Parameters.ZeroGrad();
        var hidden = encoder.Forward(batch.Ids, batch.TokenTypeIds, b, t, padding, training: true);
        var expected = Flat("last_hidden_state");
        for (int i = 0; i < b * t * d; i++)
            if (mask[i / d] == 1) Near(expected[i], hidden[i], 1e-4, $"last_hidden_state[{i}]");

        // The fixture's loss: Σ hidden·R over real tokens (+ Σ pooler_output·Q).
        var dhidden = Flat("R").Select(v => (float)v).ToArray();
        if (pooler)
        {
            var first = new float[b * d];
            for (int r = 0; r < b; r++) hidden.AsSpan(r * t * d, d).CopyTo(first.AsSpan(r * d));
            var pooled = encoder.Pooler!.Forward(first, b);
            var expectedPooled = Flat("pooler_output");
            for (int i = 0; i < b * d; i++) Near(expectedPooled[i], pooled[i], 1e-4, $"pooler_output[{i}]");
            var dfirst = encoder.Pooler.Backward(Flat("Q").Select(v => (float)v).ToArray());
            for (int r = 0; r < b; r++)
                for (int k = 0; k < d; k++) dhidden[r * t * d + k] += dfirst[r * d + k];
        }
        encoder.Backward(dhidden, b, t);

        var grads = root.GetProperty("grads");
        int compared = 0;
        foreach (var p in encoder.Parameters.Tensors)
        {
            var reference = loaded.Family.SourceNames(p.Name)!.SelectMany(n => grads.GetProperty(n).EnumerateArray().Select(v => v.GetDouble())).ToArray();
            Assert.Equal(p.Length, reference.Length);
            double scale = Math.Max(reference.Max(Math.Abs), 1e-6), worst = 0;
            var g = p.Grad;
            for (int i = 0; i < p.Length; i++) worst = Math.Max(worst, Math.Abs(g[i] - reference[i]));
            Assert.True(worst <= 1e-4 * scale, $"{folder}: gradient of {p.Name} differs from PyTorch by {worst:G3} (largest {scale:G3})");
            compared++;
        }
        Assert.Equal(encoder.Parameters.Tensors.Count, compared);
    }

    // BertForPreTraining (make_pretrained.py): masked-LM logits through the transform and the tied decoder, next-sentence
    // logits from the pooler, and every gradient of Σ logits·R + Σ nsp·S, against PyTorch.
    [Fact]
    public void MaskedLmAndNextSentenceHeads_MatchPyTorch_LogitsAndEveryGradient()
    {
        var model = PretrainedCheckpoint.LoadMaskedLanguageModelFolder(Folder("bert-mlm"));
        var c = model.Config;
        Assert.True(c.MlmTransform && c.NextSentenceHead && c.Pooler);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder("bert-mlm"), "expected.json")));
        var root = doc.RootElement;
        int[][] Rows(string name) => root.GetProperty(name).EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToArray();
        double[] Flat(string name) => root.GetProperty(name).EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var ids = Rows("input_ids");
        int b = ids.Length, t = ids[0].Length, v = c.VocabSize;
        var mask = Rows("attention_mask").SelectMany(r => r).ToArray();
        var batch = new TokenBatch(b, t, ids.SelectMany(r => r).ToArray(), mask) { TokenTypeIds = Rows("token_type_ids").SelectMany(r => r).ToArray() };

        var logits = model.Forward(batch).AsSpan(0, b * t * v).ToArray();
        var expected = Flat("mlm_logits");
        for (int i = 0; i < logits.Length; i++) if (mask[i / v] == 1) Near(expected[i], logits[i], 1e-4, $"mlm_logits[{i}]");
        var nsp = model.NextSentenceLogits(batch);
        var expectedNsp = Flat("nsp_logits");
        for (int i = 0; i < 2 * b; i++) Near(expectedNsp[i], nsp[i], 1e-4, $"nsp_logits[{i}]");

        // Σ logits·R + Σ nsp·S, differentiated by hand through the model's own backward passes.
        model.Parameters.ZeroGrad();
        var hidden = model.Encoder.Forward(batch.Ids, batch.TokenTypeIds, b, t, mask.Select(m => m == 0).ToArray(), training: true);
        int d = c.ModelDim;
        var first = new float[b * d];
        for (int r = 0; r < b; r++) hidden.AsSpan(r * t * d, d).CopyTo(first.AsSpan(r * d));
        model.NextSentence!.Forward(model.Encoder.Pooler!.Forward(first, b), b);
        var dfirst = model.Encoder.Pooler.Backward(model.NextSentence.Backward(Flat("S").Select(x => (float)x).ToArray(), b)).ToArray();
        var h = model.Transform!.Forward(hidden, b * t);
        model.Head.Forward(h, b * t);
        var dhidden = model.Transform.Backward(model.Head.Backward(Flat("R").Select(x => (float)x).ToArray(), b * t));
        for (int r = 0; r < b; r++) for (int k = 0; k < d; k++) dhidden[r * t * d + k] += dfirst[r * d + k];
        model.Encoder.Backward(dhidden, b, t);

        var grads = root.GetProperty("grads");
        var family = EncoderFamily.Bert;
        foreach (var p in model.Parameters.Tensors)
        {
            var names = family.SourceNames(p.Name)?.Select(n => "bert." + n) ?? [family.MaskedLanguageModelName(p.Name)!];
            var reference = names.SelectMany(n => grads.GetProperty(n).EnumerateArray().Select(x => x.GetDouble())).ToArray();
            Assert.Equal(p.Length, reference.Length);
            double scale = Math.Max(reference.Max(Math.Abs), 1e-6), worst = 0;
            for (int i = 0; i < p.Length; i++) worst = Math.Max(worst, Math.Abs(p.Grad[i] - reference[i]));
            Assert.True(worst <= 1e-4 * scale, $"gradient of {p.Name} differs from PyTorch by {worst:G3} (largest {scale:G3})");
        }
        // Without the head, fill-mask is refused naming what is missing.
        var e = Assert.Throws<InvalidDataException>(() => PretrainedCheckpoint.LoadMaskedLanguageModelFolder(Folder("distilbert")));
        Assert.Contains("vocab_projector.bias", e.Message);
    }

    private static void Near(double expected, float actual, double tolerance, string what) =>
        Assert.True(Math.Abs(expected - actual) <= tolerance * Math.Max(1, Math.Abs(expected)), $"{what}: {actual} vs PyTorch {expected}");
}
