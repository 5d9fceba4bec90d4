using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransformers.Embeddings;
using MLNetTransformers.Pretrained;
using Xunit;

namespace MLNetTransformers.Onnx.Tests;

/// <summary>Sentence embeddings of all-MiniLM-L6-v2: as an ML.NET featurizer for stock trainers, and as Microsoft.Extensions.AI's embedding generator.</summary>
public class PretrainedEmbeddingTests
{
    private static readonly Lazy<PretrainedEncoder> Model = new(() => MiniLM.Load(maxTokens: 64));

    [Fact]
    public void Featurizer_FeedsAStockTrainer()
    {
        var ml = new MLContext(seed: 1);
        var all = ml.Data.CreateEnumerable<Review>(ml.Data.LoadFromTextFile<Review>(Path.Combine(AppContext.BaseDirectory, "Data", "reviews.tsv"), '\t', hasHeader: true), false).ToList();
        var train = ml.Data.LoadFromEnumerable(all.Where((_, i) => i % 6 == 0));
        var test = ml.Data.LoadFromEnumerable(all.Where((_, i) => i % 12 == 3));
        // The embeddings are computed once and cached: SDCA passes over its data many times.
        var pipeline = ml.Transforms.Text.FeaturizeWithTransformer(Model.Value).AppendCacheCheckpoint(ml).Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression());
        var model = pipeline.Fit(train);
        var features = model.Transform(test).GetColumn<float[]>("Features").First();
        Assert.Equal(384, features.Length);
        Assert.Equal(1.0, Math.Sqrt(features.Sum(v => (double)v * v)), 4); // sentence-transformers' unit-length vectors
        var metrics = ml.BinaryClassification.Evaluate(model.Transform(test));
        Assert.True(metrics.Accuracy > 0.7, $"SDCA on frozen MiniLM embeddings: accuracy {metrics.Accuracy:P1}");
    }

    [Fact]
    public async Task EmbeddingGenerator_ServesAMicrosoftExtensionsAiConsumerUnchanged()
    {
        var services = new ServiceCollection();
        services.AddTransformerEmbeddingGenerator(_ => new TransformerEmbeddingGenerator(Model.Value, batchSize: 2));
        using var provider = services.BuildServiceProvider();

        // The consumer knows only Microsoft.Extensions.AI: the interface, its builder and its extension methods.
        var generator = provider.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>()
            .AsBuilder().ConfigureOptions(o => o.Dimensions ??= 384).Build(provider);
        var metadata = generator.GetService<EmbeddingGeneratorMetadata>()!;
        Assert.Equal((MiniLM.ModelName, 384), (metadata.DefaultModelId, metadata.DefaultModelDimensions));
        string[] texts = ["A gripping story with a superb cast.", "The film was thrilling and the actors superb.", "Quarterly revenue grew twelve percent.",
            "Das Wetter ist heute schön.", ""];
        var embeddings = await generator.GenerateAsync(texts);
        Assert.Equal(texts.Length, embeddings.Count);
        Assert.All(embeddings, e => Assert.Equal(384, e.Vector.Length));
        // Usage counts what the encoder read: each text's tokens with [CLS] and [SEP] (the empty text: those two).
        long expected = texts.Sum(t => (long)Model.Value.Tokenizer.Encode(t, new int[Model.Value.Tokenizer.MaxTokens], new int[Model.Value.Tokenizer.MaxTokens]));
        Assert.Equal(expected, embeddings.Usage?.InputTokenCount);
        Assert.Equal(2, Model.Value.Tokenizer.Encode("", new int[Model.Value.Tokenizer.MaxTokens], new int[Model.Value.Tokenizer.MaxTokens]));
        static float Cosine(Embedding<float> a, Embedding<float> b) => System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(a.Vector.Span, b.Vector.Span);
        Assert.True(Cosine(embeddings[0], embeddings[1]) > Cosine(embeddings[0], embeddings[2]) + 0.2f, "two reviews should be closer than a review and a finance sentence");

        // Batches of 2 give what embedding each text alone gives.
        var alone = await generator.GenerateVectorAsync(texts[2]);
        Assert.Equal(embeddings[2].Vector.ToArray(), alone.ToArray());
        // Many callers at once.
        var concurrent = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => generator.GenerateAsync(texts))));
        Assert.All(concurrent, r => Assert.Equal(embeddings[0].Vector.ToArray(), r[0].Vector.ToArray()));

        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => generator.GenerateAsync(texts, cancellationToken: cancelled.Token));
        var e = await Assert.ThrowsAsync<NotSupportedException>(() => generator.GenerateAsync(texts, new EmbeddingGenerationOptions { Dimensions = 768 }));
        Assert.Contains("384-dimensional", e.Message);

        // Fewer dimensions (Matryoshka models' use): the leading components, back to unit length since MiniLM's are.
        var cut = await generator.GenerateAsync(texts, new EmbeddingGenerationOptions { Dimensions = 64 });
        for (int i = 0; i < texts.Length; i++)
        {
            var full = embeddings[i].Vector.Span[..64].ToArray();
            float norm = System.Numerics.Tensors.TensorPrimitives.Norm(full);
            Assert.Equal(64, cut[i].Vector.Length);
            Assert.Equal(1f, System.Numerics.Tensors.TensorPrimitives.Norm(cut[i].Vector.Span), 4);
            for (int k = 0; k < 64; k++) Assert.Equal(full[k] / norm, cut[i].Vector.Span[k], 5);
        }
    }
}
