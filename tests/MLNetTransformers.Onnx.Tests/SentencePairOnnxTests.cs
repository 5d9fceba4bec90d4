using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransformers.Tokenization;
using Xunit;

namespace MLNetTransformers.Onnx.Tests;

/// <summary>Sentence pairs through ONNX: real token types reach an exported BERT, and pair models export with their types.</summary>
public class SentencePairOnnxTests
{
    private static readonly string SmallBert = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "small-bert.onnx");

    public sealed class PairRow
    {
        public string Sentence1 { get; set; } = "";
        public string Sentence2 { get; set; } = "";
        public float Label { get; set; }
    }

    [Fact]
    public void PairTokenizer_FeedsTokenTypesToAnExportedBert_AsTheEngineReadsThem()
    {
        string dir = Directory.CreateTempSubdirectory("pairs-onnx").FullName;
        try
        {
            string vocab = Path.Combine(dir, "vocab.txt");
            File.WriteAllLines(vocab, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", .. Enumerable.Range(5, 35).Select(i => $"w{i}")]);
            var ml = new MLContext(1);
            var data = ml.Data.LoadFromEnumerable(new[]
            {
                new PairRow { Sentence1 = "w5 w6 w7", Sentence2 = "w8 w9" },
                new PairRow { Sentence1 = "w10", Sentence2 = "w11 w12 w13 w14" },
            });
            var options = new TokenizerOptions { Kind = TokenizerKind.WordPiece, VocabularyFile = vocab, MaxTokens = 12 };
            var pipeline = ml.Transforms.Text.TokenizeForTransformer(options, inputColumnName: "Sentence1", secondInputColumnName: "Sentence2")
                .Append(ml.Transforms.ApplyTransformerOnnxModel(new OnnxModelOptions { ModelFile = SmallBert, PoolOutput = "last_hidden_state", OutputColumns = new() }));
            var scored = pipeline.Fit(data).Transform(data);
            var pooled = scored.GetColumn<float[]>("Embedding").ToArray();

            // The managed encoder read from the same graph, fed the same ids and types, mean-pooled.
            var encoder = OnnxEncoderCheckpoint.Load(SmallBert).Encoder;
            var ids = scored.GetColumn<long[]>("TokenIds").ToArray();
            var mask = scored.GetColumn<long[]>("AttentionMask").ToArray();
            var types = scored.GetColumn<long[]>("TokenTypeIds").ToArray();
            Assert.Contains(1L, types[0]);
            int d = encoder.Config.ModelDim;
            for (int r = 0; r < 2; r++)
            {
                int n = (int)mask[r].Sum();
                var hidden = encoder.Forward(ids[r][..n].Select(x => (int)x).ToArray(), types[r][..n].Select(x => (int)x).ToArray(), 1, n, null, training: false)[..(n * d)]; // a copy: the next call reuses the buffer
                for (int j = 0; j < d; j++)
                {
                    float mean = 0;
                    for (int t = 0; t < n; t++) mean += hidden[t * d + j];
                    Assert.Equal(mean / n, pooled[r][j], 3);
                }
                // All type 0 gives something else: the types are read, not ignored.
                var untyped = encoder.Forward(ids[r][..n].Select(x => (int)x).ToArray(), new int[n], 1, n, null, training: false);
                Assert.NotEqual(hidden[(n - 1) * d], untyped[(n - 1) * d]);
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void PairRegressor_ExportsToOnnx_WithTheSameScores()
    {
        var ml = new MLContext(1);
        var rng = new Random(3);
        string[] words = ["film", "plot", "cast", "story", "good", "bad"];
        var rows = Enumerable.Range(0, 120).Select(i => new PairRow
        {
            Sentence1 = string.Join(' ', words.OrderBy(_ => rng.Next()).Take(2)), Sentence2 = string.Join(' ', words.OrderBy(_ => rng.Next()).Take(2)), Label = i % 4,
        }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var model = ml.Regression.Trainers.TransformerRegressor(new Classification.TransformerClassifierOptions
        {
            TextColumnName = "Sentence1", SecondTextColumnName = "Sentence2", Layers = 1, ModelDim = 16, Heads = 2, FeedForwardDim = 32, Epochs = 2,
            Tokenizer = new TokenizerOptions { MaxTokens = 12, VocabularySize = 40 },
        }).Fit(data);
        Assert.Equal(2, model.Model.Config.TypeVocabSize);
        var managed = model.Transform(data).GetColumn<float>("Score").ToArray();
        using var viaOrt = model.UseOnnxRuntime();
        var onnx = viaOrt.Transform(data).GetColumn<float>("Score").ToArray();
        for (int i = 0; i < managed.Length; i++) Assert.Equal(managed[i], onnx[i], 3);
    }
}
