using MLNetTransformers.Tokenization;
using Xunit;

namespace MLNetTransformers.Tests;

/// <summary>
/// ESM's tokenizer (EsmTokenizer) from its vocab.txt (Fixtures/pretrained/esm, make_pretrained.py): the vocabulary's tokens
/// split out of the text leftmost-longest, the rest split on whitespace with each word an &lt;unk&gt;; ids and pairs of
/// hard texts as the reference forms them, fill-mask through ESM's masked-LM head with PyTorch's probabilities.
/// </summary>
public class EsmTokenizerTests
{
    private static string Folder(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", name);

    [Fact]
    public void Ids_AndPairs_EqualTheReference_AlsoAfterSavingAndWritingBack()
    {
        var tokenizer = Pretrained.PretrainedEncoder.TokenizerOf(Folder("esm"), 64);
        Assert.Equal((TokenizerKind.Esm, false, 33), (tokenizer.Kind, tokenizer.RobertaPairs, tokenizer.VocabularySize));
        Assert.Equal(["<cls>", "<eos>", "<pad>", "<mask>", "<unk>"], new[] { tokenizer.ClsId, tokenizer.SepId, tokenizer.PadId, tokenizer.MaskId, tokenizer.UnkId }.Select(tokenizer.TokenText));
        var files = tokenizer.HuggingFaceFiles();
        Assert.Equal(["vocab.txt", "tokenizer_config.json"], files.Select(f => f.Name));
        string dir = Directory.CreateTempSubdirectory("esm-tokenizer").FullName;
        try
        {
            foreach (var (name, contents) in files) File.WriteAllBytes(Path.Combine(dir, name), contents);
            Assert.Equal(File.ReadAllText(Path.Combine(Folder("esm"), "vocab.txt")), File.ReadAllText(Path.Combine(dir, "vocab.txt")));
            foreach (var t in new[] { tokenizer, TextTokenizer.Deserialize(tokenizer.Serialize()), Pretrained.PretrainedEncoder.TokenizerOf(dir, 64) })
                TokenizerReference.AssertEncodesAsReference(t, Folder("esm"));
        }
        finally { Directory.Delete(dir, recursive: true); }
        Assert.Equal("MKTAYIAKQR", tokenizer.Decode(TokenizerReference.Encode(tokenizer, "MKT AYI AKQR")));
        // a sequence longer than fits is cut, <eos> kept
        var cut = TokenizerReference.Encode(Pretrained.PretrainedEncoder.TokenizerOf(Folder("esm"), 6), "MKTAYIAKQR");
        Assert.Equal([0, 20, 15, 11, 5, 2], cut);
    }

    // Without tokenizer_config.json, config.json's model_type esm says whose vocab.txt it is; without either, the file is
    // read as BERT's and refused (it has no [CLS]) rather than giving other ids.
    [Fact]
    public void ModelTypeEsm_ChoosesTheTokenizer_WithoutATokenizerConfig()
    {
        string dir = Directory.CreateTempSubdirectory("esm-no-config").FullName;
        try
        {
            foreach (var f in new[] { "vocab.txt", "config.json" }) File.Copy(Path.Combine(Folder("esm"), f), Path.Combine(dir, f));
            Assert.Equal(TokenizerKind.Esm, Pretrained.PretrainedEncoder.TokenizerOf(dir, 64).Kind);
            File.Delete(Path.Combine(dir, "config.json"));
            Assert.Contains("has no [CLS] line", Assert.Throws<InvalidDataException>(() => Pretrained.PretrainedEncoder.TokenizerOf(dir, 64)).Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // A vocab.txt that lacks one of ESM's specials, or holds an empty line, is refused naming the file and the problem.
    [Theory]
    [InlineData("<mask>", "", "has no <mask>")]
    [InlineData("L", "", "line 5 is empty")]
    [InlineData("A", "A B", "line 6 is 'A B'")]
    public void ABrokenVocabulary_IsRefusedNamingTheFile(string line, string replacement, string message)
    {
        string dir = Directory.CreateTempSubdirectory("esm-bad").FullName;
        try
        {
            var lines = File.ReadAllLines(Path.Combine(Folder("esm"), "vocab.txt"));
            int at = Array.IndexOf(lines, line);
            if (replacement.Length == 0 && line == "<mask>") lines = lines.Where((_, i) => i != at).ToArray(); else lines[at] = replacement;
            string vocab = Path.Combine(dir, "vocab.txt");
            File.WriteAllLines(vocab, lines);
            var e = Assert.Throws<InvalidDataException>(() => TextTokenizer.FromEsmVocabulary(vocab, 64));
            Assert.Contains(vocab, e.Message);
            Assert.Contains(message, e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // EsmForMaskedLM read with its vocab.txt: the <mask> of "MKT<mask>AIQ" (the fixture's first row) fills as PyTorch's
    // logits say, the token dropout that a mask brings included.
    [Fact]
    public void FillMask_FromTheText_GivesPyTorchsProbabilities() =>
        ModernBertTokenizerTests.PyTorchsTopFive(Folder("esm-mlm"), "MKT<mask>AIQ", maskToken: "<mask>");
}
