using CsCheck;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransformers.Classification;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Pretrained;
using MLNetTransformers.Tokenization;
using MLNetTransformers.TokenClassification;
using Xunit;

namespace MLNetTransformers.Tests;

/// <summary>Token classification: Hugging Face taggers as they stand, training one in a pipeline, saving, bad input.</summary>
public class TokenClassificationTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", name);

    private sealed class Row
    {
        public string Text { get; set; } = "";
        public string Tags { get; set; } = "";
    }

    private sealed class TaggedRow
    {
        public string[] PredictedLabel { get; set; } = [];
    }

    private sealed class VectorRow
    {
        public string Text { get; set; } = "";
        public string[] Label { get; set; } = [];
    }

    // BertForTokenClassification (WordPiece) and RobertaForTokenClassification (byte-level BPE, each word with the space
    // before it): every word's tag is the arg max of the model's logits at the word's first piece, encoded word by word.
    [Theory]
    [InlineData("bert-token-classifier")]
    [InlineData("roberta-token-classifier")]
    [InlineData("distilbert-token-classifier")]
    [InlineData("modernbert-token-classifier")] // its head (dense, GELU, norm) at every position
    public void HuggingFaceTagger_TagsEachWordAtItsFirstPiece_AndSavesAndReloads(string fixture)
    {
        var ml = new MLContext(seed: 1);
        var tagger = TokenClassificationTransformer.FromHuggingFaceFolder(Fixture(fixture), maxTokens: 16);
        Assert.Equal(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"], tagger.Tags);
        string[] texts = ["the films was great and fun", "i loved it !", "not a good movie , the plot was dull"];
        foreach (var text in texts)
        {
            var words = text.Split(' ');
            var ids = new List<int> { tagger.Tokenizer.ClsId };
            var first = new List<int>();
            foreach (var w in words)
            {
                first.Add(ids.Count);
                ids.AddRange(tagger.Tokenizer.EncodeAll(fixture.StartsWith("roberta") ? " " + w : w));
            }
            ids.Add(tagger.Tokenizer.SepId);
            var logits = tagger.Model.Forward(new TokenBatch(1, ids.Count, ids.ToArray())).AsSpan(0, ids.Count * 5).ToArray();
            var expected = first.Select(p => tagger.Tags[Array.IndexOf(logits, logits.Skip(p * 5).Take(5).Max(), p * 5) - p * 5]).ToArray();
            var predicted = tagger.Predict(text);
            Assert.Equal(words, predicted.Select(w => w.Word));
            Assert.Equal(expected, predicted.Select(w => w.Tag));
            Assert.All(predicted, w => Assert.InRange(w.Probability, 0.2f, 1f)); // the largest of 5 probabilities
        }
        // Int8: the same words, probabilities moved by the quantization (so it runs) but not far.
        var int8 = tagger.WithInt8Inference();
        Assert.True(int8.IsInt8);
        var (f, q) = (texts.SelectMany(tagger.Predict).ToArray(), texts.SelectMany(int8.Predict).ToArray());
        Assert.Equal(f.Select(w => w.Word), q.Select(w => w.Word));
        Assert.Contains(f.Zip(q), p => p.First.Probability != p.Second.Probability);
        Assert.All(f.Zip(q).Where(p => p.First.Tag == p.Second.Tag), p => Assert.Equal(p.First.Probability, p.Second.Probability, 0.05));
        Assert.True(f.Zip(q).Count(p => p.First.Tag == p.Second.Tag) >= 0.8 * f.Length);
        var data = ml.Data.LoadFromEnumerable(texts.Select(t => new Row { Text = t }));
        var column = tagger.Transform(data).GetColumn<string[]>("PredictedLabel").ToArray();
        Assert.Equal(texts.Select(t => tagger.Predict(t).Select(w => w.Tag).ToArray()), column);
        var engine = ml.Model.CreatePredictionEngine<Row, TaggedRow>(tagger); // a prediction engine, as served
        Assert.Equal(column[2], engine.Predict(new Row { Text = texts[2] }).PredictedLabel);
        string path = Path.Combine(Directory.CreateTempSubdirectory("tagger").FullName, "model.mlnt");
        try
        {
            TransformerModel.Save(ml, tagger, data.Schema, path);
            var reloaded = TransformerModel.Load(new MLContext(seed: 2), path, out _);
            Assert.Equal(column, reloaded.Transform(data).GetColumn<string[]>("PredictedLabel").ToArray());
        }
        finally { Directory.Delete(Path.GetDirectoryName(path)!, recursive: true); }
    }

    // Synthetic tagging on the BERT fixture's vocabulary: the words of praise are POS, of blame NEG, the rest O; which is
    // which is learned from the rows (the words' embeddings start random), in context-free positions.
    private static readonly string[] Praise = ["good", "great", "fun", "best", "loved"], Blame = ["bad", "dull", "worst", "hated"],
        Other = ["the", "a", "film", "movie", "plot", "cast", "is", "was", "and", "but", "it", "story", "end", "i", "so", "very", "ever", "."];

    private static Row[] Tagged(int count, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var words = Enumerable.Range(0, rng.Next(3, 9)).Select(_ => rng.Next(4) switch
            {
                0 => (Praise[rng.Next(Praise.Length)], "POS"),
                1 => (Blame[rng.Next(Blame.Length)], "NEG"),
                _ => (Other[rng.Next(Other.Length)], "O"),
            }).ToArray();
            return new Row { Text = string.Join(' ', words.Select(w => w.Item1)), Tags = string.Join(' ', words.Select(w => w.Item2)) };
        }).ToArray();
    }

    private static double TagAccuracy(TokenClassificationTransformer tagger, Row[] rows)
    {
        int right = 0, all = 0;
        foreach (var r in rows)
        {
            var tags = r.Tags.Split(' ');
            var predicted = tagger.Predict(r.Text);
            for (int i = 0; i < tags.Length; i++) { all++; if (predicted[i].Tag == tags[i]) right++; }
        }
        return (double)right / all;
    }

    [Fact]
    public void Trainer_FineTunesAPretrainedEncoder_InAPipeline_AndWritesItBackAsAHuggingFaceFolder()
    {
        var ml = new MLContext(seed: 1);
        var train = Tagged(400, 1);
        var test = Tagged(100, 2);
        var pipeline = ml.Transforms.Text.TokenizeIntoWords("Label", "Tags")
            .Append(ml.MulticlassClassification.Trainers.TokenClassifier(new TransformerClassifierOptions
            {
                Pretrained = PretrainedEncoder.FromHuggingFaceFolder(Fixture("bert"), maxTokens: 16), Epochs = 6, BatchSize = 16, LearningRate = 3e-3f, Seed = 3,
            }));
        var model = pipeline.Fit(ml.Data.LoadFromEnumerable(train));
        var tagger = (TokenClassificationTransformer)model.LastTransformer;
        Assert.Equal(["NEG", "O", "POS"], tagger.Tags);
        Assert.NotNull(tagger.TrainingSummary);
        double majority = test.SelectMany(r => r.Tags.Split(' ')).Count(t => t == "O") / (double)test.Sum(r => r.Tags.Split(' ').Length);
        double accuracy = TagAccuracy(tagger, test);
        Assert.True(accuracy > 0.95, $"tag accuracy {accuracy:P1} (always O: {majority:P1})");
        var testView = ml.Data.LoadFromEnumerable(test);
        var metrics = tagger.Evaluate(ml.Transforms.Text.TokenizeIntoWords("Label", "Tags").Fit(testView).Transform(testView));
        Assert.Equal(accuracy, metrics.TagAccuracy, 10);
        Assert.Equal(test.Sum(r => r.Tags.Split(' ').Count(t => t != "O")), metrics.Entities); // POS and NEG words are one-word entities
        Assert.True(metrics.F1 > 0.9, $"entity F1 {metrics.F1:F3}");
        // The pipeline's column equals Predict's tags; the model written as a Hugging Face folder tags the same.
        var scored = model.Transform(ml.Data.LoadFromEnumerable(test)).GetColumn<string[]>("PredictedLabel").ToArray();
        Assert.Equal(test.Select(r => tagger.Predict(r.Text).Select(w => w.Tag).ToArray()), scored);
        string dir = Directory.CreateTempSubdirectory("tagger-hf").FullName;
        try
        {
            tagger.SaveHuggingFaceFolder(dir);
            var read = TokenClassificationTransformer.FromHuggingFaceFolder(dir, maxTokens: 16);
            Assert.Equal(tagger.Tags, read.Tags);
            Assert.Equal(scored, test.Select(r => read.Predict(r.Text).Select(w => w.Tag).ToArray()));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // A bare ModernBERT fine-tuned as a tagger gets its family's token head (dense, GELU, norm) newly initialised, as
    // ModernBertForTokenClassification starts, and is written back as one that reads back to the same tags.
    [Fact]
    public void Trainer_GivesModernBertItsOwnTokenHead_AndWritesItBack()
    {
        var ml = new MLContext(seed: 1);
        var rows = Tagged(200, 7).Select(r => new VectorRow { Text = r.Text, Label = r.Tags.Split(' ') }).ToArray();
        var tagger = ml.MulticlassClassification.Trainers.TokenClassifier(new TransformerClassifierOptions
        {
            Pretrained = PretrainedEncoder.FromHuggingFaceFolder(Fixture("modernbert"), maxTokens: 16), Epochs = 2, BatchSize = 16, LearningRate = 3e-3f, Seed = 3,
        }).Fit(ml.Data.LoadFromEnumerable(rows));
        Assert.True(tagger.Model.Config.Pooler && tagger.Model.Config.PoolerNorm);
        string dir = Directory.CreateTempSubdirectory("modernbert-tagger").FullName;
        try
        {
            tagger.SaveHuggingFaceFolder(dir);
            Assert.Contains("ModernBertForTokenClassification", File.ReadAllText(Path.Combine(dir, "config.json")));
            var read = TokenClassificationTransformer.FromHuggingFaceFolder(dir, maxTokens: 16);
            foreach (var r in rows.Take(20)) Assert.Equal(tagger.Predict(r.Text), read.Predict(r.Text));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Trainer_LearnsFromScratch_WithATokenizerOfItsOwn_InWindows()
    {
        var ml = new MLContext(seed: 1);
        var train = Tagged(400, 3).Select(r => new VectorRow { Text = r.Text, Label = r.Tags.Split(' ') });
        // Sequences of 6 tokens: most rows are read in windows of at most 4 words, in training and in tagging.
        var tagger = ml.MulticlassClassification.Trainers.TokenClassifier(new TransformerClassifierOptions
        {
            Layers = 1, ModelDim = 32, Heads = 2, FeedForwardDim = 64, Epochs = 8, BatchSize = 16, Seed = 4, Tokenizer = new TokenizerOptions { MaxTokens = 6 },
        }).Fit(ml.Data.LoadFromEnumerable(train));
        double accuracy = TagAccuracy(tagger, Tagged(100, 5));
        Assert.True(accuracy > 0.95, $"tag accuracy {accuracy:P1}");
    }

    [Fact]
    public void Entities_GroupIob2Tags_AsThePipelinesSimpleAggregation_WithTheirOffsets()
    {
        const string text = "Angela Merkel visited New  York and Paris Lyon with EU x cut";
        string[] tags = ["B-PER", "I-PER", "O", "I-LOC", "I-LOC", "O", "B-LOC", "B-LOC", "O", "I-ORG", "MISC", ""];
        var (words, starts) = WordTokens.Split(text);
        Assert.Equal([0, 7, 14, 22, 27, 32, 36, 42, 47, 52, 55, 57], starts);
        var tagged = words.Select((w, i) => new TaggedWord(w, starts[i], tags[i], i == 0 ? 0.8f : i == 1 ? 1f : 0.9f)).ToArray();
        Assert.Equal(
            [new TaggedEntity("PER", "Angela Merkel", 0, 1, 0, 13, 0.9f), new TaggedEntity("LOC", "New  York", 3, 4, 22, 31, 0.9f), new TaggedEntity("LOC", "Paris", 6, 6, 36, 41, 0.9f),
             new TaggedEntity("LOC", "Lyon", 7, 7, 42, 46, 0.9f), new TaggedEntity("ORG", "EU", 9, 9, 52, 54, 0.9f), new TaggedEntity("MISC", "x", 10, 10, 55, 56, 0.9f)],
            TokenClassificationTransformer.EntitiesOf(tagged, text).Select(e => e with { Probability = MathF.Round(e.Probability, 4) }));
        Assert.Equal("New York", TokenClassificationTransformer.EntitiesOf(tagged)[1].Text); // without the text: the words joined
    }

    // Any text tags without error: one tagged word per whitespace-separated piece, each at its place in the text and with
    // one of the model's tags, whatever the characters (controls, surrogates, accents, CJK, symbols) and lengths (long
    // words, texts of many windows); the entities' offsets cut the text where their words start and end.
    [Theory]
    [InlineData("bert-token-classifier")]
    [InlineData("roberta-token-classifier")]
    public void AnyText_TagsEveryWordInPlace(string fixture)
    {
        var tagger = TokenClassificationTransformer.FromHuggingFaceFolder(Fixture(fixture), maxTokens: 10);
        var chars = Gen.OneOf(Gen.Char['a', 'z'], Gen.Char[' ', '~'], Gen.Const(' '), Gen.Const('\t'), Gen.Const('\n'), Gen.Char['\u00c0', '\u024f'],
            Gen.Char['\u4e00', '\u4e40'], Gen.Char['\u0000', '\u001f'], Gen.Char['\ud800', '\udfff'], Gen.Const('\u00a0'), Gen.Const('\u2003'));
        Gen.String[chars, 0, 200].Sample(text =>
        {
            var words = tagger.Predict(text);
            var expected = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(expected, words.Select(w => w.Word));
            Assert.All(words, w => Assert.Equal(w.Word, text.Substring(w.Start, w.Word.Length)));
            Assert.All(words, w => Assert.Contains(w.Tag, tagger.Tags));
            foreach (var e in tagger.Entities(text)) Assert.Equal(e.Text, text[e.Start..e.End]);
        }, iter: 200, threads: 1, seed: "ezosEBohpnX1"); // one fixed sequence of cases, as the fuzz tests
    }

    // seqeval's documented example (its README): one of two entities right on each side, 8 of 10 tags right.
    [Fact]
    public void TaggingMetrics_AreSeqevals()
    {
        string[][] gold = [["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]];
        string[][] predicted = [["O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]];
        var m = Metrics.TaggingMetrics.Compute(gold, predicted);
        Assert.Equal((0.5, 0.5, 0.5, 0.8, 2, 2, 10), (m.Precision, m.Recall, m.F1, m.TagAccuracy, m.Entities, m.PredictedEntities, m.Words));
        // I-X after O or after another type opens an entity (seqeval's default mode); B-X after I-X opens a new one.
        var loose = Metrics.TaggingMetrics.Compute([["I-PER", "I-PER", "B-PER", "O", "I-LOC"]], [["B-PER", "I-PER", "I-PER", "O", "B-LOC"]]);
        Assert.Equal((1 / 2.0, 1 / 3.0), (loose.Precision, loose.Recall)); // gold PER 0-1, PER 2, LOC 4; predicted PER 0-2, LOC 4
        Assert.Throws<ArgumentException>(() => Metrics.TaggingMetrics.Compute([["O"]], [["O", "O"]]));
    }

    // A text longer than the tokenizer's length is tagged in windows of whole words overlapping by up to half a window, each
    // word in the window where it has the most context: with 8 tokens (6 for words), ten one-piece words are read in the
    // windows 0-5, 3-8 and 6-9; words 0-4 take the first's tags (4 ties between the first two), 5-7 the second's, 8-9 the third's.
    [Fact]
    public void LongTexts_AreTaggedInOverlappingWindows_EachWordWithItsWidestContext()
    {
        var tagger = TokenClassificationTransformer.FromHuggingFaceFolder(Fixture("bert-token-classifier"), maxTokens: 8);
        const string text = "the film was great and fun i loved it so";
        var tokens = new WordTokens(tagger.Tokenizer, [text.Split(' ')], overlap: true);
        Assert.Equal([new WordTokens.Window(0, 0, 6), new WordTokens.Window(0, 3, 6), new WordTokens.Window(0, 6, 4)], tokens.Windows);
        Assert.Equal([0, 0, 0, 0, 0, 1, 1, 1, 2, 2], tokens.Reading![0]);
        var all = tagger.Predict(text);
        var windows = new[] { tagger.Predict("the film was great and fun"), tagger.Predict("great and fun i loved it"), tagger.Predict("i loved it so") };
        var expected = tokens.Reading![0].Select((k, w) => windows[k][w - tokens.Windows[k].FirstWord]).ToArray();
        Assert.Equal(expected.Select(w => (w.Word, w.Tag)), all.Select(w => (w.Word, w.Tag)));
        Assert.All(expected.Zip(all), p => Assert.Equal(p.First.Probability, p.Second.Probability, 1e-5)); // one batch of three windows against each alone
        Assert.Equal(text.IndexOf("loved", StringComparison.Ordinal), all[7].Start);
        Assert.NotEqual(windows[0][3].Probability, windows[1][0].Probability); // a word's window is its context
    }

    // Training reads a long row in the same windows: each window's words carry their own tags at their first pieces.
    [Fact]
    public void TrainingWindows_CarryTheirOwnWordsTags()
    {
        var tokenizer = TokenClassificationTransformer.FromHuggingFaceFolder(Fixture("bert-token-classifier"), maxTokens: 8).Tokenizer;
        var row = new TokenClassificationTrainer.TaggedText("the film was great and fun i loved it so".Split(' '), ["O", "O", "O", "POS", "O", "POS", "O", "POS", "O", "O"]);
        var tokens = new WordTokens(tokenizer, [row.Words]);
        Assert.Equal([new WordTokens.Window(0, 0, 6), new WordTokens.Window(0, 6, 4)], tokens.Windows);
        var batch = TokenClassificationTrainer.Tagged(tokens, [row], [0, 1], new() { ["O"] = 0, ["POS"] = 1 }, new int[16], new int[16]);
        // [CLS] the film was great and fun [SEP] / [CLS] i loved it so [SEP] [PAD] [PAD]
        Assert.Equal([-100, 0, 0, 0, 1, 0, 1, -100, -100, 0, 1, 0, 0, -100, -100, -100], batch.Labels!);
        Assert.Equal([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0], batch.AttentionMask!);
    }

    [Fact]
    public void BadInput_IsRefusedNamingTheColumnAndRow()
    {
        var ml = new MLContext(seed: 1);
        var trainer = ml.MulticlassClassification.Trainers.TokenClassifier();
        var mismatch = new[] { new VectorRow { Text = "the film", Label = ["O", "O"] }, new VectorRow { Text = "a good movie", Label = ["O", "POS"] } };
        var e = Assert.Throws<ArgumentException>(() => trainer.Fit(ml.Data.LoadFromEnumerable(mismatch)));
        Assert.Contains("Row 1", e.Message);
        Assert.Contains("3 words in 'Text' and 2 tags in 'Label'", e.Message);
        var scalar = ml.Data.LoadFromEnumerable(new[] { new Row { Text = "the film", Tags = "O O" } });
        var wrong = Assert.Throws<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.TokenClassifier(labelColumnName: "Tags").Fit(scalar));
        Assert.Contains("Label column 'Tags'", wrong.Message);
        Assert.Contains("vector of text", wrong.Message);
        Assert.Contains("vector of text", Assert.Throws<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.TokenClassifier(labelColumnName: "Tags").GetOutputSchema(BadInputTests.SchemaOf(ml, scalar))).Message);
        var oneTag = new[] { new VectorRow { Text = "the film", Label = ["O", "O"] } };
        Assert.Contains("one tag ('O')", Assert.Throws<ArgumentException>(() => trainer.Fit(ml.Data.LoadFromEnumerable(oneTag))).Message);
        var options = Assert.Throws<ArgumentException>(() => ml.MulticlassClassification.Trainers.TokenClassifier(new TransformerClassifierOptions { EnsembleSize = 2, SecondTextColumnName = "B" }));
        Assert.Contains("does not use SecondTextColumnName, EnsembleSize", options.Message);
        var unseen = Tagged(40, 6).Select(r => new VectorRow { Text = r.Text, Label = r.Tags.Split(' ') }).ToArray();
        var valid = new[] { new VectorRow { Text = "the film", Label = ["O", "B-PER"] } };
        var u = Assert.Throws<ArgumentException>(() => ml.MulticlassClassification.Trainers.TokenClassifier(validationSet: ml.Data.LoadFromEnumerable(valid)).Fit(ml.Data.LoadFromEnumerable(unseen)));
        Assert.Contains("tag 'B-PER'", u.Message);
    }
}
