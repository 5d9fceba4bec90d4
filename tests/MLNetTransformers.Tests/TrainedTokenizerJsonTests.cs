using System.Text.Json;
using System.Text.Json.Nodes;
using MLNetTransformers.Pretrained;
using MLNetTransformers.Tokenization;
using Xunit;

namespace MLNetTransformers.Tests;

/// <summary>
/// tokenizer.json files as Hugging Face's tokenizers trains them (its quick tour's) and DNABERT-2's is (make_pretrained.py:
/// bpe-tokenizer/, a BPE over characters with the Whitespace pre-tokenizer; bpe-tokenizer-subword/, with Lowercase,
/// WhitespaceSplit, a "##" prefix, a "&lt;/w&gt;" suffix and fused unknowns; wordpiece-tokenizer/, a WordPiece after NFD,
/// Lowercase, StripAccents and Whitespace; mosaic-dna/ a MosaicBERT with a DNA vocabulary): ids and pairs as the reference
/// forms them, the same after saving and after writing back, and the options that would tokenize otherwise refused by name.
/// </summary>
public class TrainedTokenizerJsonTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", name);

    [Theory]
    [InlineData("bpe-tokenizer", TokenizerKind.Bpe)]
    [InlineData("bpe-tokenizer-subword", TokenizerKind.Bpe)]
    [InlineData("wordpiece-tokenizer", TokenizerKind.WordPiece)]
    public void Ids_AndPairs_EqualTheReference_AlsoAfterSavingAndWritingBack(string fixture, TokenizerKind kind)
    {
        var tokenizer = PretrainedEncoder.TokenizerOf(Fixture(fixture), 160);
        Assert.Equal((kind, false, false), (tokenizer.Kind, tokenizer.RobertaPairs, tokenizer.MaskTakesPrecedingSpace));
        Assert.Equal(["[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]"], new[] { tokenizer.ClsId, tokenizer.SepId, tokenizer.PadId, tokenizer.MaskId, tokenizer.UnkId }.Select(tokenizer.TokenText));
        var files = tokenizer.HuggingFaceFiles();
        Assert.Equal(["tokenizer.json"], files.Select(f => f.Name));
        string dir = Directory.CreateTempSubdirectory("bpe-tokenizer").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(dir, "tokenizer.json"), files[0].Contents);
            foreach (var t in new[] { tokenizer, TextTokenizer.Deserialize(tokenizer.Serialize()), PretrainedEncoder.TokenizerOf(dir, 160) })
                TokenizerReference.AssertEncodesAsReference(t, Fixture(fixture));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // Rust's to_lowercase, which the Lowercase normalizer runs, and .NET's invariant lower case differ on İ and a word-final Σ.
    [Fact]
    public void TheLowercaseNormalizer_LowerCasesAsRustDoes()
    {
        var tokenizer = PretrainedEncoder.TokenizerOf(Fixture("bpe-tokenizer-subword"), 32);
        Assert.Equal(TokenizerReference.Encode(tokenizer, "i\u0307stanbul οδος"), TokenizerReference.Encode(tokenizer, "İstanbul ΟΔΟΣ"));
        Assert.NotEqual(TokenizerReference.Encode(tokenizer, "istanbul"), TokenizerReference.Encode(tokenizer, "İstanbul"));
    }

    [Theory]
    [InlineData("pre_tokenizer", """{"type":"Metaspace","replacement":"▁"}""", "the pre-tokenizer 'Metaspace' is not read")]
    [InlineData("pre_tokenizer", "null", "the pre-tokenizer 'none' is not read")]
    [InlineData("model.byte_fallback", "true", "byte_fallback is not read")]
    [InlineData("model.ignore_merges", "true", "ignore_merges is not read")]
    [InlineData("model.dropout", "0.1", "dropout 0.1 is not read")]
    [InlineData("normalizer", """{"type":"Replace","pattern":{"String":"a"},"content":"b"}""", "normalizer 'Replace' is not read")]
    public void AnOptionThatWouldTokenizeOtherwise_IsRefusedByName(string key, string value, string message)
    {
        var e = Assert.Throws<NotSupportedException>(() => WithChange(key, value));
        Assert.Contains(message, e.Message);
        Assert.Contains("tokenizer.json", e.Message);
    }

    [Theory]
    [InlineData("model.unk_token", "\"<unknown>\"", "its unknown token '<unknown>' is not in the vocabulary")]
    [InlineData("model.merges", """[["t", "h"], ["th e", "x"]]""", "the merge [\"th e\",\"x\"] is not two pieces without spaces")]
    [InlineData("model.merges", """[["t", "zz"]]""", "could not be read")]
    public void ADamagedModel_IsRefusedNamingTheFile(string key, string value, string message)
    {
        var e = Assert.Throws<InvalidDataException>(() => WithChange(key, value));
        Assert.Contains(message, e.Message);
        Assert.Contains("tokenizer.json", e.Message);
    }

    // A fixture's tokenizer.json with one entry (a dotted path) replaced, read as a folder's tokenizer.
    private static TextTokenizer WithChange(string key, string value, string fixture = "bpe-tokenizer")
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixture(fixture), "tokenizer.json")))!.AsObject();
        var parts = key.Split('.');
        var owner = parts.Length == 1 ? json : json[parts[0]]!.AsObject();
        owner[parts[^1]] = JsonNode.Parse(value);
        string dir = Directory.CreateTempSubdirectory("bpe-tokenizer-changed").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), json.ToJsonString());
            return PretrainedEncoder.TokenizerOf(dir, 32);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // A WordPiece tokenizer.json is read with BERT's basic tokenization only when its normalizer and pre-tokenizer are BERT's
    // (bert-base-uncased's: BertNormalizer, BertPreTokenizer); settings under which BERT's would tokenize otherwise are refused.
    [Theory]
    [InlineData("pre_tokenizer", """{"type":"Metaspace"}""", "a WordPiece with the pre-tokenizer 'Metaspace' is not read")]
    [InlineData("model.continuing_subword_prefix", "\"@@\"", "continuing_subword_prefix '@@' is not read")]
    [InlineData("model.max_input_chars_per_word", "200", "max_input_chars_per_word 200 is not read")]
    [InlineData("normalizer", """{"type":"BertNormalizer","lowercase":true,"strip_accents":false}""", "strip_accents false and lowercase true is not read")]
    [InlineData("normalizer", """{"type":"BertNormalizer","lowercase":true,"clean_text":false}""", "without clean_text or handle_chinese_chars is not read")]
    [InlineData("normalizer", """{"type":"BertNormalizer","lowercase":true}""", "a BertNormalizer with the pre-tokenizer 'Whitespace' is not read")]
    public void AWordPieceSettingThatWouldTokenizeOtherwise_IsRefusedByName(string key, string value, string message)
    {
        var e = Assert.Throws<NotSupportedException>(() => WithChange(key, value, "wordpiece-tokenizer"));
        Assert.Contains(message, e.Message);
        Assert.Contains("tokenizer.json", e.Message);
    }

    // A WordPiece tokenizer.json whose unknown token is not BERT's [UNK] (its model's unk_token, <unk>): a word it cannot
    // spell becomes that token, and the file written back names it again.
    [Fact]
    public void AWordPiecesOwnUnknownToken_IsTheOneUnknownWordsBecome()
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixture("wordpiece-tokenizer"), "tokenizer.json")))!.AsObject();
        var vocab = json["model"]!["vocab"]!.AsObject();
        int id = vocab["[UNK]"]!.GetValue<int>();
        vocab.Remove("[UNK]");
        vocab["<unk>"] = id;
        json["model"]!["unk_token"] = "<unk>";
        string dir = Directory.CreateTempSubdirectory("wordpiece-unk").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), json.ToJsonString());
            var tokenizer = PretrainedEncoder.TokenizerOf(dir, 16);
            Assert.Equal((id, "<unk>"), (tokenizer.UnkId, tokenizer.TokenText(tokenizer.UnkId)));
            Assert.Equal(id, TokenizerReference.Encode(tokenizer, "?!")[1]);
            File.WriteAllBytes(Path.Combine(dir, "tokenizer.json"), tokenizer.HuggingFaceFiles()[0].Contents);
            Assert.Equal("<unk>", JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "tokenizer.json")))!["model"]!["unk_token"]!.GetValue<string>());
            Assert.Equal(id, PretrainedEncoder.TokenizerOf(dir, 16).UnkId);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // bert-base-uncased's own layout reads as BERT's basic tokenization: the same ids as its vocab.txt.
    [Fact]
    public void BertsTokenizerJson_ReadsAsItsVocabTxt()
    {
        var lines = File.ReadAllLines(Path.Combine(Fixture("bert"), "vocab.txt"));
        var vocab = new JsonObject();
        for (int i = 0; i < lines.Length; i++) vocab[lines[i]] = i;
        var json = new JsonObject
        {
            ["normalizer"] = new JsonObject { ["type"] = "BertNormalizer", ["clean_text"] = true, ["handle_chinese_chars"] = true, ["strip_accents"] = null, ["lowercase"] = true },
            ["pre_tokenizer"] = new JsonObject { ["type"] = "BertPreTokenizer" },
            ["model"] = new JsonObject { ["type"] = "WordPiece", ["unk_token"] = "[UNK]", ["continuing_subword_prefix"] = "##", ["max_input_chars_per_word"] = 100, ["vocab"] = vocab },
        };
        string dir = Directory.CreateTempSubdirectory("bert-tokenizer-json").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), json.ToJsonString());
            var fromJson = PretrainedEncoder.TokenizerOf(dir, 32);
            var fromTxt = PretrainedEncoder.TokenizerOf(Fixture("bert"), 32);
            foreach (var text in new[] { "The FILM was great, and fun!", "i loved it so ... not", "Café?!", "" })
                Assert.Equal(TokenizerReference.Encode(fromTxt, text), TokenizerReference.Encode(fromJson, text));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // A tokenizer.json given to TokenizerOptions (as a model trained from scratch takes its tokenizer) is read as its model
    // says, the same tokenizer as the folder's; a kind it does not hold is refused naming both.
    [Theory]
    [InlineData("bpe-tokenizer", TokenizerKind.Bpe)]
    [InlineData("modernbert-bpe", TokenizerKind.ByteLevelBpe)]
    [InlineData("albert-tokenizer", TokenizerKind.SentencePiece)]
    [InlineData("wordpiece-tokenizer", TokenizerKind.WordPiece)]
    public void TokenizerOptions_TakeATokenizerJson_OfItsKind(string fixture, TokenizerKind kind)
    {
        string file = Path.Combine(Fixture(fixture), "tokenizer.json");
        var tokenizer = new TokenizerOptions { Kind = kind, VocabularyFile = file, MaxTokens = 64 }.Build(() => []);
        var folders = PretrainedEncoder.TokenizerOf(Fixture(fixture), 64);
        Assert.Equal(kind, tokenizer.Kind);
        foreach (var text in new[] { "the film was great and fun.", "Café crème 😀 東京 12.5%", "" })
            Assert.Equal(TokenizerReference.Encode(folders, text), TokenizerReference.Encode(tokenizer, text));
        var other = kind == TokenizerKind.Bpe ? TokenizerKind.WordPiece : TokenizerKind.Bpe;
        var e = Assert.Throws<ArgumentException>(() => new TokenizerOptions { Kind = other, VocabularyFile = file, MaxTokens = 64 }.Build(() => []));
        Assert.Contains($"holds a {kind} tokenizer, but the tokenizer kind is {other}", e.Message);
    }

    // A DNABERT-2-shaped folder (MosaicBERT weights, a DNA tokenizer.json, no vocab.txt): its tokenizer gives the reference
    // ids of DNA texts (lower case is not in its vocabulary), and the encoder PyTorch's hidden states of them.
    [Fact]
    public void ADnaFolder_TokenizesAndEncodesAsPyTorch()
    {
        var encoder = PretrainedEncoder.FromHuggingFaceFolder(Fixture("mosaic-dna"), maxTokens: 32);
        Assert.Equal(TokenizerKind.Bpe, encoder.Tokenizer.Kind);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixture("mosaic-dna"), "expected.json")));
        var root = doc.RootElement;
        var texts = root.GetProperty("texts").EnumerateArray().Select(t => t.GetString()!).ToArray();
        var batch = root.GetProperty("input_ids").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToArray();
        var mask = root.GetProperty("attention_mask").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToArray();
        int B = batch.Length, T = batch[0].Length, d = encoder.Encoder.Config.ModelDim;
        for (int b = 0; b < B; b++)
            Assert.Equal(batch[b].Take(mask[b].Sum()), TokenizerReference.Encode(encoder.Tokenizer, texts[b]));
        Assert.Contains(encoder.Tokenizer.UnkId, batch[1]);
        var ids = batch.SelectMany(r => r).ToArray();
        var hidden = encoder.Encoder.Forward(ids, null, B, T, mask.SelectMany(r => r).Select(m => m == 0).ToArray(), training: false);
        var expected = root.GetProperty("last_hidden_state").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        for (int b = 0; b < B; b++)
            for (int t = 0; t < mask[b].Sum(); t++)
                for (int k = 0; k < d; k++)
                    Assert.True(Math.Abs(expected[(b * T + t) * d + k] - hidden[(b * T + t) * d + k]) <= 1e-4, $"sequence {b}, token {t}, feature {k}: {hidden[(b * T + t) * d + k]} against {expected[(b * T + t) * d + k]}");
    }
}
