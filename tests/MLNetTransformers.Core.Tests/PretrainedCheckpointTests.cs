using System.Text.Json.Nodes;
using System.Text.Json;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Core.Pretrained;
using MLNetTransformers.Core.Training;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>
/// Hugging Face checkpoints of each family (Fixtures/pretrained, written by make_pretrained.py from reference modules
/// with Hugging Face's parameter names): the imported encoder's outputs and every parameter's gradient against PyTorch.
/// </summary>
public class PretrainedCheckpointTests
{
    internal static string Folder(string family) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", family);

    /// <summary>A fixture's config.json, to edit.</summary>
    internal static JsonObject FixtureConfig(string fixture) => JsonNode.Parse(File.ReadAllText(Path.Combine(Folder(fixture), "config.json")))!.AsObject();

    /// <summary>The family and engine config <see cref="PretrainedCheckpoint.ReadConfig"/> makes of <paramref name="config"/> written as a file.</summary>
    internal static (EncoderFamily Family, TransformerConfig Config) ReadConfig(JsonObject config)
    {
        string dir = Directory.CreateTempSubdirectory("config").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
            return PretrainedCheckpoint.ReadConfig(Path.Combine(dir, "config.json"));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Theory]
    [InlineData("bert", "BERT", 2, true)]
    [InlineData("distilbert", "DistilBERT", 0, false)]
    [InlineData("roberta", "RoBERTa", 1, true)]
    [InlineData("electra", "ELECTRA", 2, false)]
    [InlineData("mpnet", "MPNet", 0, true)]
    [InlineData("albert", "ALBERT", 2, true)]
    [InlineData("deberta", "DeBERTa-v2", 0, false)]
    [InlineData("deberta-conv", "DeBERTa-v2", 0, false)] // deberta-v2-xlarge's convolution after the first layer (kernel 3, GELU)
    [InlineData("deberta-v1", "DeBERTa", 0, false)] // one in_proj read head by head, q_bias and v_bias, positions projected by pos_proj and pos_q_proj
    [InlineData("ernie", "ERNIE", 2, true)] // BERT's names; its task type 0, added to every token, read into the position table
    [InlineData("data2vec-text", "data2vec-text", 1, true)] // RoBERTa's architecture and names under data2vec_text.
    [InlineData("nomic", "NomicBERT", 2, true)] // rotary positions, SwiGLU, bias-free projections, an embedding padded to 48 rows
    [InlineData("jina", "JinaBERT", 2, true)] // ALiBi over 6 heads, GeGLU with a bias-free gated layer, an embedding padded to 64 rows
    [InlineData("mosaic", "MosaicBERT", 2, true)] // JinaBERT's architecture with one packed Wqkv, position_embedding_type "absolute" ignored
    [InlineData("gte", "GTE", 0, false)] // NTK-scaled rotary positions, the gate in the second half, no token types
    [InlineData("roformer", "RoFormer", 2, false)] // RoFormer's rotary layout (pairs 2i, 2i + 1), projected embeddings, its sinusoidal table checked
    public void OutputsAndEveryGradientMatchPyTorch(string folder, string family, int types, bool pooler)
    {
        var loaded = PretrainedCheckpoint.LoadFolder(Folder(folder));
        var encoder = loaded.Encoder;
        var c = encoder.Config;
        Assert.Equal(family, loaded.Family.Name);
        Assert.Equal((types, pooler, NormPlacement.PostNorm, true), (c.TypeVocabSize, c.Pooler, c.Norm, c.EmbeddingNorm));
        Assert.Equal(folder is "roberta" or "mpnet" or "data2vec-text" ? 2 : 0, c.PositionOffset);
        Assert.Equal(folder == "mpnet" ? 32 : 0, c.RelativeAttentionBuckets);
        Assert.Equal((0f, 0f), (c.Dropout, c.AttentionDropout)); // the fixtures' configs set both to 0 (parity needs no dropout)
        Assert.Equal(folder switch
        {
            "bert" => ["cls.predictions.bias"],
            "electra" => ["discriminator_predictions.dense.bias", "discriminator_predictions.dense.weight", "discriminator_predictions.dense_prediction.bias", "discriminator_predictions.dense_prediction.weight"],
            "deberta" => ["embeddings.position_embeddings.weight"], // stored by DeBERTa-v3's checkpoints, ignored as transformers ignores it
            "albert" => ["predictions.LayerNorm.bias", "predictions.LayerNorm.weight", "predictions.bias", "predictions.dense.bias", "predictions.dense.weight",
                "sop_classifier.classifier.bias", "sop_classifier.classifier.weight"],
            _ => Array.Empty<string>(),
        }, loaded.Unused);
        // ELECTRA's and ALBERT's tables and their LayerNorm are 8 wide, projected to the blocks' 16 (embeddings_project,
        // embedding_hidden_mapping_in); ALBERT's three blocks run one set of weights.
        Assert.Equal(folder is "electra" or "albert" or "roformer" ? (8, true) : (c.ModelDim, false), (c.EmbeddingWidth, c.ProjectsEmbeddings));
        Assert.Equal(folder == "albert" ? (3, 1, true) : (2, 0, false), (c.Layers, c.LayerGroups, c.SharesLayers));
        // DeBERTa's positions are relative only: a table of 2 × 6 rows, log buckets out to 12, no absolute table; DeBERTa
        // v1's a table of 2 × 4 rows, not normalized, projected by each layer's own weights, no key bias.
        Assert.Equal(folder switch
        {
            "deberta" or "deberta-conv" => (6, 12, Layers.PositionalEncodingKind.None), "deberta-v1" => (4, 0, Layers.PositionalEncodingKind.None),
            _ => (0, 0, folder is "nomic" or "jina" or "mosaic" or "gte" or "roformer" ? Layers.PositionalEncodingKind.None : Layers.PositionalEncodingKind.Learned),
        }, (c.DisentangledSpan, c.DisentangledMaxDistance, c.PositionalEncoding));
        Assert.Equal(folder == "deberta-v1" ? (true, false, false) : (false, true, true), (c.DisentangledOwnProjections, c.DisentangledNorm, c.AttentionKeyBias));
        // NomicBERT's queries and keys rotate (base 1000), its SwiGLU blocks gate, its projections have no biases, its norms do.
        // JinaBERT's attention has ALiBi's biases, its GeGLU blocks gate, their gated layer has no bias.
        Assert.Equal(folder switch
        {
            "nomic" => (1000f, true, false, true, 48, 16, false, true), "jina" or "mosaic" => (0f, true, true, true, 64, 64, true, false), "gte" => (1000f, true, true, true, 64, 64, false, false),
            "roformer" => (10_000f, false, true, true, c.VocabSize, 1, false, true),
            _ => (0f, false, true, true, c.VocabSize, 1, false, true),
        },
            (c.RotaryTheta, c.GatedFeedForward, c.Biases, c.NormBiases, c.VocabSize, c.VocabularyMultiple, c.Alibi, c.ExpansionBias));
        Assert.Equal(folder == "roformer", c.RotaryInterleaved);
        Assert.Equal(folder == "deberta-conv" ? (3, Layers.PoolerActivation.Gelu) : (0, Layers.PoolerActivation.Tanh), (c.ConvKernel, c.ConvActivation));

        AssertOutputsAndEveryGradient(folder, loaded, pooler);
    }

    // BERT's pre-norm kin: MegatronBERT (BERT's tensors without the embeddings' LayerNorm, attention.ln and ln before the
    // sublayers, a final encoder.ln; its pretraining heads listed), RoBERTa-PreLayerNorm (RoBERTa's embeddings with their
    // LayerNorm, attention.LayerNorm and intermediate.LayerNorm before the sublayers, a final LayerNorm on the model) and
    // XLM-RoBERTa-XL (RoBERTa's positions without the embeddings' LayerNorm, attention.self_attn_layer_norm and LayerNorm
    // before the sublayers, a final encoder.LayerNorm); all with BERT's pooler after the final norm. Packed and padded.
    [Theory]
    [InlineData("megatron", "MegatronBERT", false, 0, 2, true)]
    [InlineData("megatron", "MegatronBERT", false, 0, 2, false)]
    [InlineData("roberta-prelayernorm", "RoBERTa-PreLayerNorm", true, 2, 1, true)]
    [InlineData("roberta-prelayernorm", "RoBERTa-PreLayerNorm", true, 2, 1, false)]
    [InlineData("xlmr-xl", "XLM-RoBERTa-XL", false, 2, 1, true)]
    [InlineData("xlmr-xl", "XLM-RoBERTa-XL", false, 2, 1, false)]
    public void PreNormBertKin_OutputsAndEveryGradientMatchPyTorch(string folder, string family, bool embeddingNorm, int offset, int types, bool packing)
    {
        var loaded = PretrainedCheckpoint.LoadFolder(Folder(folder));
        var c = loaded.Encoder.Config;
        Assert.Equal(family, loaded.Family.Name);
        Assert.Equal((NormPlacement.PreNorm, embeddingNorm, types, offset, true, Layers.PositionalEncodingKind.Learned), (c.Norm, c.EmbeddingNorm, c.TypeVocabSize, c.PositionOffset, c.Pooler, c.PositionalEncoding));
        Assert.Equal(folder == "megatron" ? ["cls.predictions.bias", "cls.seq_relationship.bias", "cls.seq_relationship.weight"] : [], loaded.Unused);
        Assert.Same(loaded.Family, EncoderFamily.For(c));
        loaded.Encoder.Packing = packing;
        AssertOutputsAndEveryGradient(folder, loaded, pooler: true);
    }

    /// <summary>
    /// Asserts that <paramref name="family"/> refuses <paramref name="fixture"/>'s config.json with <paramref name="key"/> set to
    /// <paramref name="value"/>, naming the setting (<paramref name="message"/>), as unsupported or invalid.
    /// </summary>
    internal static void AssertSettingRefused(EncoderFamily family, string fixture, string key, object value, string message)
    {
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(Folder(fixture), "config.json")))!.AsObject();
        config[key] = System.Text.Json.Nodes.JsonValue.Create(value);
        using var doc = JsonDocument.Parse(config.ToJsonString());
        var e = Assert.ThrowsAny<Exception>(() => family.ReadConfig(doc.RootElement, "config.json"));
        Assert.True(e is NotSupportedException or InvalidDataException, e.GetType().Name);
        Assert.Contains(message, e.Message);
    }

    /// <summary>The batch of a fixture's expected.json (ids by row, the attention mask flat) and its root, which lives as long as the document.</summary>
    internal static (int[][] Ids, int[] Mask, JsonElement Root, JsonDocument Doc) Expected(string fixture)
    {
        var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder(fixture), "expected.json")));
        var root = doc.RootElement;
        var ids = root.GetProperty("input_ids").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToArray();
        var mask = root.GetProperty("attention_mask").EnumerateArray().SelectMany(r => r.EnumerateArray().Select(v => v.GetInt32())).ToArray();
        return (ids, mask, root, doc);
    }

    /// <summary>
    /// Runs <paramref name="loaded"/>'s encoder (training mode, packed or not as its <c>Packing</c> says) on the batch of
    /// <paramref name="folder"/>'s expected.json and asserts PyTorch's hidden states on real tokens (and, with
    /// <paramref name="pooler"/>, its pooler output) within 1e-4, and the gradient of the fixture's loss, Σ hidden·R over
    /// real tokens (+ Σ pooler_output·Q), for every parameter within 1e-4 of the largest.
    /// </summary>
    internal static void AssertOutputsAndEveryGradient(string folder, LoadedEncoder loaded, bool pooler)
    {
        var encoder = loaded.Encoder;
        var c = encoder.Config;
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
        AssertEveryGradient(folder, encoder.Parameters, loaded.Family, c, root.GetProperty("grads"), loaded.Family.SourceNames);
    }

    /// <summary>
    /// Asserts every parameter's gradient in <paramref name="parameters"/> within 1e-4 of the largest of PyTorch's
    /// <paramref name="grads"/>, read by the checkpoint names <paramref name="sources"/> gives each (their gradients stacked,
    /// 0 for a part the family has no tensor for, in the engine's layout), or of <paramref name="floor"/> when that is larger
    /// (a gradient that is zero but for rounding).
    /// </summary>
    internal static void AssertEveryGradient(string folder, Layers.ParameterSet parameters, EncoderFamily family, TransformerConfig config, JsonElement grads, Func<string, string[]?> sources, double floor = 1e-6)
    {
        int compared = 0;
        foreach (var p in parameters.Tensors)
        {
            var parts = sources(p.Name)!;
            var stacked = parts.SelectMany(n => n.Length == 0 ? new float[p.Length / parts.Length] : grads.GetProperty(n).EnumerateArray().Select(v => (float)v.GetDouble())).ToArray();
            family.Repack?.Invoke(p.Name, stacked, config, true);
            Assert.Equal(p.Length, stacked.Length);
            double scale = Math.Max(stacked.Max(v => Math.Abs((double)v)), floor), worst = 0;
            var g = p.Grad;
            for (int i = 0; i < p.Length; i++) worst = Math.Max(worst, Math.Abs(g[i] - (double)stacked[i]));
            Assert.True(worst <= 1e-4 * scale, $"{folder}: gradient of {p.Name} differs from PyTorch by {worst:G3} (largest {scale:G3})");
            compared++;
        }
        Assert.Equal(parameters.Tensors.Count, compared);
    }

    // ERNIE with use_task_id: the task-type table's row 0 is folded into the position table (the same sum), so the encoder
    // is BERT's and is written back as a BERT folder of the same hidden states; without the table (use_task_id false) the
    // positions are the checkpoint's own.
    [Fact]
    public void Ernie_FoldsItsTaskTypeIntoThePositions_AndIsWrittenBackAsBert()
    {
        var loaded = PretrainedCheckpoint.LoadFolder(Folder("ernie"));
        Assert.Equal("ERNIE", loaded.Family.Name);
        Assert.Empty(loaded.Unused);
        string dir = Directory.CreateTempSubdirectory("ernie-written").FullName;
        try
        {
            Assert.Same(EncoderFamily.Bert, PretrainedCheckpoint.SaveFolder(loaded.Encoder, dir));
            File.Copy(Path.Combine(Folder("ernie"), "vocab.txt"), Path.Combine(dir, "vocab.txt"));
            var read = PretrainedCheckpoint.LoadFolder(dir);
            Assert.Equal(loaded.Encoder.Parameters.Data, read.Encoder.Parameters.Data);
            using (var source = SafeTensorsFile.Open(Path.Combine(Folder("ernie"), "model.safetensors")))
            {
                var positions = new float[source.Shapes["embeddings.position_embeddings.weight"].Aggregate(1, (a, b) => a * b)];
                var task = new float[source.Shapes["embeddings.task_type_embeddings.weight"].Aggregate(1, (a, b) => a * b)];
                source.Read("embeddings.position_embeddings.weight", positions);
                source.Read("embeddings.task_type_embeddings.weight", task);
                int d = loaded.Encoder.Config.ModelDim;
                var folded = loaded.Encoder.Parameters["pos.weight"].Value;
                for (int i = 0; i < positions.Length; i++) Assert.Equal(positions[i] + task[i % d], folded[i]);
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // MPNet's (T5's) bucket of every offset in −700..700, as PyTorch computes it in float32 (make_pretrained.py).
    [Fact]
    public void RelativePositionBuckets_AreMPNetsOwn()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder("mpnet"), "relative_buckets.json")));
        var offsets = doc.RootElement.GetProperty("offsets").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var buckets = doc.RootElement.GetProperty("buckets").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        Assert.Equal(1401, offsets.Length);
        Assert.Equal(buckets, offsets.Select(o => Layers.RelativePositionBias.Bucket(o, 32)));
    }

    // DeBERTa's log bucket of every distance in −700..700, as PyTorch computes it in float32 (make_pretrained.py), for
    // DeBERTa-v3's 256 buckets out to 512 and the fixture's 6 out to 12.
    [Fact]
    public void DisentangledLogBuckets_AreDebertasOwn()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder("deberta"), "log_buckets.json")));
        int[] Ints(string name) => doc.RootElement.GetProperty(name).EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var offsets = Ints("offsets");
        var set = new Layers.ParameterSet();
        var v3 = new Layers.DisentangledPositions(set, "a.", 256, 512, 4, 1e-7f);
        var small = new Layers.DisentangledPositions(set, "b.", 6, 12, 4, 1e-7f);
        Assert.Equal(Ints("v3"), offsets.Select(v3.Bucket));
        Assert.Equal(Ints("fixture"), offsets.Select(small.Bucket));
    }

    // MPNetForMaskedLM (make_pretrained.py): RoBERTa's lm_head over MPNet's encoder, the decoder tied to the word
    // embeddings; ElectraForMaskedLM, a generator, and AlbertForMaskedLM: their heads narrow the hidden states to the
    // embeddings' 8 before the tied decoder.
    [Theory]
    [InlineData("mpnet-mlm")]
    [InlineData("electra-generator")]
    [InlineData("roformer-mlm")] // BERT's cls.predictions narrowing to the 8-wide embeddings, over RoFormer's rotary blocks
    [InlineData("albert-mlm")]
    [InlineData("deberta-mlm")]
    [InlineData("deberta-v1-mlm")] // BERT's cls.predictions over DeBERTa v1's blocks
    [InlineData("jina-mlm")] // BERT's cls.predictions over ALiBi blocks
    [InlineData("mosaic-mlm")] // the same with the decoder's bias as cls.predictions.decoder.bias, over Wqkv blocks
    [InlineData("gte-mlm")] // lm_head: dense, GELU, norm, the tied decoder and lm_head.decoder.bias, over NTK-scaled rotary blocks
    [InlineData("esm-mlm")] // RoBERTa's lm_head over ESM's pre-norm rotary blocks, on inputs whose masks bring ESM's token dropout
    [InlineData("megatron-mlm")] // BERT's cls.predictions over MegatronBERT's pre-norm blocks and final encoder.ln
    [InlineData("roberta-prelayernorm-mlm")] // RoBERTa's lm_head over RoBERTa-PreLayerNorm's pre-norm blocks and final LayerNorm
    public void MaskedLmHeads_LogitsMatchPyTorch(string fixture)
    {
        var model = PretrainedCheckpoint.LoadMaskedLanguageModelFolder(Folder(fixture));
        Assert.True(model.Config.MlmTransform && !model.Config.Pooler);
        Assert.Equal(fixture switch { "mpnet-mlm" => (32, 16), "deberta-mlm" or "deberta-v1-mlm" or "gte-mlm" or "esm-mlm" or "megatron-mlm" or "roberta-prelayernorm-mlm" => (0, 16), "jina-mlm" or "mosaic-mlm" => (0, 24), _ => (0, 8) }, (model.Config.RelativeAttentionBuckets, model.Config.EmbeddingWidth));
        Assert.Equal(fixture == "albert-mlm" ? 1 : 0, model.Config.LayerGroups);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder(fixture), "expected.json")));
        var ids = doc.RootElement.GetProperty("input_ids").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToArray();
        var mask = doc.RootElement.GetProperty("attention_mask").EnumerateArray().SelectMany(r => r.EnumerateArray().Select(v => v.GetInt32())).ToArray();
        var expected = doc.RootElement.GetProperty("logits").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        int b = ids.Length, t = ids[0].Length, v = model.Config.VocabSize;
        var logits = model.Forward(new TokenBatch(b, t, ids.SelectMany(r => r).ToArray(), mask)).AsSpan(0, b * t * v).ToArray();
        for (int i = 0; i < logits.Length; i++) if (mask[i / v] == 1) Near(expected[i], logits[i], 1e-4, $"logits[{i}]");
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

    // BertForSequenceClassification (the pooler's output, a 2-class head, mean cross-entropy) fine-tuned for four steps
    // by make_pretrained.py with the library's recipe (warmup then linear decay, clipping at norm 1, AdamW decaying only
    // the Linear weights): the engine's Trainer, from the same weights on the same batches, gives each step's loss and
    // every weight after the last step as PyTorch does.
    [Fact]
    public void FineTuningSteps_MatchPyTorch_EachLossAndEveryWeightAfterwards()
    {
        var loaded = PretrainedCheckpoint.LoadFolder(Folder("bert"));
        var init = loaded.Encoder;
        var model = new TransformerClassifier(new ClassifierConfig(init.Config.Shape()) { NumClasses = 2 });
        Assert.True(model.Config.Pooler && model.Config.Pooling == Pooling.Cls && model.Config.Dropout == 0f);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder("bert"), "finetune.json")));
        var root = doc.RootElement;
        static float[] Floats(JsonElement e) => e.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();
        static int[] Ints(JsonElement e) => e.EnumerateArray().SelectMany(r => r.ValueKind == JsonValueKind.Array ? r.EnumerateArray().ToArray() : [r]).Select(v => v.GetInt32()).ToArray();
        foreach (var t in model.Parameters.Tensors)
            if (t.Name.StartsWith("head.", StringComparison.Ordinal)) Floats(root.GetProperty("head").GetProperty(t.Name[5..])).CopyTo(t.Value);
            else init.Parameters[init.Prefix + t.Name].Value.CopyTo(t.Value);

        var trainer = new Trainer(model, new TrainerOptions
        {
            LearningRate = root.GetProperty("learning_rate").GetSingle(), WarmupSteps = root.GetProperty("warmup_steps").GetInt32(),
            TotalSteps = root.GetProperty("total_steps").GetInt32(), Decay = DecayKind.Linear, MinLearningRateRatio = 0f,
            MaxGradNorm = root.GetProperty("max_grad_norm").GetSingle(), AdamW = new AdamWOptions { WeightDecay = root.GetProperty("weight_decay").GetSingle() },
        });
        var losses = Floats(root.GetProperty("losses"));
        int step = 0;
        foreach (var b in root.GetProperty("batches").EnumerateArray())
        {
            var ids = Ints(b.GetProperty("input_ids"));
            int rows = b.GetProperty("input_ids").GetArrayLength();
            var batch = new TokenBatch(rows, ids.Length / rows, ids, Ints(b.GetProperty("attention_mask")), Ints(b.GetProperty("labels")))
            { TokenTypeIds = Ints(b.GetProperty("token_type_ids")) };
            Near(losses[step], trainer.TrainStep(batch).Loss, 1e-4, $"loss of step {step}");
            step++;
        }
        Assert.Equal(4, step);

        // float32 against PyTorch's float64 leaves every weight within 1e-6 here (a wrong schedule, clipping or decay group
        // moves weights by about lr), except the key bias: a constant added to every key's score leaves softmax unchanged,
        // so its gradient is zero but for rounding, which Adam (dividing by the gradient's own size) turns into steps of
        // up to lr in either direction, in PyTorch as in the engine, that change no output. It is left out.
        var final = root.GetProperty("final");
        float lr = trainer.Schedule.Peak;
        int d = init.Config.ModelDim;
        foreach (var p in model.Parameters.Tensors)
        {
            var names = p.Name.StartsWith("head.", StringComparison.Ordinal) ? ["classifier." + p.Name[5..]] : loaded.Family.SourceNames(p.Name)!;
            var reference = names.SelectMany(n => Floats(final.GetProperty(n))).ToArray();
            Assert.Equal(p.Length, reference.Length);
            bool keyBias = p.Name.EndsWith("in_proj_bias", StringComparison.Ordinal);
            var v = p.Value;
            double worst = 0;
            for (int i = 0; i < p.Length; i++)
                if (!(keyBias && i >= d && i < 2 * d)) worst = Math.Max(worst, Math.Abs(v[i] - reference[i]));
            Assert.True(worst <= 1e-3 * lr, $"{p.Name} after four steps differs from PyTorch by {worst:G3} (learning rate {lr})");
        }
    }

    internal static void Near(double expected, float actual, double tolerance, string what) =>
        Assert.True(Math.Abs(expected - actual) <= tolerance * Math.Max(1, Math.Abs(expected)), $"{what}: {actual} vs PyTorch {expected}");

    // A weight that is not a number, or far beyond any trained encoder's, is a damaged file: refused naming the tensor,
    // the value and where it is, rather than loaded into arithmetic no two runtimes agree on.
    [Theory]
    [InlineData(float.NaN, "NaN")]
    [InlineData(7.7e18f, "7.7E+18")]
    [InlineData(float.NegativeInfinity, "-Infinity")]
    public void AWeightBeyondAnyTrainedEncoders_IsRefusedNamingTheTensor(float value, string shown)
    {
        string dir = Directory.CreateTempSubdirectory("implausible").FullName;
        try
        {
            foreach (var f in Directory.GetFiles(Folder("bert"))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
            string path = Path.Combine(dir, "model.safetensors");
            var bytes = File.ReadAllBytes(path);
            long headerLength = BitConverter.ToInt64(bytes, 0);
            using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
            const string name = "bert.encoder.layer.1.intermediate.dense.weight";
            long start = header.RootElement.GetProperty(name).GetProperty("data_offsets")[0].GetInt64();
            BitConverter.GetBytes(value).CopyTo(bytes, 8 + headerLength + start + 4 * 5); // its sixth value
            File.WriteAllBytes(path, bytes);
            var e = Assert.Throws<InvalidDataException>(() => PretrainedCheckpoint.LoadFolder(dir));
            Assert.True(e.Message.Contains($"tensor '{name}' holds {shown} at index 5", StringComparison.Ordinal), e.Message);
            Assert.Contains("damaged", e.Message);
            Assert.Contains(path, e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
