using MLNetTransformers.Tokenization;
using Xunit;

namespace MLNetTransformers.Tests;

/// <summary>
/// DeBERTa-v2/v3's tokenizer: a SentencePiece model in DeBERTa-v3's layout (Fixtures/pretrained/deberta-tokenizer, made
/// with sentencepiece by make_sentencepiece_reference.py): the model's own ids, [MASK] after its pieces.
/// </summary>
public class DebertaTokenizerTests
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "deberta-tokenizer");

    private static int[] Ids(TextTokenizer tokenizer, string text) => TokenizerReference.Encode(tokenizer, text);

    [Fact]
    public void Ids_EqualTheReferenceTokenizers_AndMaskFollowsThePieces()
    {
        var (texts, expected, pieces) = TokenizerReference.Load(Folder);
        var tokenizer = Pretrained.PretrainedEncoder.TokenizerOf(Folder, 64);
        Assert.Equal((1, 2, 0, 3, pieces, pieces + 1, false, false),
            (tokenizer.ClsId, tokenizer.SepId, tokenizer.PadId, tokenizer.UnkId, tokenizer.MaskId, tokenizer.VocabularySize, tokenizer.LowerCase, tokenizer.RobertaPairs));
        var saved = TextTokenizer.Deserialize(tokenizer.Serialize());
        for (int i = 0; i < texts.Length; i++)
        {
            Assert.True(expected[i].SequenceEqual(Ids(tokenizer, texts[i])), $"'{texts[i]}': [{string.Join(", ", Ids(tokenizer, texts[i]))}], expected [{string.Join(", ", expected[i])}]");
            Assert.Equal(expected[i], Ids(saved, texts[i]));
        }
        Assert.NotEqual(Ids(tokenizer, "the film"), Ids(tokenizer, "The Film")); // cased, as DeBERTa-v3
        Assert.Equal("the film was great and fun.", tokenizer.Decode(expected[0]));
        Assert.Equal("[MASK]", tokenizer.TokenText(pieces));
        var files = tokenizer.HuggingFaceFiles().ToDictionary(f => f.Name, f => f.Contents);
        Assert.Equal(File.ReadAllBytes(Path.Combine(Folder, "spm.model")), files["spm.model"]);
    }

    // A folder with only tokenizer.json (make_unigram_tokenizer_json.py writes it from spm.model as Hugging Face's
    // DebertaV2Converter does): the model rebuilt from its Unigram vocabulary gives the reference ids; a Lowercase
    // normalizer makes it uncased.
    [Fact]
    public void ATokenizerJsonAlone_GivesTheModelsIds()
    {
        var (texts, expected, pieces) = TokenizerReference.Load(Folder);
        string dir = Directory.CreateTempSubdirectory("deberta-json").FullName;
        try
        {
            string json = File.ReadAllText(Path.Combine(Folder, "tokenizer.json"));
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), json);
            var tokenizer = Pretrained.PretrainedEncoder.TokenizerOf(dir, 64);
            Assert.Equal((1, 2, 0, 3, pieces, false), (tokenizer.ClsId, tokenizer.SepId, tokenizer.PadId, tokenizer.UnkId, tokenizer.MaskId, tokenizer.LowerCase));
            for (int i = 0; i < texts.Length; i++) Assert.Equal(expected[i], Ids(tokenizer, texts[i]));
            var node = System.Text.Json.Nodes.JsonNode.Parse(json)!;
            node["normalizer"]!["normalizers"]!.AsArray().Insert(0, new System.Text.Json.Nodes.JsonObject { ["type"] = "Lowercase" });
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), node.ToJsonString());
            Assert.True(Pretrained.PretrainedEncoder.TokenizerOf(dir, 64).LowerCase);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void PunctuationSplitting_IsRefusedByName()
    {
        string dir = Directory.CreateTempSubdirectory("deberta-tokenizer").FullName;
        try
        {
            File.Copy(Path.Combine(Folder, "spm.model"), Path.Combine(dir, "spm.model"));
            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{"do_lower_case": true}""");
            Assert.True(Pretrained.PretrainedEncoder.TokenizerOf(dir, 16).LowerCase);
            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{"split_by_punct": true}""");
            Assert.Contains("split_by_punct is not supported", Assert.Throws<NotSupportedException>(() => Pretrained.PretrainedEncoder.TokenizerOf(dir, 16)).Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
