using MLNetTransformers.Core.Models;
using MLNetTransformers.Core.Pretrained;
using MLNetTransformers.Embeddings;
using MLNetTransformers.Pretrained;
using MLNetTransformers.Tokenization;
using Xunit;

namespace MLNetTransformers.Tests;

/// <summary>A pretrained encoder saved as a Hugging Face folder, tokenizer included, reads back to the same token ids and embeddings.</summary>
public class HuggingFaceFolderExportTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", name);

    private static readonly string[] Texts = ["the film was great and fun !", "Not a GOOD movie, but the cast ...", "i loved it"];

    private static int[] Ids(PretrainedEncoder e, string text)
    {
        var ids = new int[e.Tokenizer.MaxTokens];
        e.Tokenizer.Encode(text, ids, new int[ids.Length]);
        return ids;
    }

    [Theory]
    [InlineData("bert")]
    [InlineData("roberta")]
    public async Task SavedFolder_ReadsBackToTheSameIdsAndEmbeddings(string fixture)
    {
        var original = PretrainedEncoder.FromHuggingFaceFolder(Fixture(fixture), maxTokens: 16);
        string dir = Directory.CreateTempSubdirectory("hf-save").FullName;
        try
        {
            original.SaveHuggingFaceFolder(dir);
            var back = PretrainedEncoder.FromHuggingFaceFolder(dir, maxTokens: 16);
            foreach (var text in Texts) Assert.Equal(Ids(original, text), Ids(back, text));
            using var a = new TransformerEmbeddingGenerator(original);
            using var b = new TransformerEmbeddingGenerator(back);
            var (ea, eb) = (await a.GenerateAsync(Texts), await b.GenerateAsync(Texts));
            for (int i = 0; i < Texts.Length; i++) Assert.Equal(ea[i].Vector.ToArray(), eb[i].Vector.ToArray());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void AnEmbeddingModel_KeepsItsPoolingAndLength_AsASentenceTransformersFolder()
    {
        var loaded = PretrainedCheckpoint.LoadFolder(Fixture("bert"), Pooling.Mean, normalize: true);
        var original = PretrainedEncoder.FromWordPiece(loaded, Path.Combine(Fixture("bert"), "vocab.txt"), maxTokens: 12, "mean-unit");
        string dir = Directory.CreateTempSubdirectory("hf-save").FullName;
        try
        {
            original.SaveHuggingFaceFolder(dir);
            var back = PretrainedEncoder.FromHuggingFaceFolder(dir);
            Assert.Equal(12, back.Tokenizer.MaxTokens);
            Assert.Equal((Pooling.Mean, false, true), (back.Encoder.Config.Pooling, back.Encoder.Config.Pooler, back.Encoder.Config.NormalizeEmbeddings));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void ATokenizerHuggingFaceDoesNotShare_IsRefusedBeforeAnythingIsWritten()
    {
        var encoder = PretrainedEncoder.FromHuggingFaceFolder(Fixture("bert"), maxTokens: 16);
        var learned = TextTokenizer.LearnCharacters(["abcdefghijklmnopqrstuvwxyz012345678"], 16); // 35 characters and 5 specials: the fixture's 40 rows
        var mine = new PretrainedEncoder(encoder.Encoder, learned, "characters");
        string dir = Path.Combine(Path.GetTempPath(), "hf-save-refused-" + Guid.NewGuid().ToString("N"));
        Assert.Contains("Character tokenizer has no Hugging Face equivalent", Assert.Throws<NotSupportedException>(() => mine.SaveHuggingFaceFolder(dir)).Message);
        Assert.False(Directory.Exists(dir));
    }
}
