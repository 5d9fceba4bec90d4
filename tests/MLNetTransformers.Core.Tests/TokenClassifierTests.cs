using System.Text.Json;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Core.Pretrained;
using MLNetTransformers.Core.Training;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>The token classifier (a tag at every position) and Hugging Face's *ForTokenClassification folders.</summary>
public class TokenClassifierTests
{
    private static string Folder(string name) => PretrainedCheckpointTests.Folder(name);

    private static ClassifierConfig Tiny(float dropout = 0f) => new()
    {
        VocabSize = 13, ModelDim = 8, Heads = 2, Layers = 2, FeedForwardDim = 12, MaxLength = 6, Dropout = dropout, NumClasses = 4, TypeVocabSize = 2,
    };

    // Positions with a tag (-100 elsewhere: padding and pieces after a word's first), padded and with token types.
    private static TokenBatch Batch() =>
        new(3, 5, [1, 4, 12, 3, 5, 1, 4, 4, 7, 2, 1, 9, 2, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0],
            [-100, 2, 0, -100, 3, -100, 1, 1, 0, -100, -100, 3, -100, -100, -100]) { TokenTypeIds = [0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] };

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // ModernBERT's head (dense, GELU, norm) at every position before the output layer
    public void EveryGradient_MatchesFiniteDifferences(bool head)
    {
        var model = new TransformerTokenClassifier(head ? Tiny() with { Pooler = true, PoolerActivation = Layers.PoolerActivation.Gelu, PoolerNorm = true } : Tiny(), 3);
        GradCheck.Scramble(model.Parameters, 4, 0.2f);
        GradCheck.CheckModel(model, Batch());
    }

    [Fact]
    public void Loss_IsTheMeanCrossEntropyOverTaggedPositions_AndIgnoresTheRest()
    {
        var model = new TransformerTokenClassifier(Tiny(), 5);
        var batch = Batch();
        var logits = model.Forward(batch).AsSpan(0, 15 * 4).ToArray();
        double sum = 0; int tagged = 0;
        for (int i = 0; i < 15; i++)
        {
            int t = batch.Labels![i];
            if (t < 0) continue;
            var row = logits.AsSpan(i * 4, 4).ToArray().Select(v => (double)v).ToArray();
            double max = row.Max();
            sum += Math.Log(row.Sum(v => Math.Exp(v - max))) + max - row[t];
            tagged++;
        }
        Assert.Equal(sum / tagged, model.Loss(batch), 4);
        // A tag changed where the target is -100 changes nothing; one changed where it counts does.
        float before = model.Loss(batch);
        batch.Ids[3] = 7; // position 3 of row 0 has no target but is attended to: the loss moves through attention only
        Assert.NotEqual(before, model.Loss(batch));
    }

    [Fact]
    public void Checkpoint_RoundTripsAsATokenClassifier()
    {
        var model = new TransformerTokenClassifier(Tiny(0.1f), 7);
        GradCheck.Scramble(model.Parameters, 8, 0.2f);
        var read = Checkpoint.FromBytes(Checkpoint.ToBytes(model), "memory", withOptimizer: false).Model;
        var copy = Assert.IsType<TransformerTokenClassifier>(read);
        Assert.Equal(ModelKind.TokenClassifier, copy.Kind);
        Assert.Equal(4, copy.Outputs);
        Assert.Equal(0.1f, copy.Config.Dropout);
        Assert.Equal(model.Forward(Batch()).AsSpan(0, 60).ToArray(), copy.Forward(Batch()).AsSpan(0, 60).ToArray());
    }

    [Fact]
    public void SequenceClassifierSettings_AreRefused()
    {
        Assert.Contains("at least 2 tags", Assert.Throws<ArgumentException>(() => new TransformerTokenClassifier(Tiny() with { NumClasses = 1 })).Message);
        Assert.Contains("NGramBuckets and Members", Assert.Throws<ArgumentException>(() => new TransformerTokenClassifier(Tiny() with { Members = 2 })).Message);
    }

    // BertForTokenClassification (bert. prefix, old gamma/beta names, F32), RobertaForTokenClassification (BF16 weights) and
    // DistilBertForTokenClassification (F16 weights, its own names, no token types) and ModernBertForTokenClassification
    // (its head, dense + GELU + norm, at every position before the output layer):
    // logits at every real position, the loss over tagged positions and its gradient for every parameter, against PyTorch.
    [Theory]
    [InlineData("bert-token-classifier", "BERT", true)]
    [InlineData("bert-token-classifier", "BERT", false)]
    [InlineData("roberta-token-classifier", "RoBERTa", true)]
    [InlineData("distilbert-token-classifier", "DistilBERT", true)]
    [InlineData("modernbert-token-classifier", "ModernBERT", true)]
    [InlineData("modernbert-token-classifier", "ModernBERT", false)]
    public void HuggingFaceTokenClassifiers_LogitsLossAndEveryGradientMatchPyTorch(string folder, string family, bool packing)
    {
        var loaded = PretrainedCheckpoint.LoadTokenClassifierFolder(Folder(folder));
        Assert.Equal(family, loaded.Family.Name);
        Assert.Equal(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"], loaded.Labels);
        var model = loaded.Model;
        Assert.Equal(family == "ModernBERT", model.Config.Pooler);
        model.Encoder.Packing = packing;
        var (ids, mask, root, doc) = PretrainedCheckpointTests.Expected(folder);
        using var _ = doc;
        int b = ids.Length, t = ids[0].Length, n = 5;
        var labels = root.GetProperty("labels").EnumerateArray().SelectMany(r => r.EnumerateArray().Select(v => v.GetInt32())).ToArray();
        var batch = new TokenBatch(b, t, ids.SelectMany(r => r).ToArray(), mask, labels)
        {
            TokenTypeIds = root.GetProperty("token_type_ids").EnumerateArray().SelectMany(r => r.EnumerateArray().Select(v => v.GetInt32())).ToArray(),
        };
        var expected = root.GetProperty("logits").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var logits = model.Forward(batch);
        for (int i = 0; i < b * t * n; i++)
            if (mask[i / n] == 1) PretrainedCheckpointTests.Near(expected[i], logits[i], 1e-4, $"logits[{i}]");
        model.Parameters.ZeroGrad();
        float loss = model.ForwardBackward(batch); // dropout 0.1 in the config, but training draws masks: compare in a model without them
        Assert.True(float.IsFinite(loss));
        var eval = new TransformerTokenClassifier(model.Config with { Dropout = 0f }).WithWeightsOf(model);
        eval.Encoder.Packing = packing;
        eval.Parameters.ZeroGrad();
        PretrainedCheckpointTests.Near(root.GetProperty("loss").GetDouble(), eval.ForwardBackward(batch), 1e-4, "loss");
        // The reference names its gradients by the modules' names (gamma/beta are the checkpoint's old spelling of weight/bias).
        var head = loaded.Family.SequenceClassifier!;
        PretrainedCheckpointTests.AssertEveryGradient(folder, eval.Parameters, loaded.Family, eval.Config, root.GetProperty("grads"), p =>
            p.StartsWith("head.", StringComparison.Ordinal) ? ["classifier." + p[5..]]
            : p.StartsWith("pooler.dense.", StringComparison.Ordinal) ? [head.Dense + p[13..]]
            : p.StartsWith("pooler.norm.", StringComparison.Ordinal) ? [head.Norm + p[12..]]
            : loaded.Family.SourceNames(p)!.Select(s => s.Replace("LayerNorm.gamma", "LayerNorm.weight").Replace("LayerNorm.beta", "LayerNorm.bias")).ToArray());
    }

    [Theory]
    [InlineData("bert-token-classifier", "BertForTokenClassification")]
    [InlineData("modernbert-token-classifier", "ModernBertForTokenClassification")]
    public void WrittenBack_ReadsBackToTheSameWeightsAndTags(string fixture, string architecture)
    {
        var loaded = PretrainedCheckpoint.LoadTokenClassifierFolder(Folder(fixture));
        string dir = Directory.CreateTempSubdirectory("token-classifier").FullName;
        try
        {
            Assert.Same(loaded.Family, PretrainedCheckpoint.SaveTokenClassifierFolder(loaded.Model, loaded.Labels, dir));
            using (var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "config.json"))))
                Assert.Equal(architecture, config.RootElement.GetProperty("architectures")[0].GetString());
            using (var source = SafeTensorsFile.Open(Path.Combine(Folder(fixture), "model.safetensors")))
            using (var written = SafeTensorsFile.Open(Path.Combine(dir, "model.safetensors")))
                Assert.Equal(source.Shapes.Keys.Where(k => k.StartsWith("head.", StringComparison.Ordinal) || k.StartsWith("classifier.", StringComparison.Ordinal)).Order(),
                    written.Shapes.Keys.Where(k => k.StartsWith("head.", StringComparison.Ordinal) || k.StartsWith("classifier.", StringComparison.Ordinal)).Order());
            var read = PretrainedCheckpoint.LoadTokenClassifierFolder(dir);
            Assert.Equal(loaded.Labels, read.Labels);
            Assert.Equal(loaded.Model.Parameters.Data, read.Model.Parameters.Data);
            Assert.Throws<ArgumentException>(() => PretrainedCheckpoint.SaveTokenClassifierFolder(loaded.Model, ["O", "X"], dir));
        }
        finally { Directory.Delete(dir, true); }
    }

    // A sequence classifier's folder is not a token classifier's, whichever reader it is given.
    [Fact]
    public void OtherTaskFolders_AreRefusedNamingTheProblem()
    {
        var e = Assert.Throws<InvalidDataException>(() => PretrainedCheckpoint.LoadTokenClassifierFolder(Folder("bert-classifier")));
        Assert.Contains("BertForSequenceClassification", e.Message);
        Assert.Contains("not a token classifier", e.Message);
        Assert.ThrowsAny<Exception>(() => PretrainedCheckpoint.LoadSequenceClassifierFolder(Folder("bert-token-classifier")));
        var bare = Assert.Throws<InvalidDataException>(() => PretrainedCheckpoint.LoadTokenClassifierFolder(Folder("bert")));
        Assert.Contains("not a token classifier", bare.Message);
    }
}
