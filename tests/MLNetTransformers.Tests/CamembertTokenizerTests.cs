using MLNetTransformers.Pretrained;
using MLNetTransformers.Tokenization;
using Xunit;

namespace MLNetTransformers.Tests;

/// <summary>
/// CamemBERT's tokenizer (camembert-base: a SentencePiece model of XLM-RoBERTa's kind, numbered by CamembertTokenizer:
/// &lt;s&gt;NOTUSED &lt;pad&gt; &lt;/s&gt;NOTUSED &lt;unk&gt; &lt;unk&gt;NOTUSED ahead, piece p as p + 4, its own &lt;s&gt; and
/// &lt;/s&gt; the specials): make_sentencepiece_reference.py's camembert-tokenizer gives the reference ids, also after saving and
/// writing back; a CamemBERT folder (model_type camembert, RoBERTa's architecture under roberta.) reads with it.
/// </summary>
public class CamembertTokenizerTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", name);

    [Fact]
    public void Ids_AreCamembertTokenizers_AlsoAfterSavingAndWritingBack()
    {
        var (texts, expected, pieces) = TokenizerReference.Load(Fixture("camembert-tokenizer"));
        var tokenizer = PretrainedEncoder.TokenizerOf(Fixture("camembert-tokenizer"), 64);
        Assert.Equal((5, 6, 1, 3, pieces + 4, pieces + 5), (tokenizer.ClsId, tokenizer.SepId, tokenizer.PadId, tokenizer.UnkId, tokenizer.MaskId, tokenizer.VocabularySize));
        Assert.True(tokenizer.RobertaPairs);
        string dir = Directory.CreateTempSubdirectory("camembert-tokenizer").FullName;
        try
        {
            foreach (var (name, contents) in tokenizer.HuggingFaceFiles()) File.WriteAllBytes(Path.Combine(dir, name), contents);
            foreach (var t in new[] { tokenizer, TextTokenizer.Deserialize(tokenizer.Serialize()), PretrainedEncoder.TokenizerOf(dir, 64) })
                for (int i = 0; i < texts.Length; i++) Assert.Equal(expected[i], TokenizerReference.Encode(t, texts[i]));
        }
        finally { Directory.Delete(dir, recursive: true); }
        // The same model read as XLM-RoBERTa's (no tokenizer_config.json naming CamemBERT's) is numbered otherwise.
        Assert.NotEqual(expected[0], TokenizerReference.Encode(TextTokenizer.FromSentencePieceModel(Path.Combine(Fixture("camembert-tokenizer"), "sentencepiece.bpe.model"), 64), texts[0]));
    }

    // camembert-base's tokenizer.json alone (as CamembertConverter writes it, make_unigram_tokenizer_json.py): the
    // SentencePiece model rebuilt from its vocabulary, scores and character map gives the same ids.
    [Fact]
    public void ItsTokenizerJsonAlone_GivesTheSameIds()
    {
        string dir = Directory.CreateTempSubdirectory("camembert-json").FullName;
        try
        {
            File.Copy(Path.Combine(Fixture("camembert-tokenizer"), "tokenizer.json"), Path.Combine(dir, "tokenizer.json"));
            var tokenizer = PretrainedEncoder.TokenizerOf(dir, 64);
            var (texts, expected, pieces) = TokenizerReference.Load(Fixture("camembert-tokenizer"));
            Assert.Equal((5, 6, pieces + 4), (tokenizer.ClsId, tokenizer.SepId, tokenizer.MaskId));
            for (int i = 0; i < texts.Length; i++) Assert.Equal(expected[i], TokenizerReference.Encode(tokenizer, texts[i]));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // camembert-base's layout: RoBERTa's weights under roberta., config.json's model_type camembert, its SentencePiece model.
    [Fact]
    public void ACamembertFolder_ReadsAsRobertaWithCamembertsTokenizer()
    {
        string dir = Directory.CreateTempSubdirectory("camembert-folder").FullName;
        try
        {
            File.Copy(Path.Combine(Fixture("roberta"), "model.safetensors"), Path.Combine(dir, "model.safetensors"));
            var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(Fixture("roberta"), "config.json")))!.AsObject();
            config["model_type"] = "camembert";
            config["architectures"] = new System.Text.Json.Nodes.JsonArray("CamembertModel");
            File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
            File.Copy(Path.Combine(Fixture("camembert-tokenizer"), "sentencepiece.bpe.model"), Path.Combine(dir, "sentencepiece.bpe.model"));
            var encoder = PretrainedEncoder.FromHuggingFaceFolder(dir, maxTokens: 24);
            Assert.Equal(TokenizerKind.SentencePiece, encoder.Tokenizer.Kind);
            var (texts, expected, _) = TokenizerReference.Load(Fixture("camembert-tokenizer"));
            Assert.Equal(expected[0], TokenizerReference.Encode(encoder.Tokenizer, texts[0]));
            var roberta = PretrainedEncoder.FromHuggingFaceFolder(Fixture("roberta"), maxTokens: 24);
            Assert.Equal(roberta.Encoder.Parameters.Data, encoder.Encoder.Parameters.Data);
            Assert.Equal(roberta.Encoder.Config, encoder.Encoder.Config);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
