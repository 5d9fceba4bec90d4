using System.Text.Json;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Core.Pretrained;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>
/// Hugging Face sequence classifiers (BertForSequenceClassification, RobertaForSequenceClassification,
/// DistilBertForSequenceClassification, ElectraForSequenceClassification, MPNetForSequenceClassification,
/// AlbertForSequenceClassification; written by
/// make_pretrained.py from reference modules with Hugging Face's names) read as ready classifiers: PyTorch's logits.
/// </summary>
public class SequenceClassifierCheckpointTests
{
    [Theory]
    [InlineData("bert-classifier", "BERT", new[] { "negative", "neutral", "positive" })]
    [InlineData("roberta-classifier", "RoBERTa", new[] { "NEGATIVE", "POSITIVE" })]
    [InlineData("distilbert-classifier", "DistilBERT", new[] { "NEGATIVE", "POSITIVE" })]
    [InlineData("electra-classifier", "ELECTRA", new[] { "negative", "neutral", "positive" })]
    [InlineData("roformer-classifier", "RoFormer", new[] { "negative", "neutral", "positive" })] // RoFormer's rotary positions; ELECTRA's GELU head
    [InlineData("mpnet-classifier", "MPNet", new[] { "NEGATIVE", "POSITIVE" })]
    [InlineData("albert-classifier", "ALBERT", new[] { "negative", "positive" })] // 4 blocks in 2 shared sets, the encoder's pooler
    [InlineData("deberta-classifier", "DeBERTa-v2", new[] { "negative", "neutral", "positive" })] // disentangled attention, ContextPooler + GELU
    [InlineData("deberta-v1-classifier", "DeBERTa", new[] { "NEGATIVE", "POSITIVE" })] // DeBERTa v1's in_proj, q_bias/v_bias, own position projections
    [InlineData("ernie-classifier", "ERNIE", new[] { "negative", "positive" })] // BERT's head under ernie., its task type folded into the positions
    [InlineData("nomic-classifier", "NomicBERT", new[] { "NEGATIVE", "POSITIVE" })] // rotary positions, SwiGLU, BERT's pooler with its bias
    [InlineData("jina-classifier", "JinaBERT", new[] { "NEGATIVE", "POSITIVE" })] // ALiBi, GeGLU, BERT's pooler (emb_pooler mean is for embeddings)
    [InlineData("mosaic-classifier", "MosaicBERT", new[] { "NEGATIVE", "POSITIVE" })] // Wqkv, ALiBi, GeGLU, BERT's pooler
    [InlineData("gte-classifier", "GTE", new[] { "negative", "neutral", "positive" })] // NTK-scaled rotary positions, the gate second, new.pooler
    [InlineData("esm-classifier", "ESM", new[] { "cytoplasm", "membrane" })] // pre-norm, rotary positions, token dropout; RoBERTa's head on <cls>
    [InlineData("megatron-classifier", "MegatronBERT", new[] { "negative", "positive" })] // pre-norm BERT, its pretrained pooler
    [InlineData("roberta-prelayernorm-classifier", "RoBERTa-PreLayerNorm", new[] { "NEGATIVE", "POSITIVE" })] // pre-norm RoBERTa, RoBERTa's head after the final norm
    public void Logits_MatchPyTorch(string fixture, string family, string[] labels)
    {
        string folder = PretrainedCheckpointTests.Folder(fixture);
        var loaded = PretrainedCheckpoint.LoadSequenceClassifierFolder(folder);
        Assert.Equal(family, loaded.Family.Name);
        Assert.Equal(labels, loaded.Labels);
        Assert.Equal((labels.Length, Pooling.Cls, true), (loaded.Model.Config.NumClasses, loaded.Model.Config.Pooling, loaded.Model.Config.Pooler));
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "expected.json")));
        int[][] Rows(string name) => doc.RootElement.GetProperty(name).EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToArray();
        var ids = Rows("input_ids");
        int b = ids.Length, t = ids[0].Length;
        var batch = new TokenBatch(b, t, ids.SelectMany(r => r).ToArray(), Rows("attention_mask").SelectMany(r => r).ToArray())
        { TokenTypeIds = Rows("token_type_ids").SelectMany(r => r).ToArray() };
        var logits = loaded.Model.Forward(batch);
        var expected = doc.RootElement.GetProperty("logits").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(logits[i] - expected[i]) <= 1e-4 * Math.Max(1, Math.Abs(expected[i])), $"logit {i}: {logits[i]} against PyTorch {expected[i]}");
    }

    // Which families' classifiers start a dense layer of their own on the first token (so that fine-tuning a checkpoint
    // without a pooler adds one, as Hugging Face does) and which use the encoder's pretrained pooler (BERT's, kept).
    [Fact]
    public void OnlyBertsClassifier_UsesThePretrainedPooler()
    {
        Assert.Equal(["data2vec-text", "DeBERTa", "DeBERTa-v2", "DistilBERT", "ELECTRA", "ESM", "ModernBERT", "MPNet", "RoBERTa", "RoBERTa-PreLayerNorm", "RoFormer", "XLM-RoBERTa-XL"], EncoderFamily.All.Where(f => f.ClassifierHasOwnDenseLayer).Select(f => f.Name).Order());
        Assert.False(EncoderFamily.Bert.ClassifierHasOwnDenseLayer);
    }

    [Fact]
    public void AFolderWithoutAClassifierHead_IsRefusedNamingWhatIsMissing()
    {
        var noLabels = Assert.Throws<InvalidDataException>(() => PretrainedCheckpoint.LoadSequenceClassifierFolder(PretrainedCheckpointTests.Folder("bert")));
        Assert.Contains("has no id2label", noLabels.Message);
        string dir = Directory.CreateTempSubdirectory("no-head").FullName;
        try
        {
            foreach (var f in Directory.GetFiles(PretrainedCheckpointTests.Folder("bert"))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
            File.WriteAllText(Path.Combine(dir, "config.json"), File.ReadAllText(Path.Combine(dir, "config.json")).TrimEnd().TrimEnd('}') + ", \"id2label\": {\"0\": \"no\", \"1\": \"yes\"}}");
            var e = Assert.Throws<InvalidDataException>(() => PretrainedCheckpoint.LoadSequenceClassifierFolder(dir));
            Assert.Contains("lacks the tensor 'classifier.weight' of a BERT sequence classifier (shape [2, 16])", e.Message);
            File.WriteAllText(Path.Combine(dir, "config.json"), File.ReadAllText(Path.Combine(dir, "config.json")).Replace("\"1\": \"yes\"", "\"2\": \"yes\""));
            Assert.Contains("does not number its 2 labels 0 to 1", Assert.Throws<InvalidDataException>(() => PretrainedCheckpoint.LoadSequenceClassifierFolder(dir)).Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // Written back as the family's *ForSequenceClassification folder: every tensor equals, bit for bit, the tensor of
    // the same name that PyTorch wrote, and the folder reads back to the same labels and logits.
    [Theory]
    [InlineData("bert-classifier")]
    [InlineData("roberta-classifier")]
    [InlineData("distilbert-classifier")]
    [InlineData("electra-classifier")]
    [InlineData("roformer-classifier")]
    [InlineData("mpnet-classifier")]
    [InlineData("albert-classifier")]
    [InlineData("deberta-classifier")]
    [InlineData("deberta-v1-classifier")] // in_proj written back head by head, no key bias tensor
    [InlineData("modernbert-classifier")] // mean pooling through head.dense + GELU + head.norm
    [InlineData("nomic-classifier")]
    [InlineData("jina-classifier")]
    [InlineData("gte-classifier")]
    [InlineData("esm-classifier")]
    [InlineData("megatron-classifier")]
    [InlineData("roberta-prelayernorm-classifier")]
    public void WrittenBack_TheTensorsArePyTorchsOwn_AndReadBackToTheSameClassifier(string fixture)
    {
        string folder = PretrainedCheckpointTests.Folder(fixture);
        var loaded = PretrainedCheckpoint.LoadSequenceClassifierFolder(folder);
        string dir = Directory.CreateTempSubdirectory("classifier-out").FullName;
        try
        {
            Assert.Equal(loaded.Family, PretrainedCheckpoint.SaveSequenceClassifierFolder(loaded.Model, loaded.Labels, dir));
            using (var written = SafeTensorsFile.Open(Path.Combine(dir, "model.safetensors")))
            using (var source = SafeTensorsFile.Open(Path.Combine(folder, "model.safetensors")))
            {
                HuggingFaceExportTests.SameTensors(written, source, name => name);
                Assert.Equal(source.Shapes.Keys.Count(k => !k.EndsWith("position_ids", StringComparison.Ordinal)), written.Shapes.Count);
            }
            var back = PretrainedCheckpoint.LoadSequenceClassifierFolder(dir);
            Assert.Equal(loaded.Labels, back.Labels);
            Assert.Equal(loaded.Model.Parameters.Data, back.Model.Parameters.Data);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void AClassifierWithoutTheFamilysHead_IsRefusedBeforeAnythingIsWritten()
    {
        var encoder = PretrainedCheckpoint.LoadFolder(PretrainedCheckpointTests.Folder("bert"), Pooling.Mean).Encoder;
        var meanPooled = new TransformerClassifier(new ClassifierConfig(encoder.Config.Shape()) { NumClasses = 2 });
        string target = Path.Combine(Path.GetTempPath(), "refused-" + Guid.NewGuid().ToString("N"));
        var e = Assert.Throws<NotSupportedException>(() => PretrainedCheckpoint.SaveSequenceClassifierFolder(meanPooled, ["no", "yes"], target));
        Assert.Contains("cannot be written as a BERT sequence classifier: it pools by Mean without a pooler", e.Message);
        Assert.False(Directory.Exists(target));
    }

    // The head's dropouts in training as each family's *ForSequenceClassification applies them: its config's keys, or
    // transformers' defaults where they are absent.
    [Theory]
    [InlineData("bert", "", 0f, 0f)] // hidden_dropout_prob 0 in the fixture
    [InlineData("bert", "\"hidden_dropout_prob\": 0.1", 0f, 0.1f)]
    [InlineData("bert", "\"hidden_dropout_prob\": 0.1, \"classifier_dropout\": 0.3", 0f, 0.3f)]
    [InlineData("roberta", "\"hidden_dropout_prob\": 0.1", 0.1f, 0.1f)] // dropout, classifier.dense, tanh, dropout, out_proj
    [InlineData("roberta", "\"classifier_dropout\": 0.25", 0.25f, 0.25f)]
    [InlineData("distilbert", "", 0f, 0.2f)] // seq_classif_dropout's default
    [InlineData("distilbert", "\"seq_classif_dropout\": 0.4", 0f, 0.4f)]
    [InlineData("albert", "", 0f, 0.1f)] // classifier_dropout_prob
    [InlineData("deberta", "\"pooler_dropout\": 0.15, \"cls_dropout\": 0.05", 0.15f, 0.05f)]
    [InlineData("deberta", "\"hidden_dropout_prob\": 0.1", 0f, 0.1f)] // pooler_dropout 0 in the fixture, cls_dropout absent: the hidden dropout
    [InlineData("modernbert", "\"classifier_dropout\": 0.2", 0f, 0.2f)]
    public void HeadDropouts_AreReadAsTransformersAppliesThem(string fixture, string settings, float pooler, float classifier)
    {
        string dir = Directory.CreateTempSubdirectory("head-dropout").FullName;
        try
        {
            var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(PretrainedCheckpointTests.Folder(fixture), "config.json")))!.AsObject();
            if (settings.Length > 0)
                foreach (var (key, value) in System.Text.Json.Nodes.JsonNode.Parse("{" + settings + "}")!.AsObject().ToList())
                    config[key] = value!.DeepClone();
            File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
            var (_, read) = PretrainedCheckpoint.ReadConfig(Path.Combine(dir, "config.json"));
            Assert.Equal((pooler, classifier), (read.PoolerDropout, read.ClassifierDropout));
            // A rate that is no probability is refused naming the config.
            config["classifier_dropout"] = 1.5;
            config["seq_classif_dropout"] = 1.5;
            config["classifier_dropout_prob"] = 1.5;
            config["cls_dropout"] = 1.5;
            File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
            var e = Assert.Throws<InvalidDataException>(() => PretrainedCheckpoint.ReadConfig(Path.Combine(dir, "config.json")));
            Assert.Contains("config.json", e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // The head's dropouts act in training only, and their masks reach the gradients: with one sequence, the output layer's
    // weight gets no gradient in the columns of the pooled vector's dropped elements, nor the pooler's outputs there.
    [Fact]
    public void ClassifierDropouts_ActInTrainingOnly_AndMaskTheGradients()
    {
        var shape = new ClassifierConfig
        {
            VocabSize = 30, ModelDim = 16, Heads = 2, Layers = 1, FeedForwardDim = 32, MaxLength = 8, Dropout = 0f, Pooler = true, Pooling = Pooling.Cls, NumClasses = 3,
        };
        var plain = new TransformerClassifier(shape, seed: 5);
        var dropped = new TransformerClassifier(shape with { PoolerDropout = 0.5f, ClassifierDropout = 0.5f }, seed: 5);
        Assert.Equal(plain.Parameters.Data, dropped.Parameters.Data);
        var batch = new TokenBatch(1, 6, [2, 7, 9, 11, 13, 3], labels: [1]);
        Assert.Equal(plain.Forward(batch).AsSpan(0, 3).ToArray(), dropped.Forward(batch).AsSpan(0, 3).ToArray());
        Assert.Equal(plain.Loss(batch), dropped.Loss(batch));
        // The pooled elements the output layer's weight gets no gradient for, and the pooler's outputs that get none back.
        (int[] Weight, int[] Pooler) zeroColumns(TransformerClassifier m)
        {
            m.Parameters.ZeroGrad();
            m.ForwardBackward(batch);
            var g = m.Parameters["head.weight"].Grad.ToArray();
            var pooler = m.Parameters.Tensors.Single(t => t.Name.EndsWith("pooler.dense.bias", StringComparison.Ordinal)).Grad.ToArray();
            return (Enumerable.Range(0, 16).Where(col => Enumerable.Range(0, 3).All(row => g[row * 16 + col] == 0f)).ToArray(),
                Enumerable.Range(0, 16).Where(i => pooler[i] == 0f).ToArray());
        }
        Assert.Equal((0, 0), (zeroColumns(plain).Weight.Length, zeroColumns(plain).Pooler.Length));
        var (weight, back) = zeroColumns(dropped);
        Assert.InRange(weight.Length, 1, 15); // about half of 16 dropped (P(none or all) ≈ 3e-5)
        Assert.Equal(weight, back); // the backward drops what the forward dropped
        Assert.NotEqual(plain.ForwardBackward(batch), dropped.ForwardBackward(batch));
        // Without a pooler (a head on mean-pooled sentence vectors, which no transformers head is) nothing is dropped.
        var meanPooled = shape with { Pooler = false, Pooling = Pooling.Mean };
        Assert.Equal(new TransformerClassifier(meanPooled, seed: 5).ForwardBackward(batch),
            new TransformerClassifier(meanPooled with { PoolerDropout = 0.5f, ClassifierDropout = 0.5f }, seed: 5).ForwardBackward(batch));
    }
}
