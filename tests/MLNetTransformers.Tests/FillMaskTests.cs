using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransformers.LanguageModeling;
using MLNetTransformers.Tokenization;
using Xunit;

namespace MLNetTransformers.Tests;

/// <summary>Fill-mask with a Hugging Face BERT's own head (against PyTorch) and with the library's masked-LM pretraining.</summary>
public class FillMaskTests
{
    private static readonly string BertMlm = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "bert-mlm");

    public sealed class Line
    {
        public string Text { get; set; } = "";
    }

    [Fact]
    public void HuggingFaceBertHead_GivesPyTorchsProbabilities()
    {
        var fill = FillMaskTransformer.FromHuggingFaceFolder(BertMlm, topK: 5);
        // The fixture's first sequence: [CLS] film [MASK] not good [SEP]; PyTorch's logits at the mask (position 2).
        var prediction = Assert.Single(fill.Predict("Film [MASK] not good"));
        Assert.Equal(2, prediction.Position);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(BertMlm, "expected.json")));
        var logits = doc.RootElement.GetProperty("mlm_logits").EnumerateArray().Select(v => v.GetDouble()).Skip(2 * 40).Take(40).ToArray();
        double max = logits.Max(), sum = logits.Sum(l => Math.Exp(l - max));
        var reference = logits.Select((l, i) => (Id: i, P: Math.Exp(l - max) / sum)).OrderByDescending(x => x.P).Take(5).ToArray();
        Assert.Equal(reference.Select(r => r.Id), prediction.Candidates.Select(c => c.Id));
        for (int i = 0; i < 5; i++) Assert.Equal(reference[i].P, prediction.Candidates[i].Probability, 4);
        Assert.Equal(File.ReadAllLines(Path.Combine(BertMlm, "vocab.txt"))[reference[0].Id], prediction.Candidates[0].Token);

        Assert.Equal(2, fill.Predict("the [MASK] was [MASK] .", topK: 3).Count);
        var e = Assert.Throws<ArgumentException>(() => fill.Predict("the film was good"));
        Assert.Contains("[MASK]", e.Message);
        Assert.Contains("has no", e.Message);
    }

    [Fact]
    public void FillMask_InAPipeline_SavesAndLoads()
    {
        var ml = new MLContext(1);
        var fill = FillMaskTransformer.FromHuggingFaceFolder(BertMlm, topK: 3);
        var data = ml.Data.LoadFromEnumerable(new[] { new Line { Text = "the [MASK] was good" }, new Line { Text = "no mask here" } });
        var scored = fill.Transform(data);
        var tokens = scored.GetColumn<VBuffer<ReadOnlyMemory<char>>>("FilledTokens").Select(v => v.DenseValues().Select(m => m.ToString()).ToArray()).ToArray();
        var probs = scored.GetColumn<float[]>("FilledTokensProbabilities").ToArray();
        Assert.Equal(3, tokens[0].Length);
        Assert.Empty(tokens[1]);
        Assert.True(probs[0][0] >= probs[0][1] && probs[0][1] >= probs[0][2]);
        Assert.Equal(fill.Predict("the [MASK] was good")[0].Candidates.Select(c => c.Token), tokens[0]);

        string path = Path.Combine(Path.GetTempPath(), $"fill-{Guid.NewGuid():N}.mlnt");
        try
        {
            TransformerModel.Save(ml, fill, data.Schema, path);
            var loaded = TransformerModel.Load(ml, path, out _);
            Assert.Equal(probs[0], loaded.Transform(data).GetColumn<float[]>("FilledTokensProbabilities").First());
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void OwnMaskedPretraining_FillsMasks()
    {
        var ml = new MLContext(1);
        var featurizer = ml.Transforms.Text.PretrainMaskedLanguageModel(new MaskedLanguageModelOptions
        {
            Layers = 1, ModelDim = 32, Heads = 2, FeedForwardDim = 64, MaxSteps = 120, BatchSize = 16, LearningRate = 2e-3f,
            Tokenizer = new TokenizerOptions { MaxTokens = 24, VocabularySize = 200 }, Seed = 1,
        }).Fit(TestData.Reviews(ml));
        var fill = new FillMaskTransformer(featurizer.Tokenizer, featurizer.MaskedLanguageModel!, topK: 4);
        var p = Assert.Single(fill.Predict("the film was [MASK] ."));
        Assert.Equal(4, p.Candidates.Count);
        Assert.InRange(p.Candidates.Sum(c => c.Probability), 0f, 1.0001f);
        Assert.True(p.Candidates.Zip(p.Candidates.Skip(1)).All(x => x.First.Probability >= x.Second.Probability));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FillMaskTransformer(featurizer.Tokenizer, featurizer.MaskedLanguageModel!, topK: 0));
    }
}
