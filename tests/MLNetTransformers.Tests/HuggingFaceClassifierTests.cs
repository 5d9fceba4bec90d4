using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransformers.Classification;
using MLNetTransformers.Core.Models;
using Xunit;

namespace MLNetTransformers.Tests;

/// <summary>A Hugging Face sequence classifier scores ML.NET rows as it stands (no training), saves and reloads.</summary>
public class HuggingFaceClassifierTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", name);

    private sealed class Row { public string Text { get; set; } = ""; }

    private static readonly Row[] Rows = [new() { Text = "the film was great and fun" }, new() { Text = "not a good movie , the plot was dull" }, new() { Text = "i loved it !" }];

    [Theory]
    [InlineData("bert-classifier")]
    [InlineData("electra-classifier")] // embeddings projected to the blocks' width, a GELU head
    [InlineData("roformer-classifier")] // RoFormer's rotary positions, ELECTRA's head
    [InlineData("deberta-classifier")] // disentangled attention, DeBERTa's spm.model, ContextPooler + GELU
    [InlineData("modernbert-classifier")] // rotary positions, sliding windows, GeGLU; mean pooling, head.dense + GELU + head.norm
    public void ThreeLabels_ScoreAsMulticlass_WithTheConfigsLabelNames_AndSaveAndReload(string fixture)
    {
        var ml = new MLContext(seed: 1);
        var classifier = TransformerClassificationTransformer.FromHuggingFaceFolder(Fixture(fixture), maxTokens: 16);
        var data = ml.Data.LoadFromEnumerable(Rows);
        var scored = classifier.Transform(data);
        var names = default(VBuffer<ReadOnlyMemory<char>>);
        scored.Schema["PredictedLabel"].GetKeyValues(ref names);
        Assert.Equal(["negative", "neutral", "positive"], names.DenseValues().Select(n => n.ToString()));
        var scores = scored.GetColumn<float[]>("Score").ToArray();
        var predicted = scored.GetColumn<uint>("PredictedLabel").ToArray();
        for (int i = 0; i < Rows.Length; i++)
        {
            Assert.Equal(1.0, scores[i].Sum(), 4);
            Assert.Equal(Array.IndexOf(scores[i], scores[i].Max()) + 1, (int)predicted[i]); // keys count from 1
            // The probabilities are the softmax of the network's logits for the text as its tokenizer encodes it.
            var ids = new int[16];
            var mask = new int[16];
            classifier.Tokenizer.Encode(Rows[i].Text, ids, mask);
            var logits = classifier.Model.Forward(new TokenBatch(1, 16, ids, mask)).AsSpan(0, 3).ToArray();
            var softmax = logits.Select(l => Math.Exp(l - logits.Max())).ToArray();
            for (int k = 0; k < 3; k++) Assert.Equal(softmax[k] / softmax.Sum(), scores[i][k], 4);
        }
        string path = Path.Combine(Directory.CreateTempSubdirectory("hf-classifier").FullName, "model.mlnt");
        try
        {
            TransformerModel.Save(ml, classifier, data.Schema, path);
            var reloaded = TransformerModel.Load(new MLContext(seed: 2), path, out _);
            Assert.Equal(scores, reloaded.Transform(data).GetColumn<float[]>("Score").ToArray());
        }
        finally { Directory.Delete(Path.GetDirectoryName(path)!, recursive: true); }
    }

    [Fact]
    public void TwoLabels_ScoreAsBinary_AndSaveAndReload()
    {
        var ml = new MLContext(seed: 1);
        var classifier = TransformerClassificationTransformer.FromHuggingFaceFolder(Fixture("roberta-classifier"), maxTokens: 16);
        Assert.True(classifier.IsBinary);
        Assert.Equal(["NEGATIVE", "POSITIVE"], classifier.ClassNames);
        var data = ml.Data.LoadFromEnumerable(Rows);
        var scored = classifier.Transform(data);
        var p = scored.GetColumn<float>("Probability").ToArray();
        Assert.Equal(p.Select(x => x > 0.5f), scored.GetColumn<bool>("PredictedLabel"));
        Assert.All(p, x => Assert.InRange(x, 0f, 1f));
        string path = Path.Combine(Directory.CreateTempSubdirectory("hf-classifier").FullName, "model.mlnt");
        try
        {
            TransformerModel.Save(ml, classifier, data.Schema, path);
            var reloaded = TransformerModel.Load(new MLContext(seed: 2), path, out _);
            Assert.Equal(p, reloaded.Transform(data).GetColumn<float>("Probability"));
        }
        finally { Directory.Delete(Path.GetDirectoryName(path)!, recursive: true); }
    }
}
