using MLNetTransformers.Core.Layers;
using MLNetTransformers.Core.Models;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>
/// Padded batches run packed (the padding taken out before the first layer): the same hidden states on every real token
/// and the same gradients as the padded computation, which the finite-difference and PyTorch tests cover.
/// </summary>
public class PackedSequencesTests
{
    private static TransformerConfig Bert => new()
    {
        VocabSize = 23, ModelDim = 16, Heads = 4, Layers = 2, FeedForwardDim = 24, MaxLength = 12, Dropout = 0f,
        Norm = NormPlacement.PostNorm, TypeVocabSize = 2, EmbeddingNorm = true, PositionOffset = 2, Pooler = true, LayerNormEps = 1e-12f,
    };

    private static TransformerConfig PreNorm => new() { VocabSize = 23, ModelDim = 16, Heads = 2, Layers = 2, FeedForwardDim = 24, MaxLength = 12, Dropout = 0f };

    // Lengths 9, 3, 1, 6 of T = 9: rows of every kind, one without padding.
    private static (int[] Ids, int[] Types, bool[] Padding) Batch(int b, int t, int[] lengths, int seed)
    {
        var rng = new Random(seed);
        var ids = new int[b * t];
        var types = new int[b * t];
        var padding = new bool[b * t];
        for (int r = 0; r < b; r++)
            for (int i = 0; i < t; i++)
            {
                padding[r * t + i] = i >= lengths[r];
                ids[r * t + i] = padding[r * t + i] ? 0 : rng.Next(1, 23);
                types[r * t + i] = i > lengths[r] / 2 && !padding[r * t + i] ? 1 : 0;
            }
        return (ids, types, padding);
    }

    public static TheoryData<string> Configs => new() { "bert", "prenorm" };

    [Theory]
    [MemberData(nameof(Configs))]
    public void Packed_EqualsPadded_ForwardAndEveryGradient(string kind)
    {
        var config = kind == "bert" ? Bert : PreNorm;
        int b = 4, t = 9;
        int[] lengths = [9, 3, 1, 6];
        var (ids, types, padding) = Batch(b, t, lengths, 1);
        var packed = new TransformerEncoder(config, 5);
        GradCheck.Scramble(packed.Parameters, 2, 0.3f);
        var padded = packed.Copy();
        padded.Packing = false;
        var dh = GradCheck.Random(b * t * config.ModelDim, 9);
        for (int i = 0; i < b * t; i++) if (padding[i]) Array.Clear(dh, i * config.ModelDim, config.ModelDim); // padding outputs are not read

        var expected = padded.Forward(ids, types, b, t, padding, training: true).ToArray();
        var actual = packed.Forward(ids, types, b, t, padding, training: true).ToArray();
        for (int i = 0; i < b * t; i++)
        {
            var row = actual.AsSpan(i * config.ModelDim, config.ModelDim);
            if (padding[i]) Assert.All(row.ToArray(), x => Assert.Equal(0f, x));
            else Close.All(row, expected.AsSpan(i * config.ModelDim, config.ModelDim), 1e-5, $"hidden state of token {i}");
        }
        padded.Parameters.ZeroGrad();
        packed.Parameters.ZeroGrad();
        padded.Backward(dh, b, t);
        packed.Backward(dh, b, t);
        foreach (var p in padded.Parameters.Tensors)
            Close.All(packed.Parameters[p.Name].Grad, p.Grad, 1e-4, $"gradient of {p.Name}");
    }

    [Fact]
    public void Packed_EqualsPadded_Inference()
    {
        int b = 5, t = 11;
        int[] lengths = [2, 11, 7, 1, 4];
        var (ids, types, padding) = Batch(b, t, lengths, 3);
        var packed = new TransformerEncoder(Bert, 7);
        GradCheck.Scramble(packed.Parameters, 3, 0.3f);
        var padded = packed.Copy();
        padded.Packing = false;
        var expected = padded.Forward(ids, types, b, t, padding, training: false).ToArray();
        var actual = packed.Forward(ids, types, b, t, padding, training: false);
        for (int i = 0; i < b * t; i++)
            if (!padding[i]) Close.All(actual.AsSpan(i * 16, 16), expected.AsSpan(i * 16, 16), 1e-5, $"hidden state of token {i}");
        // Sentence vectors read real tokens only, so they agree whole.
        var batch = new TokenBatch(b, t, ids, padding.Select(p => p ? 0 : 1).ToArray()) { TokenTypeIds = types };
        var e = padded.Embed(batch).AsSpan(0, b * 16).ToArray();
        Close.All(packed.Embed(batch).AsSpan(0, b * 16), e, 1e-5, "mean-pooled sentence vectors");
    }

    [Fact]
    public void Classifier_PackedTrainingStep_EqualsPadded()
    {
        var config = new ClassifierConfig(Bert) { NumClasses = 3, Pooling = Pooling.Cls };
        var packed = new TransformerClassifier(config, 3);
        GradCheck.Scramble(packed.Parameters, 4, 0.3f);
        var padded = new TransformerClassifier(config, 3);
        foreach (var p in packed.Parameters.Tensors) p.Value.CopyTo(padded.Parameters[p.Name].Value);
        padded.Encoder.Packing = false;
        var (ids, types, padding) = Batch(4, 9, [9, 3, 1, 6], 4);
        var batch = new TokenBatch(4, 9, ids, padding.Select(p => p ? 0 : 1).ToArray(), [0, 2, 1, 2]) { TokenTypeIds = types };
        packed.Parameters.ZeroGrad();
        padded.Parameters.ZeroGrad();
        double lossPacked = packed.ForwardBackward(batch), lossPadded = padded.ForwardBackward(batch);
        Assert.Equal(lossPadded, lossPacked, 5);
        foreach (var p in padded.Parameters.Tensors)
            Close.All(packed.Parameters[p.Name].Grad, p.Grad, 1e-4, $"gradient of {p.Name}");
    }

    [Fact]
    public void TryPack_LaysOutRightPaddedRows_AndRefusesOthers()
    {
        var packing = new PackedSequences();
        bool[] pad = [false, false, true, false, false, false, false, true, true];
        Assert.True(packing.TryPack(pad, 3, 3));
        Assert.Equal([2, 3, 1], packing.Lengths.ToArray());
        Assert.Equal([0, 2, 5], packing.Starts.ToArray());
        Assert.Equal([0, 1, 0, 1, 2, 0], packing.Positions.ToArray());
        var ids = new[] { 1, 2, 0, 3, 4, 5, 6, 0, 0 };
        var gathered = new int[6];
        packing.Gather(ids, gathered);
        Assert.Equal([1, 2, 3, 4, 5, 6], gathered);

        Assert.False(packing.TryPack(null, 3, 3));                                            // no mask
        Assert.False(packing.TryPack(new bool[9], 3, 3));                                     // no padding
        Assert.False(packing.TryPack([true, false, false, false, false, false, false, false, false], 3, 3)); // left padding
        Assert.False(packing.TryPack([false, true, false, false, false, false, false, false, false], 3, 3)); // a hole
        Assert.False(packing.TryPack([true, true, true, false, false, false, false, false, true], 3, 3));    // an empty row
    }

    [Fact]
    public void LeftPaddedBatch_RunsPadded_WithTheSameResult()
    {
        int b = 2, t = 5;
        var ids = new[] { 0, 0, 3, 4, 5, 6, 7, 8, 9, 10 };
        var padding = new[] { true, true, false, false, false, false, false, false, false, false };
        var encoder = new TransformerEncoder(PreNorm, 2);
        var reference = encoder.Copy();
        reference.Packing = false;
        var expected = reference.Forward(ids, null, b, t, padding, training: false).ToArray();
        Assert.Equal(expected, encoder.Forward(ids, null, b, t, padding, training: false).AsSpan(0, expected.Length).ToArray());
    }
}
