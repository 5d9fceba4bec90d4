using System.Text.Json;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Core.Pretrained;
using MLNetTransformers.Core.Training;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>The extractive question answerer (a start and an end logit at every position) and Hugging Face's *ForQuestionAnswering folders.</summary>
public class QuestionAnswererTests
{
    private static string Folder(string name) => PretrainedCheckpointTests.Folder(name);

    private static ClassifierConfig Tiny(float dropout = 0f) => new()
    {
        VocabSize = 13, ModelDim = 8, Heads = 2, Layers = 2, FeedForwardDim = 12, MaxLength = 6, Dropout = dropout, NumClasses = 2, TypeVocabSize = 2,
    };

    // Three question-context sequences, the last padded; answers [start, end] per sequence, one past the sequence (ignored).
    private static TokenBatch Batch(int[]? positions = null) =>
        new(3, 5, [1, 4, 2, 3, 5, 1, 4, 2, 7, 2, 1, 9, 2, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0], positions ?? [3, 4, 3, 3, 5, 5])
        { TokenTypeIds = [0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0] };

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // ModernBERT's head (dense, GELU, norm) at every position before the output layer
    public void EveryGradient_MatchesFiniteDifferences(bool head)
    {
        var model = new TransformerQuestionAnswerer(head ? Tiny() with { Pooler = true, PoolerActivation = Layers.PoolerActivation.Gelu, PoolerNorm = true } : Tiny(), 3);
        GradCheck.Scramble(model.Parameters, 4, 0.2f);
        // The last norm's bias (the pre-norm stack's final norm, or the head's) moves every position's logits alike, which the
        // softmax over positions ignores: zero.
        string last = head ? "pooler.norm.bias" : "lnf.bias";
        GradCheck.CheckModel(model, Batch([3, 4, 2, 3, 1, 2]), zero: last);
        GradCheck.CheckModel(model, Batch(), zero: last);
    }

    [Fact]
    public void Loss_AveragesTheStartAndEndCrossEntropiesOverRealPositions()
    {
        var model = new TransformerQuestionAnswerer(Tiny(), 5);
        GradCheck.Scramble(model.Parameters, 6, 0.3f);
        var batch = Batch([3, 4, 2, 3, 1, 2]);
        var logits = model.Forward(batch).AsSpan(0, 15 * 2).ToArray();
        double Ce(int row, int output, int target, int real)
        {
            var x = Enumerable.Range(0, real).Select(p => (double)logits[(row * 5 + p) * 2 + output]).ToArray();
            double max = x.Max();
            return Math.Log(x.Sum(v => Math.Exp(v - max))) + max - x[target];
        }
        double start = (Ce(0, 0, 3, 5) + Ce(1, 0, 2, 5) + Ce(2, 0, 1, 3)) / 3, end = (Ce(0, 1, 4, 5) + Ce(1, 1, 3, 5) + Ce(2, 1, 2, 3)) / 3;
        Assert.Equal((start + end) / 2, model.Loss(batch), 4);
        // The same sequences padded further give the same loss: padding is outside the softmax.
        var wider = new TokenBatch(3, 6, [1, 4, 2, 3, 5, 0, 1, 4, 2, 7, 2, 0, 1, 9, 2, 0, 0, 0], [1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0], [3, 4, 2, 3, 1, 2])
        { TokenTypeIds = [0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0] };
        Assert.Equal(model.Loss(batch), model.Loss(wider), 5);
        // An answer past the sequence is ignored; one on padding is refused by name.
        Assert.Equal((Ce(0, 0, 3, 5) + Ce(1, 0, 2, 5)) / 2 / 2 + (Ce(0, 1, 4, 5) + Ce(1, 1, 3, 5)) / 2 / 2, model.Loss(Batch([3, 4, 2, 3, 5, 5])), 4);
        var e = Assert.Throws<ArgumentException>(() => model.Loss(Batch([3, 4, 2, 3, 1, 4])));
        Assert.Contains("Sequence 2's answer end is position 4, which is padding", e.Message);
        Assert.Contains("start and end positions", Assert.Throws<ArgumentException>(() => model.Loss(new TokenBatch(1, 5, [1, 4, 2, 3, 5]))).Message);
    }

    // The reader's dropout before its head acts in training only: evaluation does not depend on its rate, and training's
    // loss is evaluation's without it but not with it.
    [Fact]
    public void ReaderDropout_ActsInTrainingOnly()
    {
        var plain = new TransformerQuestionAnswerer(Tiny(), 3);
        var dropped = new TransformerQuestionAnswerer(Tiny() with { ClassifierDropout = 0.5f }, 3);
        Assert.Equal(plain.Parameters.Data, dropped.Parameters.Data);
        Assert.Equal(plain.Loss(Batch()), dropped.Loss(Batch()));
        Assert.Equal(plain.Loss(Batch()), plain.ForwardBackward(Batch()), 5); // no dropout: training's loss is evaluation's
        Assert.NotEqual(dropped.Loss(Batch()), dropped.ForwardBackward(Batch()));
    }

    // The dropout before a tagger's or a reader's output layer, as each family's transformers class applies it.
    [Theory]
    [InlineData("bert", "\"hidden_dropout_prob\": 0.1, \"classifier_dropout\": 0.3", 0.3f, 0f)] // BertForTokenClassification: classifier_dropout; BertForQuestionAnswering: none
    [InlineData("roberta", "\"hidden_dropout_prob\": 0.1", 0.1f, 0f)]
    [InlineData("distilbert", "\"dropout\": 0.1, \"seq_classif_dropout\": 0.2", 0.1f, 0.1f)] // dropout (not seq_classif_dropout); qa_dropout's default 0.1
    [InlineData("distilbert", "\"dropout\": 0.1, \"qa_dropout\": 0.25", 0.1f, 0.25f)] // DistilBertForQuestionAnswering: qa_dropout
    [InlineData("distilbert", "\"dropout\": 0.3", 0.3f, 0.1f)]
    [InlineData("albert", "\"classifier_dropout_prob\": 0.2", 0.2f, 0f)]
    [InlineData("deberta", "\"hidden_dropout_prob\": 0.1, \"cls_dropout\": 0.05", 0.1f, 0f)] // DebertaV2ForTokenClassification: the hidden dropout
    [InlineData("modernbert", "\"classifier_dropout\": 0.2", 0.2f, 0.2f)]
    public void TaggerAndReaderDropouts_AreTheirTransformersClasses(string fixture, string settings, float tagger, float reader)
    {
        string dir = Directory.CreateTempSubdirectory("position-dropout").FullName;
        try
        {
            var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(Folder(fixture), "config.json")))!.AsObject();
            foreach (var (key, value) in System.Text.Json.Nodes.JsonNode.Parse("{" + settings + "}")!.AsObject().ToList()) config[key] = value!.DeepClone();
            File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
            var (family, read) = PretrainedCheckpoint.ReadConfig(Path.Combine(dir, "config.json"));
            Assert.Equal((tagger, reader), (family.PositionHeadDropout(read, ModelKind.TokenClassifier), family.PositionHeadDropout(read, ModelKind.QuestionAnswerer)));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Checkpoint_RoundTripsAsAQuestionAnswerer()
    {
        var model = new TransformerQuestionAnswerer(Tiny(0.1f), 7);
        GradCheck.Scramble(model.Parameters, 8, 0.2f);
        var copy = Assert.IsType<TransformerQuestionAnswerer>(Checkpoint.FromBytes(Checkpoint.ToBytes(model), "memory", withOptimizer: false).Model);
        Assert.Equal(ModelKind.QuestionAnswerer, copy.Kind);
        Assert.Equal(0.1f, copy.Config.Dropout);
        Assert.Equal(model.Forward(Batch()).AsSpan(0, 30).ToArray(), copy.Forward(Batch()).AsSpan(0, 30).ToArray());
    }

    [Fact]
    public void OtherShapes_AreRefused()
    {
        Assert.Contains("2 outputs per position", Assert.Throws<ArgumentException>(() => new TransformerQuestionAnswerer(Tiny() with { NumClasses = 3 })).Message);
        Assert.Contains("NGramBuckets and Members", Assert.Throws<ArgumentException>(() => new TransformerQuestionAnswerer(Tiny() with { Members = 2 })).Message);
    }

    // BertForQuestionAnswering (bert. prefix, old gamma/beta names, F32), RobertaForQuestionAnswering (BF16 weights),
    // DistilBertForQuestionAnswering (F16 weights, its own names, no token types) and ModernBertForQuestionAnswering (its
    // head, dense + GELU + norm, at every position before the output layer): start and end logits at every real
    // position of a padded batch, and on a batch without padding the loss (one answer past the sequence, ignored) and its
    // gradient for every parameter, against PyTorch.
    [Theory]
    [InlineData("bert-qa", "BERT", true)]
    [InlineData("bert-qa", "BERT", false)]
    [InlineData("roberta-qa", "RoBERTa", true)]
    [InlineData("distilbert-qa", "DistilBERT", true)]
    [InlineData("modernbert-qa", "ModernBERT", true)]
    [InlineData("modernbert-qa", "ModernBERT", false)]
    public void HuggingFaceQuestionAnswerers_LogitsLossAndEveryGradientMatchPyTorch(string folder, string family, bool packing)
    {
        var loaded = PretrainedCheckpoint.LoadQuestionAnsweringFolder(Folder(folder));
        Assert.Equal(family, loaded.Family.Name);
        var model = loaded.Model;
        Assert.Equal(family == "ModernBERT", model.Config.Pooler);
        model.Encoder.Packing = packing;
        var (ids, mask, root, doc) = PretrainedCheckpointTests.Expected(folder);
        using var _ = doc;
        int[] Flat(string name) => root.GetProperty(name).EnumerateArray().SelectMany(r => r.EnumerateArray().Select(v => v.GetInt32())).ToArray();
        int b = ids.Length, t = ids[0].Length;
        var batch = new TokenBatch(b, t, ids.SelectMany(r => r).ToArray(), mask) { TokenTypeIds = Flat("token_type_ids") };
        var start = root.GetProperty("start_logits").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var end = root.GetProperty("end_logits").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var logits = model.Forward(batch);
        for (int i = 0; i < b * t; i++)
        {
            if (mask[i] == 0) continue;
            PretrainedCheckpointTests.Near(start[i], logits[2 * i], 1e-4, $"start_logits[{i}]");
            PretrainedCheckpointTests.Near(end[i], logits[2 * i + 1], 1e-4, $"end_logits[{i}]");
        }
        var trainIds = Flat("train_input_ids");
        int tb = root.GetProperty("train_input_ids").GetArrayLength(), tt = trainIds.Length / tb;
        var train = new TokenBatch(tb, tt, trainIds, Enumerable.Repeat(1, trainIds.Length).ToArray(), Flat("positions")) { TokenTypeIds = Flat("train_token_type_ids") };
        var eval = new TransformerQuestionAnswerer(model.Config with { Dropout = 0f }).WithWeightsOf(model);
        eval.Encoder.Packing = packing;
        eval.Parameters.ZeroGrad();
        PretrainedCheckpointTests.Near(root.GetProperty("loss").GetDouble(), eval.ForwardBackward(train), 1e-4, "loss");
        // The last norm's bias moves every position's logits alike, which the softmax over positions ignores: its gradient is
        // zero but for rounding in both frameworks, so gradients are compared to 1e-4 of the largest or 1e-7, whichever is more.
        var head = loaded.Family.SequenceClassifier!;
        PretrainedCheckpointTests.AssertEveryGradient(folder, eval.Parameters, loaded.Family, eval.Config, root.GetProperty("grads"), floor: 1e-3, sources: p =>
            p.StartsWith("head.", StringComparison.Ordinal) ? [(family == "ModernBERT" ? "classifier." : "qa_outputs.") + p[5..]]
            : p.StartsWith("pooler.dense.", StringComparison.Ordinal) ? [head.Dense + p[13..]]
            : p.StartsWith("pooler.norm.", StringComparison.Ordinal) ? [head.Norm + p[12..]]
            : loaded.Family.SourceNames(p)!.Select(s => s.Replace("LayerNorm.gamma", "LayerNorm.weight").Replace("LayerNorm.beta", "LayerNorm.bias")).ToArray());
    }

    [Theory]
    [InlineData("roberta-qa", "RobertaForQuestionAnswering", "qa_outputs.")]
    [InlineData("modernbert-qa", "ModernBertForQuestionAnswering", "classifier.")] // its head's tensors beside the output layer
    public void WrittenBack_ReadsBackToTheSameWeights(string fixture, string architecture, string output)
    {
        var loaded = PretrainedCheckpoint.LoadQuestionAnsweringFolder(Folder(fixture));
        string dir = Directory.CreateTempSubdirectory("qa").FullName;
        try
        {
            Assert.Same(loaded.Family, PretrainedCheckpoint.SaveQuestionAnsweringFolder(loaded.Model, dir));
            using (var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "config.json"))))
                Assert.Equal(architecture, config.RootElement.GetProperty("architectures")[0].GetString());
            using (var source = SafeTensorsFile.Open(Path.Combine(Folder(fixture), "model.safetensors")))
            using (var written = SafeTensorsFile.Open(Path.Combine(dir, "model.safetensors")))
            {
                Assert.Equal([2, 16], written.Shapes[output + "weight"]);
                Assert.Equal(source.Shapes.Keys.Order(), written.Shapes.Keys.Order());
                Assert.DoesNotContain(written.Shapes.Keys, k => k.Contains("pooler", StringComparison.Ordinal));
            }
            Assert.True(PretrainedCheckpoint.IsQuestionAnsweringFolder(dir));
            Assert.False(PretrainedCheckpoint.IsTokenClassifierFolder(dir));
            Assert.Equal(loaded.Model.Parameters.Data, PretrainedCheckpoint.LoadQuestionAnsweringFolder(dir).Model.Parameters.Data);
        }
        finally { Directory.Delete(dir, true); }
    }

    // Another task's folder is not a question answerer's, and a question answerer's is no other task's.
    [Fact]
    public void OtherTaskFolders_AreRefusedNamingTheProblem()
    {
        var e = Assert.Throws<InvalidDataException>(() => PretrainedCheckpoint.LoadQuestionAnsweringFolder(Folder("bert-token-classifier")));
        Assert.Contains("BertForTokenClassification", e.Message);
        Assert.Contains("not a question answerer", e.Message);
        Assert.Contains("not a token classifier", Assert.Throws<InvalidDataException>(() => PretrainedCheckpoint.LoadTokenClassifierFolder(Folder("bert-qa"))).Message);
        Assert.Contains("not a question answerer", Assert.Throws<InvalidDataException>(() => PretrainedCheckpoint.LoadQuestionAnsweringFolder(Folder("bert"))).Message);
        Assert.Contains("not a question answerer", Assert.Throws<InvalidDataException>(() => PretrainedCheckpoint.LoadQuestionAnsweringFolder(Folder("modernbert-token-classifier"))).Message);
    }
}
