using MLNetTransformers.Core.Models;
using MLNetTransformers.Core.Pretrained;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>
/// A sentence-transformers folder (the BERT fixture plus modules.json, 1_Pooling/config.json and 2_Normalize) embeds as
/// its modules say, not as the bare checkpoint would (which has BERT's pooler); modules it cannot reproduce are refused.
/// </summary>
public class SentenceTransformersFolderTests
{
    private static string Folder(string pooling, bool normalize, string? extraModule = null)
    {
        string dir = Directory.CreateTempSubdirectory("st-folder").FullName;
        foreach (var f in Directory.GetFiles(PretrainedCheckpointTests.Folder("bert"))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        var modules = new List<string>
        {
            """{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}""",
            """{"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}""",
        };
        if (normalize) modules.Add("""{"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}""");
        if (extraModule is not null) modules.Add($$"""{"idx": 3, "name": "3", "path": "3_X", "type": "{{extraModule}}"}""");
        File.WriteAllText(Path.Combine(dir, "modules.json"), "[" + string.Join(",", modules) + "]");
        Directory.CreateDirectory(Path.Combine(dir, "1_Pooling"));
        File.WriteAllText(Path.Combine(dir, "1_Pooling", "config.json"), "{\"word_embedding_dimension\": 16, " + pooling + "}");
        return dir;
    }

    private static (float[] Hidden, float[] Embedding, TokenBatch Batch) Embed(TransformerEncoder encoder)
    {
        var batch = new TokenBatch(2, 6, [2, 8, 9, 12, 3, 0, 2, 15, 20, 7, 13, 3], [1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1]);
        var hidden = encoder.Forward(batch.Ids, null, 2, 6, batch.AttentionMask!.Select(m => m == 0).ToArray(), training: false).AsSpan(0, 2 * 6 * 16).ToArray();
        return (hidden, encoder.Embed(batch).AsSpan(0, 2 * 16).ToArray(), batch);
    }

    [Fact]
    public void MeanPoolingAndNormalize_AreTakenFromTheModules_AndThePoolerIsLeftOut()
    {
        string dir = Folder("\"pooling_mode_mean_tokens\": true, \"pooling_mode_cls_token\": false", normalize: true);
        try
        {
            var loaded = PretrainedCheckpoint.LoadFolder(dir);
            var c = loaded.Encoder.Config;
            Assert.Equal((Pooling.Mean, false, true), (c.Pooling, c.Pooler, c.NormalizeEmbeddings));
            Assert.Contains("bert.pooler.dense.weight", loaded.Unused);
            var (hidden, embedding, batch) = Embed(loaded.Encoder);
            for (int b = 0; b < 2; b++)
            {
                int n = batch.AttentionMask!.Skip(b * 6).Take(6).Sum();
                var mean = Enumerable.Range(0, 16).Select(k => Enumerable.Range(0, n).Average(t => (double)hidden[(b * 6 + t) * 16 + k])).ToArray();
                double norm = Math.Sqrt(mean.Sum(v => v * v));
                for (int k = 0; k < 16; k++) Assert.Equal(mean[k] / norm, embedding[b * 16 + k], 5);
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
        // The bare checkpoint keeps BERT's way: CLS through its pooler.
        var bare = PretrainedCheckpoint.LoadFolder(PretrainedCheckpointTests.Folder("bert")).Encoder.Config;
        Assert.Equal((Pooling.Cls, true, false), (bare.Pooling, bare.Pooler, bare.NormalizeEmbeddings));
    }

    [Fact]
    public void ClsPooling_TakesTheFirstTokenAsItIs()
    {
        string dir = Folder("\"pooling_mode_cls_token\": true, \"pooling_mode_mean_tokens\": false", normalize: false);
        try
        {
            var loaded = PretrainedCheckpoint.LoadFolder(dir);
            Assert.Equal((Pooling.Cls, false, false), (loaded.Encoder.Config.Pooling, loaded.Encoder.Config.Pooler, loaded.Encoder.Config.NormalizeEmbeddings));
            var (hidden, embedding, _) = Embed(loaded.Encoder);
            for (int b = 0; b < 2; b++) Assert.Equal(hidden.AsSpan(b * 6 * 16, 16).ToArray(), embedding.AsSpan(b * 16, 16).ToArray());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Theory]
    [InlineData("\"pooling_mode_max_tokens\": true", null, "sets pooling_mode_max_tokens; mean or CLS pooling alone is read")]
    [InlineData("\"pooling_mode_mean_tokens\": true, \"pooling_mode_cls_token\": true", null, "sets pooling_mode_mean_tokens and pooling_mode_cls_token")]
    [InlineData("\"pooling_mode_mean_tokens\": true", "sentence_transformers.models.WordWeights", "has a sentence_transformers.models.WordWeights module, which is not reproduced here")]
    [InlineData("\"pooling_mode_mean_tokens\": false", null, "sets no pooling_mode_")]
    [InlineData("\"pooling_mode_mean_tokens\": tru", null, "is not valid JSON")]
    public void ModulesThatCannotBeReproduced_AreRefusedByName(string pooling, string? extra, string message)
    {
        string dir = Folder(pooling, normalize: false, extra);
        try
        {
            var e = Assert.ThrowsAny<Exception>(() => PretrainedCheckpoint.LoadFolder(dir));
            Assert.True(e is NotSupportedException or InvalidDataException, e.ToString());
            Assert.Contains(message, e.Message);
            Assert.Contains(dir, e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
