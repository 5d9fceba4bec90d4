using System.Text.Json;
using MLNetTransformers.LanguageModeling;
using MLNetTransformers.Tokenization;
using Xunit;

namespace MLNetTransformers.Tests;

/// <summary>
/// ModernBERT's tokenizer as its tokenizer.json holds it (Fixtures/pretrained/modernbert-bpe, make_pretrained.py): a
/// byte-level BPE whose specials [CLS] [SEP] [PAD] [MASK] are added tokens past the vocabulary, placed by a
/// TemplateProcessing post-processor; ids and pairs as the reference forms them, fill-mask through the text.
/// </summary>
public class ModernBertTokenizerTests
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "modernbert-bpe");

    [Fact]
    public void Ids_AndPairs_EqualTheReference_AlsoAfterSavingAndWritingBack()
    {
        var tokenizer = Pretrained.PretrainedEncoder.TokenizerOf(Folder, 64);
        Assert.Equal((TokenizerKind.ByteLevelBpe, false, true), (tokenizer.Kind, tokenizer.RobertaPairs, tokenizer.MaskTakesPrecedingSpace));
        Assert.Equal(["[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]"], new[] { tokenizer.ClsId, tokenizer.SepId, tokenizer.PadId, tokenizer.MaskId, tokenizer.UnkId }.Select(tokenizer.TokenText));
        // written back as a tokenizer.json (its specials are not RoBERTa's, which vocab.json + merges.txt would imply)
        var files = tokenizer.HuggingFaceFiles();
        Assert.Equal(["tokenizer.json"], files.Select(f => f.Name));
        string dir = Directory.CreateTempSubdirectory("modernbert-tokenizer").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(dir, "tokenizer.json"), files[0].Contents);
            foreach (var t in new[] { tokenizer, TextTokenizer.Deserialize(tokenizer.Serialize()), Pretrained.PretrainedEncoder.TokenizerOf(dir, 64) })
                TokenizerReference.AssertEncodesAsReference(t, Folder);
        }
        finally { Directory.Delete(dir, recursive: true); }
        Assert.Equal("the film was great and fun.", tokenizer.Decode(TokenizerReference.Encode(tokenizer, "the film was great and fun.")));
    }

    // ModernBertForMaskedLM read with its tokenizer.json: "the film was [MASK]." fills as PyTorch's logits say ([MASK]
    // takes the space before it, so the text's ids are the fixture's).
    [Fact]
    public void FillMask_FromTheText_GivesPyTorchsProbabilities()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "expected.json")));
        PyTorchsTopFive(Folder, doc.RootElement.GetProperty("text").GetString()!);
    }

    /// <summary>
    /// Asserts that fill-mask over <paramref name="folder"/>'s masked-LM head fills the one mask (written as
    /// <paramref name="maskToken"/>) of <paramref name="text"/>
    /// at the position of the fixture's first row (expected.json's input_ids), with the top 5 candidates and probabilities
    /// of PyTorch's logits there.
    /// </summary>
    internal static void PyTorchsTopFive(string folder, string text, string maskToken = "[MASK]")
    {
        var fill = FillMaskTransformer.FromHuggingFaceFolder(folder, topK: 5);
        Assert.Equal(maskToken, fill.MaskToken);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "expected.json")));
        var ids = doc.RootElement.GetProperty("input_ids")[0].EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var prediction = Assert.Single(fill.Predict(text));
        int position = Array.IndexOf(ids, fill.Tokenizer.MaskId), vocabulary = fill.Model.Config.VocabSize;
        Assert.Equal(position, prediction.Position);
        var logits = doc.RootElement.GetProperty("logits").EnumerateArray().Select(v => v.GetDouble()).Skip(position * vocabulary).Take(vocabulary).ToArray();
        double max = logits.Max(), sum = logits.Sum(l => Math.Exp(l - max));
        var reference = logits.Select((l, i) => (Id: i, P: Math.Exp(l - max) / sum)).OrderByDescending(x => x.P).Take(5).ToArray();
        Assert.Equal(reference.Select(r => r.Id), prediction.Candidates.Select(c => c.Id));
        for (int i = 0; i < 5; i++) Assert.Equal(reference[i].P, prediction.Candidates[i].Probability, 4);
    }

    // Its NFC normalizer (GPT-NeoX's): a decomposed é tokenizes as the composed one, also after writing back; a normalizer
    // that is not read is refused by name rather than skipped.
    [Fact]
    public void TheNfcNormalizer_ComposesBeforeTokenizing_AndOthersAreRefused()
    {
        var tokenizer = Pretrained.PretrainedEncoder.TokenizerOf(Folder, 64);
        string composed = "Café crème", decomposed = "Cafe\u0301 cre\u0300me";
        Assert.NotEqual(composed, decomposed);
        Assert.Equal(TokenizerReference.Encode(tokenizer, composed), TokenizerReference.Encode(tokenizer, decomposed));
        string dir = Directory.CreateTempSubdirectory("modernbert-normalizer").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(dir, "tokenizer.json"), tokenizer.HuggingFaceFiles()[0].Contents);
            var back = Pretrained.PretrainedEncoder.TokenizerOf(dir, 64);
            Assert.Equal(TokenizerReference.Encode(tokenizer, composed), TokenizerReference.Encode(back, decomposed));
            var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(Folder, "tokenizer.json")))!.AsObject();
            json["normalizer"] = new System.Text.Json.Nodes.JsonObject { ["type"] = "Replace" };
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), json.ToJsonString());
            Assert.Contains("normalizer 'Replace' is not read", Assert.Throws<NotSupportedException>(() => Pretrained.PretrainedEncoder.TokenizerOf(dir, 64)).Message);
            json["normalizer"] = null;
            json["pre_tokenizer"]!["add_prefix_space"] = true;
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), json.ToJsonString());
            Assert.Contains("add_prefix_space true is not read", Assert.Throws<NotSupportedException>(() => Pretrained.PretrainedEncoder.TokenizerOf(dir, 64)).Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void AnUnreadTemplate_IsRefusedByName()
    {
        string dir = Directory.CreateTempSubdirectory("modernbert-template").FullName;
        try
        {
            var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(Folder, "tokenizer.json")))!.AsObject();
            json["post_processor"]!["single"]!.AsArray().RemoveAt(2);
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), json.ToJsonString());
            var e = Assert.Throws<NotSupportedException>(() => Pretrained.PretrainedEncoder.TokenizerOf(dir, 64));
            Assert.Contains("template [special:[CLS] $A] is not read", e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
