using MLNetTransformers.Tokenization;
using Xunit;

namespace MLNetTransformers.Tests;

/// <summary>
/// XLM-RoBERTa's tokenizer: a SentencePiece model (Fixtures/pretrained/xlmr-tokenizer, made with sentencepiece by
/// make_sentencepiece_reference.py) numbered as transformers' XLMRobertaTokenizer numbers it, on multilingual texts.
/// </summary>
public class SentencePieceTokenizerTests
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "xlmr-tokenizer");

    private static int[] Ids(TextTokenizer tokenizer, string text) => TokenizerReference.Encode(tokenizer, text);

    [Fact]
    public void Ids_EqualTheReferenceTokenizers_OnMultilingualTexts()
    {
        var (texts, expected, pieces) = TokenizerReference.Load(Folder);
        var tokenizer = Pretrained.PretrainedEncoder.TokenizerOf(Folder, 64);
        Assert.Equal(TokenizerKind.SentencePiece, tokenizer.Kind);
        Assert.Equal((0, 1, 2, 3, pieces + 1, pieces + 2), (tokenizer.ClsId, tokenizer.PadId, tokenizer.SepId, tokenizer.UnkId, tokenizer.MaskId, tokenizer.VocabularySize));
        var saved = TextTokenizer.Deserialize(tokenizer.Serialize()); // what a saved model reads back
        for (int i = 0; i < texts.Length; i++)
        {
            Assert.Equal(expected[i], Ids(tokenizer, texts[i]));
            Assert.Equal(expected[i], Ids(saved, texts[i]));
        }
        Assert.Equal("the film was great and fun.", tokenizer.Decode(expected[0]));
    }

    // A folder with only tokenizer.json (make_unigram_tokenizer_json.py writes it from the model as Hugging Face's
    // converter does): the SentencePiece model rebuilt from its Unigram vocabulary and character map gives the same ids.
    [Fact]
    public void AUnigramTokenizerJsonAlone_GivesTheModelsIds()
    {
        var (texts, expected, _) = TokenizerReference.Load(Folder);
        string dir = Directory.CreateTempSubdirectory("unigram-json").FullName;
        try
        {
            string json = File.ReadAllText(Path.Combine(Folder, "tokenizer.json"));
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), json);
            var tokenizer = Pretrained.PretrainedEncoder.TokenizerOf(dir, 64);
            Assert.Equal(TokenizerKind.SentencePiece, tokenizer.Kind);
            var fromModel = TextTokenizer.FromSentencePieceModel(Path.Combine(Folder, "sentencepiece.bpe.model"), 64);
            Assert.Equal((fromModel.MaskId, fromModel.VocabularySize), (tokenizer.MaskId, tokenizer.VocabularySize));
            for (int i = 0; i < texts.Length; i++) Assert.Equal(expected[i], Ids(tokenizer, texts[i]));

            // Another Unigram layout (T5's numbering) and byte fallback are refused naming the file.
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), json.Replace("\"unk_id\": 3", "\"unk_id\": 2"));
            Assert.Contains("tokenizer.json' holds a Unigram tokenizer numbered neither as XLM-RoBERTa's", Assert.Throws<NotSupportedException>(() => Pretrained.PretrainedEncoder.TokenizerOf(dir, 64)).Message);
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), json.Replace("\"byte_fallback\": false", "\"byte_fallback\": true"));
            Assert.Contains("byte fallback is not read", Assert.Throws<NotSupportedException>(() => Pretrained.PretrainedEncoder.TokenizerOf(dir, 64)).Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // TokenizerOptions with Kind SentencePiece reads any of the three layouts, told apart by the model's own pieces, each
    // with its family's text rules: the same ids as the family's own factory.
    [Theory]
    [InlineData("xlmr-tokenizer", "sentencepiece.bpe.model")]
    [InlineData("albert-tokenizer", "spiece.model")]
    [InlineData("deberta-tokenizer", "spm.model")]
    public void TokenizerOptions_TellTheLayoutByTheModelsPieces(string fixture, string file)
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", fixture);
        var options = new TokenizerOptions { Kind = TokenizerKind.SentencePiece, VocabularyFile = Path.Combine(dir, file), MaxTokens = 64 };
        var tokenizer = options.Build(() => []);
        var (texts, expected, _) = TokenizerReference.Load(dir);
        for (int i = 0; i < texts.Length; i++) Assert.Equal(expected[i], Ids(tokenizer, texts[i]));
        var missing = new TokenizerOptions { Kind = TokenizerKind.SentencePiece, MaxTokens = 16 };
        Assert.Contains("needs VocabularyFile", Assert.Throws<ArgumentException>(() => missing.Build(() => [])).Message);
    }

    [Fact]
    public void Pairs_TakeRobertasForm_AndLongTextsAreCut()
    {
        var tokenizer = TextTokenizer.FromSentencePieceModel(Path.Combine(Folder, "sentencepiece.bpe.model"), 24);
        Assert.True(tokenizer.RobertaPairs);
        var a = Ids(tokenizer.WithMaxTokens(64), "the film")[1..^1];
        var b = Ids(tokenizer.WithMaxTokens(64), "was fun")[1..^1];
        var (ids, mask, types) = (new int[24], new int[24], new int[24]);
        int n = tokenizer.EncodePair("the film", "was fun", ids, mask, types, out bool cut);
        Assert.False(cut);
        Assert.Equal([0, .. a, 2, 2, .. b, 2], ids[..n]);
        Assert.All(types, t => Assert.Equal(0, t));
        Assert.True(tokenizer.Encode("the film was great and the story was fun and i loved it, but the plot was dull and the end was bad", ids, mask, out bool truncated) == 24 && truncated);
        Assert.Equal(2, ids[23]);
    }

    [Fact]
    public void ABrokenModelFile_IsRefusedNamingIt()
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("bad-spm").FullName, "sentencepiece.bpe.model");
        File.WriteAllBytes(path, File.ReadAllBytes(Path.Combine(Folder, "sentencepiece.bpe.model"))[..200]);
        try { Assert.Contains(path, Assert.Throws<InvalidDataException>(() => TextTokenizer.FromSentencePieceModel(path, 16)).Message); }
        finally { Directory.Delete(Path.GetDirectoryName(path)!, recursive: true); }
    }

    // Multilingual checkpoints (multilingual E5, paraphrase-multilingual-MiniLM) pad their embeddings past the tokenizer's
    // ids: a SentencePiece tokenizer may have fewer tokens than the embedding has rows, never more.
    [Theory]
    [InlineData(140, true)]
    [InlineData(100, false)]
    public async Task AFolderWithSentencePiece_LoadsWhenTheEmbeddingHoldsEveryId(int rows, bool loads)
    {
        var encoder = new Core.Models.TransformerEncoder(new Core.Models.TransformerConfig
        {
            VocabSize = rows, ModelDim = 16, Layers = 1, Heads = 2, FeedForwardDim = 32, MaxLength = 32, TypeVocabSize = 2, Dropout = 0f,
            Norm = Core.Models.NormPlacement.PostNorm, PositionalEncoding = Core.Layers.PositionalEncodingKind.Learned, EmbeddingNorm = true,
            LayerNormEps = 1e-12f, Activation = Core.Kernels.Activation.Gelu,
        });
        string dir = Directory.CreateTempSubdirectory("spm-folder").FullName;
        try
        {
            Core.Pretrained.PretrainedCheckpoint.SaveFolder(encoder, dir);
            File.Copy(Path.Combine(Folder, "sentencepiece.bpe.model"), Path.Combine(dir, "sentencepiece.bpe.model"));
            if (!loads)
            {
                Assert.Contains("the vocabulary has 122 tokens but the encoder's embedding has 100 rows", Assert.Throws<InvalidDataException>(() => Pretrained.PretrainedEncoder.FromHuggingFaceFolder(dir)).Message);
                return;
            }
            var loaded = Pretrained.PretrainedEncoder.FromHuggingFaceFolder(dir, maxTokens: 16);
            Assert.Equal(TokenizerKind.SentencePiece, loaded.Tokenizer.Kind);
            using var generator = new Embeddings.TransformerEmbeddingGenerator(loaded);
            string[] texts = ["Der Film war großartig", "Фильм был отличный"];
            var vectors = await generator.GenerateAsync(texts);
            Assert.All(vectors, v => Assert.True(v.Vector.Length == 16 && v.Vector.ToArray().All(float.IsFinite)));

            // Written back (the model file as it was), it reads to the same ids and embeddings.
            string again = Path.Combine(dir, "again");
            loaded.SaveHuggingFaceFolder(again);
            Assert.Equal(File.ReadAllBytes(Path.Combine(Folder, "sentencepiece.bpe.model")), File.ReadAllBytes(Path.Combine(again, "sentencepiece.bpe.model")));
            var reread = Pretrained.PretrainedEncoder.FromHuggingFaceFolder(again, maxTokens: 16);
            foreach (var text in texts) Assert.Equal(Ids(loaded.Tokenizer, text), Ids(reread.Tokenizer, text));
            using var generator2 = new Embeddings.TransformerEmbeddingGenerator(reread);
            var vectors2 = await generator2.GenerateAsync(texts);
            for (int i = 0; i < texts.Length; i++) Assert.Equal(vectors[i].Vector.ToArray(), vectors2[i].Vector.ToArray());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // 300 model files with bytes changed or cut short, for each layout (XLM-RoBERTa's, ALBERT's, DeBERTa's): each is read
    // (and then encodes) or refused naming the file; none crashes or hangs. (A changed score or piece text may read as
    // another valid model: the file has no checksum.)
    [Theory]
    [InlineData("xlmr-tokenizer", "sentencepiece.bpe.model", 20261206)]
    [InlineData("albert-tokenizer", "spiece.model", 20261218)]
    [InlineData("deberta-tokenizer", "spm.model", 20261219)]
    public async Task MutatedModelFiles_ReadOrAreRefusedNamingTheFile(string fixture, string file, int seed)
    {
        var original = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", fixture, file));
        Func<string, TextTokenizer> read = file switch
        {
            "spiece.model" => path => TextTokenizer.FromAlbertSentencePieceModel(path, 32),
            "spm.model" => path => TextTokenizer.FromDebertaSentencePieceModel(path, 32),
            _ => path => TextTokenizer.FromSentencePieceModel(path, 32),
        };
        string dir = Directory.CreateTempSubdirectory("spm-fuzz").FullName;
        var rng = new Random(seed);
        var failures = new List<string>();
        try
        {
            for (int c = 0; c < 300; c++)
            {
                var bytes = (byte[])original.Clone();
                if (c % 3 == 2) Array.Resize(ref bytes, rng.Next(bytes.Length));
                else for (int k = rng.Next(1, 4); k > 0; k--) bytes[c % 3 == 0 ? rng.Next(Math.Min(bytes.Length, 4000)) : rng.Next(bytes.Length)] = (byte)rng.Next(256);
                string path = Path.Combine(dir, $"case{c}.model");
                File.WriteAllBytes(path, bytes);
                var task = Task.Run(() => Ids(read(path), "Le film était génial; ¿Qué? Ελληνικά عربى 한국어 Der Film, 東京 😀"));
                if (await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(30))) != task) { failures.Add($"case {c}: hung"); continue; }
                if (task.Exception?.InnerException is { } e && !(e is InvalidDataException && e.Message.Contains(path, StringComparison.Ordinal)))
                    failures.Add($"case {c}: {e.GetType().Name}: {e.Message}");
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(10)));
    }
}
