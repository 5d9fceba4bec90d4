using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransformers.Classification;
using MLNetTransformers.Pretrained;
using Xunit;

namespace MLNetTransformers.Tests;

/// <summary>Fine-tuning a Hugging Face checkpoint (the small BERT of Fixtures/pretrained): frozen layers and layer-wise learning-rate decay.</summary>
public class PretrainedFineTuningOptionsTests
{
    private static readonly string Bert = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "bert");

    private sealed class Row
    {
        public string Text { get; set; } = "";
        public bool Label { get; set; }
    }

    private static IDataView Data(MLContext ml) => ml.Data.LoadFromEnumerable(Enumerable.Range(0, 64).Select(i => new Row
    {
        Text = i % 2 == 0 ? "the film was great and fun" : "the plot was dull and bad", Label = i % 2 == 0,
    }));

    [Fact]
    public void FrozenLayersStayAsLoaded_AndTheRestTrainsWithDecayedRates()
    {
        var ml = new MLContext(1);
        var pretrained = PretrainedEncoder.FromHuggingFaceFolder(Bert, maxTokens: 16);
        var options = new TransformerClassifierOptions
        {
            Pretrained = pretrained, Epochs = 3, BatchSize = 8, LearningRate = 1e-3f, FrozenLayers = 1, LayerwiseLearningRateDecay = 0.5f, ValidationFraction = 0, Seed = 3,
        };
        var model = ml.BinaryClassification.Trainers.TransformerClassifier(options).Fit(Data(ml)).Model;
        var before = pretrained.Encoder.Parameters;
        foreach (var t in model.Parameters.Tensors)
        {
            if (!before.Contains(t.Name)) continue; // the head is new
            bool same = t.Value.SequenceEqual(before[t.Name].Value);
            bool frozen = t.Name.StartsWith("layers.0.", StringComparison.Ordinal) || t.Name is "tok.weight" or "pos.weight" or "tok_type.weight" or "emb_norm.weight" or "emb_norm.bias";
            Assert.True(frozen == same, $"{t.Name}: {(frozen ? "frozen but changed" : "trainable but unchanged")}");
        }
        Assert.True(model.Config.Pooler); // the checkpoint's pooler is trained as BERT's classifiers train it
        Assert.Equal(0.5f, options.LayerwiseLearningRateDecay);
    }

    // ELECTRA's discriminator: the projection of its narrower embeddings freezes with them; the classifier reads the first
    // token through a new dense layer + GELU (ElectraForSequenceClassification's head), learns the two sentences, and
    // writes back as an ElectraForSequenceClassification folder that reads to the same probabilities.
    [Fact]
    public void AnElectraFolder_FineTunes_ItsEmbeddingProjectionFrozenWithTheEmbeddings()
    {
        var ml = new MLContext(1);
        var pretrained = PretrainedEncoder.FromHuggingFaceFolder(Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "electra"), maxTokens: 16);
        Assert.True(pretrained.Encoder.Config.ProjectsEmbeddings);
        var options = new TransformerClassifierOptions { Pretrained = pretrained, Epochs = 10, BatchSize = 8, LearningRate = 5e-3f, FrozenLayers = 1, ValidationFraction = 0, Seed = 3 };
        var transformer = ml.BinaryClassification.Trainers.TransformerClassifier(options).Fit(Data(ml));
        var model = transformer.Model;
        Assert.Equal((true, Core.Layers.PoolerActivation.Gelu, Core.Models.Pooling.Cls, 8), (model.Config.Pooler, model.Config.PoolerActivation, model.Config.Pooling, model.Config.EmbeddingWidth));
        var before = pretrained.Encoder.Parameters;
        foreach (var t in model.Parameters.Tensors)
        {
            if (!before.Contains(t.Name)) continue;
            bool frozen = t.Name.StartsWith("layers.0.", StringComparison.Ordinal) || t.Name.StartsWith("emb_", StringComparison.Ordinal) || t.Name is "tok.weight" or "pos.weight" or "tok_type.weight";
            Assert.True(frozen == t.Value.SequenceEqual(before[t.Name].Value), $"{t.Name}: {(frozen ? "frozen but changed" : "trainable but unchanged")}");
        }
        LearnsTheSentences_AndWritesBackAs(ml, transformer, "ElectraForSequenceClassification", null);
    }

    // ALBERT: its spiece.model tokenizes the rows, three blocks run one set of weights (whose gradient collects all three),
    // BERT's head on its pretrained pooler learns the two sentences; it writes back as an AlbertForSequenceClassification
    // folder that reads to the same probabilities. Frozen layers and layer-wise decay, which act block by block, are refused.
    [Fact]
    public void AnAlbertFolder_FineTunes_AndWritesBackAsAlbertsClassifier()
    {
        var ml = new MLContext(1);
        var pretrained = PretrainedEncoder.FromHuggingFaceFolder(Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "albert"), maxTokens: 16);
        Assert.Equal((3, 1, Tokenization.TokenizerKind.SentencePiece), (pretrained.Encoder.Config.Layers, pretrained.Encoder.Config.LayerGroups, pretrained.Tokenizer.Kind));
        var options = new TransformerClassifierOptions { Pretrained = pretrained, Epochs = 10, BatchSize = 8, LearningRate = 5e-3f, ValidationFraction = 0, Seed = 3 };
        var transformer = ml.BinaryClassification.Trainers.TransformerClassifier(options).Fit(Data(ml));
        var model = transformer.Model;
        Assert.Equal((true, Core.Layers.PoolerActivation.Tanh, 1), (model.Config.Pooler, model.Config.PoolerActivation, model.Config.LayerGroups));
        Assert.False(model.Parameters.Contains("layers.1.linear1.weight"));
        Assert.False(model.Parameters["layers.0.linear1.weight"].Value.SequenceEqual(pretrained.Encoder.Parameters["layers.0.linear1.weight"].Value));
        LearnsTheSentences_AndWritesBackAs(ml, transformer, "AlbertForSequenceClassification", "spiece.model");

        var frozen = Assert.Throws<ArgumentException>(() => ml.BinaryClassification.Trainers.TransformerClassifier(
            new TransformerClassifierOptions { Pretrained = pretrained, Epochs = 1, FrozenLayers = 1, ValidationFraction = 0 }).Fit(Data(ml)));
        Assert.Contains("share 1 set(s) of weights (ALBERT)", frozen.Message);
    }

    // DeBERTa-v3's shape: disentangled attention trains through the relative positions' table and every layer's
    // projections of it; the classifier reads the first token through a new ContextPooler (pooler.dense + GELU), learns the
    // two sentences, and writes back as a DebertaV2ForSequenceClassification folder that reads to the same probabilities.
    [Fact]
    public void ADebertaFolder_FineTunes_AndWritesBackAsDebertasClassifier()
    {
        var ml = new MLContext(1);
        var pretrained = PretrainedEncoder.FromHuggingFaceFolder(Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "deberta"), maxTokens: 16);
        Assert.Equal((6, Tokenization.TokenizerKind.SentencePiece), (pretrained.Encoder.Config.DisentangledSpan, pretrained.Tokenizer.Kind));
        var options = new TransformerClassifierOptions { Pretrained = pretrained, Epochs = 10, BatchSize = 8, LearningRate = 5e-3f, ValidationFraction = 0, Seed = 3 };
        var transformer = ml.BinaryClassification.Trainers.TransformerClassifier(options).Fit(Data(ml));
        var model = transformer.Model;
        Assert.Equal((true, Core.Layers.PoolerActivation.Gelu, Core.Models.Pooling.Cls), (model.Config.Pooler, model.Config.PoolerActivation, model.Config.Pooling));
        Assert.False(model.Parameters["rel_embeddings.weight"].Value.SequenceEqual(pretrained.Encoder.Parameters["rel_embeddings.weight"].Value)); // the table trained
        LearnsTheSentences_AndWritesBackAs(ml, transformer, "DebertaV2ForSequenceClassification", "spm.model");
    }

    // ModernBERT's shape: rotary positions, sliding windows and GeGLU blocks train; the classifier pools as the config's
    // classifier_pooling says (mean) through a new head (dense, GELU, norm, as ModernBertForSequenceClassification starts),
    // learns the two sentences, and writes back as a ModernBertForSequenceClassification folder with the same probabilities.
    [Fact]
    public void AModernBertFolder_FineTunes_AndWritesBackAsModernBertsClassifier()
    {
        var ml = new MLContext(1);
        var pretrained = PretrainedEncoder.FromHuggingFaceFolder(Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "modernbert"), maxTokens: 16);
        Assert.Equal((160_000f, 2), (pretrained.Encoder.Config.RotaryTheta, pretrained.Encoder.Config.SlidingWindow));
        var options = new TransformerClassifierOptions { Pretrained = pretrained, Epochs = 10, BatchSize = 8, LearningRate = 5e-3f, ValidationFraction = 0, Seed = 3 };
        var transformer = ml.BinaryClassification.Trainers.TransformerClassifier(options).Fit(Data(ml));
        var model = transformer.Model;
        Assert.Equal((true, true, Core.Layers.PoolerActivation.Gelu, Core.Models.Pooling.Mean), (model.Config.Pooler, model.Config.PoolerNorm, model.Config.PoolerActivation, model.Config.Pooling));
        Assert.False(model.Parameters["layers.1.linear1.weight"].Value.SequenceEqual(pretrained.Encoder.Parameters["layers.1.linear1.weight"].Value)); // the GeGLU block trained
        LearnsTheSentences_AndWritesBackAs(ml, transformer, "ModernBertForSequenceClassification", "vocab.txt");
    }

    // The fine-tuned classifier tells the two sentences apart, and written as a Hugging Face folder (the family's
    // *ForSequenceClassification, its tokenizer's file beside it) it reads back to the same probabilities.
    private static void LearnsTheSentences_AndWritesBackAs(MLContext ml, TransformerClassificationTransformer transformer, string architecture, string? tokenizerFile)
    {
        var scored = transformer.Transform(Data(ml));
        Assert.Equal(Enumerable.Range(0, 64).Select(i => i % 2 == 0), scored.GetColumn<bool>("PredictedLabel").ToArray());
        string dir = Directory.CreateTempSubdirectory("fine-tuned").FullName;
        try
        {
            transformer.SaveHuggingFaceFolder(dir);
            Assert.Contains(architecture, File.ReadAllText(Path.Combine(dir, "config.json")));
            if (tokenizerFile is not null) Assert.True(File.Exists(Path.Combine(dir, tokenizerFile)));
            var back = TransformerClassificationTransformer.FromHuggingFaceFolder(dir, maxTokens: 16);
            var expected = scored.GetColumn<float>("Probability").ToArray();
            var actual = back.Transform(Data(ml)).GetColumn<float>("Probability").ToArray();
            for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 5);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void ATokenizerJson_TokenizesAsTheVocabTxt()
    {
        string dir = Directory.CreateTempSubdirectory("tokenizer-json").FullName;
        try
        {
            foreach (var f in Directory.GetFiles(Bert)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
            var lines = File.ReadAllLines(Path.Combine(dir, "vocab.txt"));
            File.Delete(Path.Combine(dir, "vocab.txt"));
            var vocab = new System.Text.Json.Nodes.JsonObject();
            for (int i = 0; i < lines.Length; i++) vocab[lines[i]] = i;
            var json = new System.Text.Json.Nodes.JsonObject
            {
                ["normalizer"] = new System.Text.Json.Nodes.JsonObject { ["type"] = "BertNormalizer", ["lowercase"] = true },
                ["pre_tokenizer"] = new System.Text.Json.Nodes.JsonObject { ["type"] = "BertPreTokenizer" },
                ["model"] = new System.Text.Json.Nodes.JsonObject { ["type"] = "WordPiece", ["unk_token"] = "[UNK]", ["vocab"] = vocab },
            };
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), json.ToJsonString());
            var fromJson = PretrainedEncoder.FromHuggingFaceFolder(dir, maxTokens: 16).Tokenizer;
            var fromTxt = PretrainedEncoder.FromHuggingFaceFolder(Bert, maxTokens: 16).Tokenizer;
            foreach (var text in new[] { "The FILM was great, and fun!", "i loved it so ... not", "" })
            {
                int[] a = new int[16], b = new int[16];
                fromJson.Encode(text, a, new int[16]);
                fromTxt.Encode(text, b, new int[16]);
                Assert.Equal(b, a);
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void BadFineTuningSettings_AreRefusedByName()
    {
        var ml = new MLContext(1);
        var pretrained = PretrainedEncoder.FromHuggingFaceFolder(Bert, maxTokens: 16);
        Assert.Contains("FrozenLayers is 5 but the encoder has 2 blocks", Assert.Throws<ArgumentException>(() =>
            ml.BinaryClassification.Trainers.TransformerClassifier(new TransformerClassifierOptions { Pretrained = pretrained, FrozenLayers = 5, Epochs = 1 }).Fit(Data(ml))).Message);
        Assert.Equal("LayerwiseLearningRateDecay", Assert.Throws<ArgumentOutOfRangeException>(() =>
            ml.BinaryClassification.Trainers.TransformerClassifier(new TransformerClassifierOptions { Pretrained = pretrained, LayerwiseLearningRateDecay = 1.5f })).ParamName);
        Assert.Contains("leave InitialModel and PretrainedTokenizer unset", Assert.Throws<ArgumentException>(() =>
            ml.BinaryClassification.Trainers.TransformerClassifier(new TransformerClassifierOptions { Pretrained = pretrained, InitialModel = pretrained.Encoder })).Message);
        // A vocabulary that does not fit the embedding.
        string dir = Directory.CreateTempSubdirectory("vocab").FullName;
        foreach (var f in Directory.GetFiles(Bert)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        File.AppendAllText(Path.Combine(dir, "vocab.txt"), "extra\n");
        try { Assert.Contains("the vocabulary has 41 tokens but the encoder's embedding has 40 rows", Assert.Throws<InvalidDataException>(() => PretrainedEncoder.FromHuggingFaceFolder(dir)).Message); }
        finally { Directory.Delete(dir, recursive: true); }
    }
}

/// <summary>RoBERTa's tokenizer (byte-level BPE, special ids from its vocabulary) against the reference of make_pretrained.py.</summary>
public class RobertaTokenizationTests
{
    [Fact]
    public void ARobertaFolder_TokenizesAsGpt2sByteLevelBpe_WithItsOwnSpecialIds()
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "roberta");
        var pretrained = PretrainedEncoder.FromHuggingFaceFolder(folder);
        Assert.Equal(24, pretrained.Tokenizer.MaxTokens); // the encoder's positions: 26 rows from offset 2
        // Longer sequences than the tiny encoder takes, to compare whole texts.
        var t = Tokenization.TextTokenizer.FromByteLevelBpeFiles(Path.Combine(folder, "vocab.json"), Path.Combine(folder, "merges.txt"), 64);
        Assert.Equal((0, 2, 1, 3), (t.ClsId, t.SepId, t.PadId, t.UnkId)); // <s>, </s>, <pad>, <unk> as RoBERTa numbers them
        Assert.Equal(pretrained.Encoder.Config.VocabSize - 1, t.MaskId);   // <mask> last, inside the vocabulary
        Assert.Equal(pretrained.Encoder.Config.VocabSize, t.VocabularySize);
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "tokenizer_reference.json")));
        var texts = doc.RootElement.GetProperty("texts").EnumerateArray().Select(e => e.GetString()!).ToArray();
        var ids = doc.RootElement.GetProperty("ids").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToArray();
        for (int i = 0; i < texts.Length; i++)
        {
            var got = new int[64];
            var mask = new int[64];
            int n = t.Encode(texts[i], got, mask);
            Assert.True(ids[i].SequenceEqual(got[..n]), $"'{texts[i]}': [{string.Join(' ', got[..n])}] vs reference [{string.Join(' ', ids[i])}]");
            Assert.All(got[n..], id => Assert.Equal(1, id)); // padded with <pad>
        }
    }
}

/// <summary>A featurizer over a pretrained RoBERTa (byte-level BPE, position offset) saves and loads with the same embeddings.</summary>
public class PretrainedFeaturizerPersistenceTests
{
    private sealed class Row { public string Text { get; set; } = ""; }

    [Fact]
    public void ARobertaFeaturizer_SavesAndLoads_WithTheSameEmbeddings()
    {
        var ml = new MLContext(1);
        var pretrained = PretrainedEncoder.FromHuggingFaceFolder(Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "roberta"));
        var data = ml.Data.LoadFromEnumerable(new[] { new Row { Text = "the film was great" }, new Row { Text = "Café crème 😀" }, new Row { Text = "" } });
        var featurizer = ml.Transforms.Text.FeaturizeWithTransformer(pretrained).Fit(data);
        var before = featurizer.Transform(data).GetColumn<float[]>("Features").ToArray();
        string path = Path.Combine(Directory.CreateTempSubdirectory("roberta-featurizer").FullName, "f.mlnt");
        TransformerModel.Save(ml, featurizer, data.Schema, path);
        var after = TransformerModel.Load(new MLContext(2), path, out _).Transform(data).GetColumn<float[]>("Features").ToArray();
        Assert.Equal(before, after);
        Assert.NotEqual(before[0], before[1]);
        Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
    }
}

/// <summary>
/// MPNet's tokenizer (MPNetTokenizer: BERT's WordPiece and basic rules, its own specials &lt;s&gt; &lt;/s&gt; &lt;pad&gt;
/// &lt;mask&gt; with [UNK], pairs as <c>&lt;s&gt; a &lt;/s&gt;&lt;/s&gt; b &lt;/s&gt;</c> with token types all 0), read from the
/// MPNet fixture's vocab.txt and tokenizer_config.json; it saves, loads and goes back to a Hugging Face folder with them.
/// </summary>
public class MpnetTokenizationTests
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "mpnet");

    private sealed class Row { public string Text { get; set; } = ""; }

    [Fact]
    public void AnMpnetFolder_TokenizesWithItsOwnSpecials_AndJoinsPairsAsMPNetTokenizerDoes()
    {
        var pretrained = PretrainedEncoder.FromHuggingFaceFolder(Folder, maxTokens: 12);
        var t = pretrained.Tokenizer;
        var vocab = File.ReadAllLines(Path.Combine(Folder, "vocab.txt"));
        int Id(string token) => Array.IndexOf(vocab, token);
        Assert.Equal((Id("<s>"), Id("</s>"), Id("<pad>"), Id("<mask>")), (t.ClsId, t.SepId, t.PadId, t.MaskId));
        Assert.True(t.RobertaPairs);
        var ids = new int[12];
        var mask = new int[12];
        int n = t.Encode("The FILM was great, zebra!", ids, mask);
        Assert.Equal(new[] { Id("<s>"), Id("the"), Id("film"), Id("was"), Id("great"), Id(","), Id("[UNK]"), Id("!"), Id("</s>") }, ids[..n]);
        Assert.All(ids[n..], id => Assert.Equal(Id("<pad>"), id));
        var types = new int[12];
        n = t.EncodePair("the film", "was great", ids, mask, types, out _);
        Assert.Equal(new[] { Id("<s>"), Id("the"), Id("film"), Id("</s>"), Id("</s>"), Id("was"), Id("great"), Id("</s>") }, ids[..n]);
        Assert.All(types, v => Assert.Equal(0, v));
    }

    // A vocab.txt without <mask>: MPNet's tokenizer numbers it after the vocabulary, as Hugging Face numbers added tokens.
    [Fact]
    public void AnMpnetVocabularyWithoutItsMaskToken_GetsItAfterItsLastLine()
    {
        var lines = File.ReadAllLines(Path.Combine(Folder, "vocab.txt")).Where(l => l != "<mask>").ToArray();
        var t = Tokenization.TextTokenizer.FromWordPieceVocabularyText(string.Join('\n', lines) + "\n", 8, specials: Tokenization.WordPieceSpecials.MPNet);
        Assert.Equal((lines.Length, lines.Length + 1), (t.MaskId, t.VocabularySize));
        Assert.Equal(Array.IndexOf(lines, "</s>"), t.SepId);
        var e = Assert.Throws<InvalidDataException>(() => Tokenization.TextTokenizer.FromWordPieceVocabularyText(string.Join('\n', lines.Where(l => l != "</s>")), 8, specials: Tokenization.WordPieceSpecials.MPNet));
        Assert.Contains("has no </s> line", e.Message);
    }

    [Fact]
    public void AnMpnetFeaturizer_SavesAndLoads_AndItsFolderWrittenBackReadsTheSame()
    {
        var ml = new MLContext(1);
        var pretrained = PretrainedEncoder.FromHuggingFaceFolder(Folder);
        var data = ml.Data.LoadFromEnumerable(new[] { new Row { Text = "the film was great" }, new Row { Text = "a dull plot , not fun" } });
        var featurizer = ml.Transforms.Text.FeaturizeWithTransformer(pretrained).Fit(data);
        var before = featurizer.Transform(data).GetColumn<float[]>("Features").ToArray();
        string dir = Directory.CreateTempSubdirectory("mpnet").FullName;
        try
        {
            TransformerModel.Save(ml, featurizer, data.Schema, Path.Combine(dir, "f.mlnt"));
            Assert.Equal(before, TransformerModel.Load(new MLContext(2), Path.Combine(dir, "f.mlnt"), out _).Transform(data).GetColumn<float[]>("Features").ToArray());
            pretrained.SaveHuggingFaceFolder(Path.Combine(dir, "hf"));
            Assert.Contains("MPNetTokenizer", File.ReadAllText(Path.Combine(dir, "hf", "tokenizer_config.json")));
            var back = PretrainedEncoder.FromHuggingFaceFolder(Path.Combine(dir, "hf"));
            Assert.Equal((pretrained.Tokenizer.ClsId, pretrained.Tokenizer.SepId, pretrained.Tokenizer.PadId, true), (back.Tokenizer.ClsId, back.Tokenizer.SepId, back.Tokenizer.PadId, back.Tokenizer.RobertaPairs));
            Assert.Equal(before, ml.Transforms.Text.FeaturizeWithTransformer(back).Fit(data).Transform(data).GetColumn<float[]>("Features").ToArray());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
