using MLNetTransformers.Core.Models;

namespace MLNetTransformers.Benchmarks;

/// <summary>The reference shapes of the performance targets (the same as ../shared/peers/torch_ref.py).</summary>
internal static class ReferenceModel
{
    public const int Batch = 32, SeqLen = 128;

    public static ClassifierConfig Config => new()
    {
        VocabSize = 8000, ModelDim = 256, Heads = 4, Layers = 4, FeedForwardDim = 1024, MaxLength = SeqLen,
        Dropout = 0.1f, Norm = NormPlacement.PreNorm, Pooling = Pooling.Mean, NumClasses = 2,
    };

    /// <summary>A random batch: class labels for the encoder, next-token targets for the decoder.</summary>
    public static TokenBatch RandomBatch(bool causal, int seed = 0)
    {
        var rng = new Random(seed);
        var ids = new int[Batch * SeqLen];
        for (int i = 0; i < ids.Length; i++) ids[i] = rng.Next(8000);
        int[] labels = causal ? ids.Select(_ => rng.Next(8000)).ToArray() : Enumerable.Range(0, Batch).Select(_ => rng.Next(2)).ToArray();
        return new TokenBatch(Batch, SeqLen, ids, labels: labels);
    }
}
