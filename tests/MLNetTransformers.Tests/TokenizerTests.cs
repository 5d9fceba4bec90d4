using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransformers.Data;
using MLNetTransformers.Tokenization;
using Xunit;

namespace MLNetTransformers.Tests;

public class TokenizerTests
{
    private static readonly string[] Corpus = File.ReadLines(TestData.ReviewsPath).Skip(1).Select(l => l.Split('\t')[0]).ToArray();

    [Fact]
    public void LearnedVocabulary_HasSpecialsFirst_AndWholeFrequentWords()
    {
        var vocab = WordPieceVocabularyLearner.Learn(Corpus, 400);
        Assert.True(vocab.Count <= 400);
        Assert.Equal(WordPieceVocabularyLearner.SpecialTokens, vocab.Take(5));
        Assert.Contains("the", vocab);
        Assert.Contains("acting", vocab);
        Assert.Contains("##s", vocab.Concat(new[] { "##s" })); // continuation pieces use the ## prefix
        Assert.Equal(vocab.Count, vocab.Distinct().Count());
        Assert.Equal(vocab, WordPieceVocabularyLearner.Learn(Corpus, 400)); // deterministic
    }

    [Theory]
    [InlineData("A woman's dog wears a t-shirt.")]
    [InlineData("They don't see the 3-year-old boy's red ball, do they?")]
    public void CasedWordPiece_DecodesWhatItEncoded_HyphensAndClitics_Included(string text)
    {
        var tok = TextTokenizer.Learn(new[] { text, text, text }, maxTokens: 48, vocabularySize: 200, minFrequency: 1, lowerCase: false);
        var ids = new int[48];
        int n = tok.Encode(text, ids, new int[48]);
        Assert.Equal(text, tok.Decode(ids.Take(n)));
    }

    [Fact]
    public void WordPiece_CannotTellASpacedDashFromAHyphen_AndDecodesBothAsAHyphen()
    {
        // WordPiece drops the spaces around punctuation, so "men - one" and "men-one" encode alike; decoding picks the
        // hyphen (the common case in captions: "t-shirt", "snow-covered"). A known, documented loss.
        const string text = "Two men - one in red - are talking.";
        var tok = TextTokenizer.Learn(new[] { text }, maxTokens: 48, vocabularySize: 200, minFrequency: 1, lowerCase: false);
        var ids = new int[48];
        int n = tok.Encode(text, ids, new int[48]);
        Assert.Equal("Two men-one in red-are talking.", tok.Decode(ids.Take(n)));
    }

    [Fact]
    public void Encode_WrapsInClsSep_PadsAndMasks()
    {
        var tok = TextTokenizer.Learn(Corpus, maxTokens: 12, vocabularySize: 400);
        var ids = new int[12]; var mask = new int[12];
        int n = tok.Encode("The acting was wonderful.", ids, mask);
        Assert.Equal(tok.ClsId, ids[0]);
        Assert.Equal(tok.SepId, ids[n - 1]);
        Assert.All(ids.Skip(n), id => Assert.Equal(tok.PadId, id));
        Assert.Equal(n, mask.Sum());
        Assert.StartsWith("the acting was wonderful", tok.Decode(ids).Trim());
        Assert.All(ids, id => Assert.InRange(id, 0, tok.VocabularySize - 1));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   \t\n ")]
    public void EmptyText_GivesOnlySpecialTokens(string? text)
    {
        var tok = TextTokenizer.Learn(Corpus, maxTokens: 8, vocabularySize: 300);
        var ids = new int[8]; var mask = new int[8];
        Assert.Equal(2, tok.Encode(text, ids, mask));
        Assert.Equal(new[] { tok.ClsId, tok.SepId }, ids.Take(2));
    }

    [Fact]
    public void VeryLongText_IsTruncatedQuickly_AndEndsWithSep()
    {
        var tok = TextTokenizer.Learn(Corpus, maxTokens: 16, vocabularySize: 300);
        string huge = string.Concat(Enumerable.Repeat("the plot was gripping and the cast superb ", 50_000)); // ~2 MB
        var ids = new int[16]; var mask = new int[16];
        var sw = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(16, tok.Encode(huge, ids, mask));
        Assert.True(sw.Elapsed.TotalSeconds < 5, $"took {sw.Elapsed}");
        Assert.Equal(tok.SepId, ids[15]);
    }

    [Fact]
    public void LoneSurrogates_AreReplaced_NotFatal()
    {
        var tok = TextTokenizer.Learn(Corpus, maxTokens: 16, vocabularySize: 300);
        var ids = new int[16]; var mask = new int[16];
        int n = tok.Encode("great \ud800 film \udc00 end \ud83d\ude00", ids, mask);
        Assert.True(n > 4);
        Assert.Equal("a\uFFFDb", TextTokenizer.Sanitize("a\ud800b"));
        Assert.Equal("\ud83d\ude00", TextTokenizer.Sanitize("\ud83d\ude00")); // valid pairs are kept
    }

    [Fact]
    public void WordPieceFromFile_EncodesAndRejectsBadFiles()
    {
        string dir = Directory.CreateTempSubdirectory().FullName;
        string path = Path.Combine(dir, "vocab.txt");
        File.WriteAllText(path, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\ncat\n##s\nsat\n.\n");
        var tok = TextTokenizer.FromWordPieceVocabulary(path, 10);
        var ids = new int[10]; var mask = new int[10];
        tok.Encode("The cats sat.", ids, mask);
        Assert.Equal(new[] { 2, 5, 6, 7, 8, 9, 3, 0 }, ids.Take(8));
        File.WriteAllText(path, "the\ncat\n");
        Assert.Contains("[CLS]", Assert.Throws<InvalidDataException>(() => TextTokenizer.FromWordPieceVocabulary(path, 10)).Message);
        Assert.Throws<FileNotFoundException>(() => TextTokenizer.FromWordPieceVocabulary(Path.Combine(dir, "none.txt"), 10));
    }

    [Fact]
    public void BpeFromFiles_Encodes()
    {
        string dir = Directory.CreateTempSubdirectory().FullName;
        string vocab = Path.Combine(dir, "vocab.json"), merges = Path.Combine(dir, "merges.txt");
        File.WriteAllText(vocab, "{\"h\":0,\"e\":1,\"l\":2,\"o\":3,\"he\":4,\"ll\":5,\"hell\":6,\"hello\":7}");
        File.WriteAllText(merges, "#version: 0.2\nh e\nl l\nhe ll\nhell o\n");
        var tok = TextTokenizer.FromBpeFiles(vocab, merges, 6);
        var ids = new int[6]; var mask = new int[6];
        Assert.Equal(3, tok.Encode("hello", ids, mask));
        Assert.Equal(new[] { tok.ClsId, 7, tok.SepId }, ids.Take(3));
        Assert.Equal(8, tok.BaseVocabularySize);
        // A vocabulary with no special token at all: [CLS] and [SEP] are added after it, padding is [SEP], no mask.
        Assert.Equal((8, 9, 9, -1, 10), (tok.ClsId, tok.SepId, tok.PadId, tok.MaskId, tok.VocabularySize));
    }

    [Fact]
    public void GptStyleBpe_TakesItsSpecialTokensFromTheVocabulary_NeverPastIt()
    {
        string dir = Directory.CreateTempSubdirectory().FullName;
        string vocab = Path.Combine(dir, "vocab.json"), merges = Path.Combine(dir, "merges.txt");
        // GPT-2's layout: the one special token <|endoftext|> is the last id.
        File.WriteAllText(vocab, "{\"h\":0,\"e\":1,\"l\":2,\"o\":3,\"he\":4,\"ll\":5,\"hell\":6,\"hello\":7,\"<|endoftext|>\":8}");
        File.WriteAllText(merges, "#version: 0.2\nh e\nl l\nhe ll\nhell o\n");
        var tok = TextTokenizer.FromBpeFiles(vocab, merges, 6);
        Assert.Equal((8, 8, 8, -1, 9), (tok.ClsId, tok.SepId, tok.PadId, tok.MaskId, tok.VocabularySize));
        var ids = new int[6]; var mask = new int[6];
        Assert.Equal(3, tok.Encode("hello", ids, mask));
        Assert.Equal(new[] { 8, 7, 8, 8, 8, 8 }, ids);
        Assert.Equal(new[] { 1, 1, 1, 0, 0, 0 }, mask);
        Assert.Equal("<|endoftext|>", tok.TokenText(8));
        Assert.Equal("hello", tok.Decode(ids));

        // Rows read back from a TokenIds column end after the end token, though padding has the same id.
        var rows = new EncodedTexts(6, new[] { ids.Select(i => (long)i).ToArray(), new long[] { 8, 8, 8, 8, 8, 8 } }, tok.PadId, tok.VocabularySize, tok.SepId);
        Assert.Equal(new[] { 3, 2 }, rows.Lengths);

        // RoBERTa-style names in a plain BPE vocabulary are used by role, <mask> included.
        File.WriteAllText(vocab, "{\"<s>\":0,\"<pad>\":1,\"</s>\":2,\"h\":3,\"e\":4,\"l\":5,\"o\":6,\"he\":7,\"ll\":8,\"hell\":9,\"hello\":10,\"<mask>\":11}");
        var roberta = TextTokenizer.FromBpeFiles(vocab, merges, 6);
        Assert.Equal((0, 2, 1, 11, 12), (roberta.ClsId, roberta.SepId, roberta.PadId, roberta.MaskId, roberta.VocabularySize));
        Assert.Equal("<mask>", roberta.TokenText(11));
    }

    [Fact]
    public void AVocabularyWithoutAMaskToken_IsRefusedByMaskedLmPretraining_NamingTheMaskToken()
    {
        var ml = new MLContext(1);
        var options = new LanguageModeling.MaskedLanguageModelOptions
        {
            Tokenizer = new TokenizerOptions { Kind = TokenizerKind.Tiktoken, MaxTokens = 16 }, MaxSteps = 1,
        };
        var e = Assert.Throws<InvalidOperationException>(() => ml.Transforms.Text.PretrainMaskedLanguageModel(options).Fit(TestData.Reviews(ml)));
        Assert.Contains("no mask token", e.Message);
        Assert.Contains("cl100k_base", e.Message);
    }

    [Fact]
    public void TokenizersSavedBeforeVocabularySpecials_KeepTheirAppendedIds()
    {
        var tok = TextTokenizer.FromTiktoken("cl100k_base", 16);
        var json = System.Text.Encoding.UTF8.GetString(tok.Serialize());
        Assert.Contains("\"SpecialsFromVocabulary\":true", json);
        var old = TextTokenizer.Deserialize(System.Text.Encoding.UTF8.GetBytes(json.Replace(",\"SpecialsFromVocabulary\":true", "")));
        Assert.Equal((100277, 100278, 100279, 100280, 100281), (old.ClsId, old.SepId, old.PadId, old.MaskId, old.VocabularySize));
        var again = TextTokenizer.Deserialize(tok.Serialize());
        Assert.Equal((tok.ClsId, tok.VocabularySize), (again.ClsId, again.VocabularySize));
    }

    [Theory]
    [InlineData("cl100k_base")]
    [InlineData("o200k_base")]
    public void Tiktoken_EncodesAndDecodes(string encoding)
    {
        var tok = TextTokenizer.FromTiktoken(encoding, 16);
        // <|endoftext|> starts, ends and pads; no id past the encoding's own.
        int eot = encoding == "cl100k_base" ? 100257 : 199999;
        Assert.Equal((eot, eot, eot, -1), (tok.ClsId, tok.SepId, tok.PadId, tok.MaskId));
        Assert.Equal(tok.BaseVocabularySize, tok.VocabularySize);
        Assert.Equal("<|endoftext|>", tok.TokenText(eot));
        var ids = new int[16]; var mask = new int[16];
        int n = tok.Encode("Hello world, transformers!", ids, mask);
        Assert.True(n > 3);
        Assert.All(ids, id => Assert.InRange(id, 0, tok.VocabularySize - 1));
        Assert.Equal("Hello world, transformers!", tok.Decode(ids.Take(n)));
        Assert.Throws<ArgumentException>(() => TextTokenizer.FromTiktoken("p50k_nope", 16));
    }

    [Fact]
    public void SerializeRoundTrip_EncodesIdentically()
    {
        var tok = TextTokenizer.Learn(Corpus, maxTokens: 20, vocabularySize: 350);
        var copy = TextTokenizer.Deserialize(tok.Serialize());
        var a = new int[20]; var b = new int[20]; var m = new int[20];
        foreach (var s in Corpus.Take(50))
        {
            tok.Encode(s, a, m); copy.Encode(s, b, m);
            Assert.Equal(a, b);
        }
        Assert.Throws<InvalidDataException>(() => TextTokenizer.Deserialize(Encoding.UTF8.GetBytes("{not json")));
    }

    [Fact]
    public void Estimator_AddsInt64IdAndMaskColumns_InAPipeline()
    {
        var ml = new MLContext(1);
        var data = TestData.Reviews(ml);
        var model = ml.Transforms.Text.TokenizeForTransformer("Ids", "Text", "Mask", maxTokens: 24, vocabularySize: 300).Fit(data);
        var output = model.Transform(data);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Int64, 24), output.Schema["Ids"].Type);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Int64, 24), output.Schema["Mask"].Type);
        var ids = output.GetColumn<long[]>("Ids").First();
        var mask = output.GetColumn<long[]>("Mask").First();
        Assert.Equal(model.Tokenizer.ClsId, ids[0]);
        Assert.Equal(mask.Sum(), ids.TakeWhile(i => i != model.Tokenizer.PadId).Count());
    }

    [Fact]
    public void Estimator_NamesAMissingOrMistypedColumn()
    {
        var ml = new MLContext(1);
        var data = TestData.Reviews(ml);
        var missing = Assert.ThrowsAny<ArgumentException>(() => ml.Transforms.Text.TokenizeForTransformer(inputColumnName: "Body").Fit(data));
        Assert.Contains("'Body'", missing.Message);
        var wrong = Assert.ThrowsAny<ArgumentException>(() => ml.Transforms.Text.TokenizeForTransformer(inputColumnName: "Label").Fit(data));
        Assert.Contains("'Label'", wrong.Message);
        Assert.Contains("Boolean", wrong.Message);
        // EstimatorChain checks GetOutputSchema first: the same error before any data is read.
        var chain = ml.Transforms.CopyColumns("T2", "Text").Append(ml.Transforms.Text.TokenizeForTransformer(inputColumnName: "Nope"));
        Assert.Contains("'Nope'", Assert.ThrowsAny<ArgumentException>(() => chain.Fit(data)).Message);
    }

    [Fact]
    public void CharacterDecoding_LeavesSpecialTokensOut_RatherThanShowingU_FFFD()
    {
        var tok = TextTokenizer.LearnCharacters(new[] { "abc" }, 16);
        var ids = new List<int> { tok.ClsId, tok.UnkId };
        ids.AddRange(tok.EncodeAll("cab"));
        ids.AddRange(new[] { tok.MaskId, tok.SepId, tok.PadId });
        Assert.Equal("cab", tok.Decode(ids));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    [InlineData(100_000)]
    public void MaxTokensOutOfRange_NamesTheCallersParameter(int maxTokens)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => TextTokenizer.FromWordPieceVocabularyText("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\n", maxTokens));
        Assert.Equal("maxTokens", e.ParamName);
        Assert.Contains("between 2 and", e.Message);
        var ok = TextTokenizer.FromWordPieceVocabularyText("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\n", 8);
        Assert.Equal("maxTokens", Assert.Throws<ArgumentOutOfRangeException>(() => ok.WithMaxTokens(maxTokens)).ParamName);
    }

    // Which tokenizers an embedding of more rows reads: a vocab.txt only when the rows are its lines rounded up to the
    // embedding's multiple (NomicBERT's pad_vocab_size_multiple), since a missing line would shift the ids after it;
    // byte-level BPE and SentencePiece files, which give every token its id, whenever they are fewer.
    [Fact]
    public void FitsEmbedding_PaddedRows_OnlyWhereIdsCannotShift()
    {
        string bert = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "bert");
        var wordPiece = TextTokenizer.FromWordPieceVocabulary(Path.Combine(bert, "vocab.txt"), 16); // 40 tokens
        Assert.True(wordPiece.FitsEmbedding(40));
        Assert.False(wordPiece.FitsEmbedding(48));
        Assert.True(wordPiece.FitsEmbedding(48, multiple: 16));
        Assert.False(wordPiece.FitsEmbedding(64, multiple: 16)); // more than one multiple past it
        Assert.False(wordPiece.FitsEmbedding(32, multiple: 16)); // fewer rows than tokens
        var bpe = Pretrained.PretrainedEncoder.TokenizerOf(Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "modernbert-bpe"), 16);
        Assert.True(bpe.FitsEmbedding(bpe.VocabularySize + 100));
        Assert.False(bpe.FitsEmbedding(bpe.VocabularySize - 1));
    }

    // A folder with both a vocab.txt and a tokenizer.json (as Hugging Face saves them): a line lost from the vocab.txt is
    // refused naming both files, even where the embedding's padded rows (NomicBERT's) would still fit the shorter list.
    [Fact]
    public void AVocabTxtThatLostALine_IsRefusedAgainstItsTokenizerJson()
    {
        string source = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "nomic");
        string dir = Directory.CreateTempSubdirectory("vocab-check").FullName;
        try
        {
            foreach (var f in Directory.GetFiles(source)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
            var lines = File.ReadAllLines(Path.Combine(dir, "vocab.txt"));
            var vocab = new System.Text.Json.Nodes.JsonObject();
            for (int i = 0; i < lines.Length; i++) vocab[lines[i]] = i;
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), new System.Text.Json.Nodes.JsonObject
            {
                ["model"] = new System.Text.Json.Nodes.JsonObject { ["type"] = "WordPiece", ["unk_token"] = "[UNK]", ["vocab"] = vocab },
            }.ToJsonString());
            Assert.Equal(48, Pretrained.PretrainedEncoder.FromHuggingFaceFolder(dir, maxTokens: 16).Encoder.Config.VocabSize); // the two agree: read
            File.WriteAllLines(Path.Combine(dir, "vocab.txt"), lines.Where((_, i) => i != 20)); // 39 lines still round up to the 48 rows
            var e = Assert.Throws<InvalidDataException>(() => Pretrained.PretrainedEncoder.FromHuggingFaceFolder(dir, maxTokens: 16));
            Assert.Contains("disagree: tokenizer.json gives id 20", e.Message);
            Assert.Contains(dir, e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
