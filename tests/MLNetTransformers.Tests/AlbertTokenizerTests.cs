using System.Text.Json;
using MLNetTransformers.Tokenization;
using Xunit;

namespace MLNetTransformers.Tests;

/// <summary>
/// ALBERT's tokenizer: a SentencePiece model in ALBERT's layout (Fixtures/pretrained/albert-tokenizer, made with
/// sentencepiece by make_sentencepiece_reference.py) with its own ids and ALBERT's text rules, against the ids the
/// script computes as transformers' AlbertTokenizerFast does.
/// </summary>
public class AlbertTokenizerTests
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "albert-tokenizer");

    private static int[] Ids(TextTokenizer tokenizer, string text) => TokenizerReference.Encode(tokenizer, text);

    [Fact]
    public void Ids_EqualTheReferenceTokenizers_WithAlbertsTextRules()
    {
        var (texts, expected, pieces) = TokenizerReference.Load(Folder);
        var tokenizer = Pretrained.PretrainedEncoder.TokenizerOf(Folder, 64);
        Assert.Equal(TokenizerKind.SentencePiece, tokenizer.Kind);
        Assert.Equal((2, 3, 0, 4, 1, pieces),
            (tokenizer.ClsId, tokenizer.SepId, tokenizer.PadId, tokenizer.MaskId, tokenizer.UnkId, tokenizer.VocabularySize));
        var saved = TextTokenizer.Deserialize(tokenizer.Serialize()); // what a saved model reads back
        for (int i = 0; i < texts.Length; i++)
        {
            Assert.True(expected[i].SequenceEqual(Ids(tokenizer, texts[i])), $"'{texts[i]}': [{string.Join(", ", Ids(tokenizer, texts[i]))}], expected [{string.Join(", ", expected[i])}]");
            Assert.Equal(expected[i], Ids(saved, texts[i]));
        }
        // Lower case and accents stripped, as ALBERT's uncased models read text.
        Assert.Equal(Ids(tokenizer, "the film was great"), Ids(tokenizer, "The Film Was GREAT"));
        Assert.Equal(Ids(tokenizer, "ca ete naive"), Ids(tokenizer, "Ça été naïve"));
        Assert.Equal("the film was great and fun.", tokenizer.Decode(expected[0]));
    }

    [Fact]
    public void CasedAndAccentedSettings_AreTheTokenizerConfigs_AndSurviveSaving()
    {
        string dir = Directory.CreateTempSubdirectory("albert-tokenizer").FullName;
        try
        {
            File.Copy(Path.Combine(Folder, "spiece.model"), Path.Combine(dir, "spiece.model"));
            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{"tokenizer_class": "AlbertTokenizer", "do_lower_case": false, "keep_accents": true}""");
            var tokenizer = Pretrained.PretrainedEncoder.TokenizerOf(dir, 32);
            Assert.False(tokenizer.LowerCase);
            Assert.NotEqual(Ids(tokenizer, "the film"), Ids(tokenizer, "The Film"));
            Assert.NotEqual(Ids(tokenizer, "naive"), Ids(tokenizer, "naïve"));
            var saved = TextTokenizer.Deserialize(tokenizer.Serialize());
            Assert.Equal(Ids(tokenizer, "The Naïve Film"), Ids(saved, "The Naïve Film"));
            // Written back as a Hugging Face folder: spiece.model and the same settings.
            var files = tokenizer.HuggingFaceFiles().ToDictionary(f => f.Name, f => f.Contents);
            Assert.Equal(File.ReadAllBytes(Path.Combine(Folder, "spiece.model")), files["spiece.model"]);
            using var config = JsonDocument.Parse(files["tokenizer_config.json"]);
            Assert.Equal(("AlbertTokenizer", false, true), (config.RootElement.GetProperty("tokenizer_class").GetString(),
                config.RootElement.GetProperty("do_lower_case").GetBoolean(), config.RootElement.GetProperty("keep_accents").GetBoolean()));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // A folder with only tokenizer.json (make_unigram_tokenizer_json.py writes it from spiece.model as Hugging Face's
    // AlbertConverter does): the model rebuilt from its Unigram vocabulary and character map, the text rules read from its
    // normalizers, gives the same ids; without the Lowercase and StripAccents normalizers it is cased and keeps accents.
    [Fact]
    public void ATokenizerJsonAlone_GivesTheModelsIds_AndItsNormalizersSayTheRules()
    {
        var (texts, expected, _) = TokenizerReference.Load(Folder);
        string dir = Directory.CreateTempSubdirectory("albert-json").FullName;
        try
        {
            string json = File.ReadAllText(Path.Combine(Folder, "tokenizer.json"));
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), json);
            var tokenizer = Pretrained.PretrainedEncoder.TokenizerOf(dir, 64);
            Assert.Equal((TokenizerKind.SentencePiece, true, false), (tokenizer.Kind, tokenizer.LowerCase, tokenizer.RobertaPairs));
            Assert.Equal((2, 3, 0, 4, 1, 90), (tokenizer.ClsId, tokenizer.SepId, tokenizer.PadId, tokenizer.MaskId, tokenizer.UnkId, tokenizer.VocabularySize));
            for (int i = 0; i < texts.Length; i++) Assert.Equal(expected[i], Ids(tokenizer, texts[i]));

            var node = System.Text.Json.Nodes.JsonNode.Parse(json)!;
            var normalizers = node["normalizer"]!["normalizers"]!.AsArray();
            foreach (var rule in normalizers.Where(x => x!["type"]!.GetValue<string>() is "Lowercase" or "StripAccents" or "NFKD").ToList()) normalizers.Remove(rule);
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), node.ToJsonString());
            var cased = Pretrained.PretrainedEncoder.TokenizerOf(dir, 64);
            var fromModel = TextTokenizer.FromAlbertSentencePieceModel(Path.Combine(Folder, "spiece.model"), 64, lowerCase: false, keepAccents: true);
            Assert.False(cased.LowerCase);
            foreach (var text in texts) Assert.Equal(Ids(fromModel, text), Ids(cased, text));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Pairs_TakeBertsForm()
    {
        var tokenizer = TextTokenizer.FromAlbertSentencePieceModel(Path.Combine(Folder, "spiece.model"), 24);
        Assert.False(tokenizer.RobertaPairs);
        var a = Ids(tokenizer, "the film")[1..^1];
        var b = Ids(tokenizer, "was fun")[1..^1];
        var (ids, mask, types) = (new int[24], new int[24], new int[24]);
        int n = tokenizer.EncodePair("the film", "was fun", ids, mask, types, out bool cut);
        Assert.False(cut);
        Assert.Equal([2, .. a, 3, .. b, 3], ids[..n]);
        Assert.Equal([.. Enumerable.Repeat(0, a.Length + 2), .. Enumerable.Repeat(1, b.Length + 1)], types[..n]);
        Assert.All(ids[n..], id => Assert.Equal(0, id));
    }

    [Fact]
    public void AModelWithoutAlbertsPieces_IsRefusedByName()
    {
        // XLM-RoBERTa's model has <unk> but no [CLS]: not an ALBERT model.
        string xlmr = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "xlmr-tokenizer", "sentencepiece.bpe.model");
        var e = Assert.Throws<InvalidDataException>(() => TextTokenizer.FromAlbertSentencePieceModel(xlmr, 16));
        Assert.Contains("sentencepiece.bpe.model", e.Message);
        Assert.Contains("no piece", e.Message);
    }
}
