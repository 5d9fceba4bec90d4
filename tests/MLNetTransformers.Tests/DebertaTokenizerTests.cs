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
