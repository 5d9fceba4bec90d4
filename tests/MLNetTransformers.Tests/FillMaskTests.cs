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
        var reference = SameAsPyTorch(prediction, BertMlm, "mlm_logits", position: 2);
        Assert.Equal(File.ReadAllLines(Path.Combine(BertMlm, "vocab.txt"))[reference[0].Id], prediction.Candidates[0].Token);

        Assert.Equal(2, fill.Predict("the [MASK] was [MASK] .", topK: 3).Count);
        var e = Assert.Throws<ArgumentException>(() => fill.Predict("the film was good"));
        Assert.Contains("[MASK]", e.Message);
        Assert.Contains("has no", e.Message);
    }

    // MPNetForMaskedLM and ELECTRA's generator: the fixtures' first sequence is "the film was" then a mask; the mask is
    // written in text as each tokenizer writes it, and the candidates are PyTorch's at position 4.
    [Theory]
    [InlineData("mpnet-mlm", "<mask>")]
    [InlineData("electra-generator", "[MASK]")]
    public void HuggingFaceMpnetAndElectraHeads_GivePyTorchsProbabilities(string fixture, string mask)
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", fixture);
        var fill = FillMaskTransformer.FromHuggingFaceFolder(folder, topK: 5);
        Assert.Equal(mask, fill.MaskToken);
        var prediction = Assert.Single(fill.Predict($"The film was {mask}"));
        Assert.Equal(4, prediction.Position);
        SameAsPyTorch(prediction, folder, "logits", position: 4);
    }

    // AlbertForMaskedLM (spiece.model's own [MASK] piece, ALBERT's text rules: the text lower-cased; a head narrowing to the
    // embeddings' width) and DebertaV2ForMaskedLM ([MASK] after spm.model's pieces, cased; disentangled attention under the
    // head): each fixture's first sequence is "the film was [MASK]" as its tokenizer writes it, the mask at position 10.
    [Theory]
    [InlineData("albert-mlm", "The Film was [MASK]", 90)]
    [InlineData("deberta-mlm", "the film was [MASK]", 101)]
    public void HuggingFaceAlbertAndDebertaHeads_GivePyTorchsProbabilities(string fixture, string text, int vocabulary)
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", fixture);
        var fill = FillMaskTransformer.FromHuggingFaceFolder(folder, topK: 5);
        Assert.Equal("[MASK]", fill.MaskToken);
        var prediction = Assert.Single(fill.Predict(text));
        Assert.Equal(10, prediction.Position);
        SameAsPyTorch(prediction, folder, "logits", position: 10, vocabulary);
    }

    // The prediction's candidates are the top ones of the softmax of the fixture's logits at the position (first
    // sequence, a vocabulary of 40 tokens unless said), with their probabilities; returns them.
    private static (int Id, double P)[] SameAsPyTorch(MaskPrediction prediction, string folder, string logitsName, int position, int vocabulary = 40)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "expected.json")));
        var logits = doc.RootElement.GetProperty(logitsName).EnumerateArray().Select(v => v.GetDouble()).Skip(position * vocabulary).Take(vocabulary).ToArray();
        double max = logits.Max(), sum = logits.Sum(l => Math.Exp(l - max));
        var reference = logits.Select((l, i) => (Id: i, P: Math.Exp(l - max) / sum)).OrderByDescending(x => x.P).Take(prediction.Candidates.Count).ToArray();
        Assert.Equal(reference.Select(r => r.Id), prediction.Candidates.Select(c => c.Id));
        for (int i = 0; i < reference.Length; i++) Assert.Equal(reference[i].P, prediction.Candidates[i].Probability, 4);
        return reference;
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

/// <summary>Masked-LM pretraining with BERT's next-sentence prediction.</summary>
public class NextSentencePretrainingTests
{
    public sealed class Doc
    {
        public string Text { get; set; } = "";
    }

    // Documents whose second sentence repeats the first one's topic: "next" pairs share a word, random ones rarely do.
    private static List<Doc> Documents(int n, int seed)
    {
        var rng = new Random(seed);
        string[] topics = ["cats", "dogs", "trains", "music", "rain", "coffee", "books", "ships", "bread", "stars", "snow", "games"];
        string[] open = ["this story is about", "we talked about", "they wrote about", "she dreamed of"];
        string[] then = ["are lovely", "were everywhere", "matter a lot", "came back", "never end"];
        return Enumerable.Range(0, n).Select(_ =>
        {
            string t = topics[rng.Next(topics.Length)];
            return new Doc { Text = $"{open[rng.Next(open.Length)]} {t}. {t} {then[rng.Next(then.Length)]}." };
        }).ToList();
    }

    [Fact]
    public void NextSentencePrediction_LearnsWhichSentenceFollows_AndReportsIt()
    {
        var ml = new MLContext(1);
        var reports = new List<Training.TrainingProgress>();
        var featurizer = ml.Transforms.Text.PretrainMaskedLanguageModel(new LanguageModeling.MaskedLanguageModelOptions
        {
            Layers = 2, ModelDim = 32, Heads = 2, FeedForwardDim = 64, MaxSteps = 300, BatchSize = 32, LearningRate = 2e-3f, ReportEverySteps = 100,
            Tokenizer = new Tokenization.TokenizerOptions { MaxTokens = 32, VocabularySize = 120 }, Seed = 1, NextSentencePrediction = true,
            Progress = new SyncProgress<Training.TrainingProgress>(reports.Add),
        }).Fit(ml.Data.LoadFromEnumerable(Documents(400, 1)));
        var mlm = featurizer.MaskedLanguageModel!;
        Assert.True(mlm.Config.NextSentenceHead && mlm.Config.Pooler);
        Assert.All(reports, r => Assert.NotNull(r.NextSentenceAccuracy));
        Assert.Contains("nsp_acc", reports[^1].ToString());
        double accuracy = featurizer.PretrainingSummary!.NextSentenceAccuracy!.Value;
        Assert.True(accuracy > 0.8, $"next-sentence accuracy {accuracy:P1}; reports: {string.Join(" | ", reports)}");

        // The trained head tells a following sentence from a random one on new documents.
        var t = featurizer.Tokenizer;
        var (ids, mask, types) = (new int[t.MaxTokens], new int[t.MaxTokens], new int[t.MaxTokens]);
        int Predict(string a, string b)
        {
            int n = t.EncodePair(a, b, ids, mask, types, out _);
            var logits = mlm.NextSentenceLogits(new Core.Models.TokenBatch(1, n, ids[..n]) { TokenTypeIds = types[..n] });
            return logits[1] > logits[0] ? 1 : 0;
        }
        Assert.Equal(0, Predict("we talked about trains.", "trains came back."));
        Assert.Equal(1, Predict("we talked about trains.", "coffee never end."));

        var single = ml.Data.LoadFromEnumerable(new[] { new Doc { Text = "one sentence only" }, new Doc { Text = "another one" } });
        var e = Assert.Throws<ArgumentException>(() => ml.Transforms.Text.PretrainMaskedLanguageModel(new LanguageModeling.MaskedLanguageModelOptions
        {
            NextSentencePrediction = true, MaxSteps = 5, Tokenizer = new Tokenization.TokenizerOptions { MaxTokens = 16, VocabularySize = 50, MinFrequency = 1 },
        }).Fit(single));
        Assert.Contains("'Text'", e.Message);
        Assert.Contains("two", e.Message);
    }
}
