using MLNetTransformers.Core.Kernels;
using MLNetTransformers.Core.Layers;
using MLNetTransformers.Core.Models;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>Every layer's backward against central finite differences of L = Σ y·R.</summary>
public class LayerGradientTests
{
    [Fact]
    public void Linear()
    {
        var ps = new ParameterSet();
        var layer = new Linear(ps, "", 7, 5);
        ps.Allocate(3);
        GradCheck.Scramble(ps, 4);
        var x = GradCheck.Random(4 * 7, 1);
        var r = GradCheck.Random(4 * 5, 2);
        layer.Forward(x, 4);
        var dx = (float[])layer.Backward(r, 4).Clone();
        double L() => GradCheck.Dot(layer.Forward(x, 4), r, 20);
        GradCheck.Check("x", x, 0, x.Length, dx, L);
        GradCheck.CheckParameters(ps, L);
    }

    [Theory]
    [InlineData(PoolerActivation.Tanh, 0)]
    [InlineData(PoolerActivation.Relu, 0)] // DistilBERT's pre_classifier
    [InlineData(PoolerActivation.Gelu, 0)] // ELECTRA's classifier.dense
    [InlineData(PoolerActivation.Tanh, 4)] // a sentence-transformers Dense module narrowing the vectors
    [InlineData(PoolerActivation.Identity, 9)] // one without an activation, widening them
    public void Pooler(PoolerActivation activation, int outDim)
    {
        var ps = new ParameterSet();
        var layer = new Pooler(ps, "", 6, activation, outDim: outDim);
        ps.Allocate(3);
        GradCheck.Scramble(ps, 4);
        int width = outDim > 0 ? outDim : 6;
        var x = GradCheck.Random(4 * 6, 1);
        var r = GradCheck.Random(4 * width, 2);
        var y = layer.Forward(x, 4);
        Assert.Equal([width, 6], ps["dense.weight"].Shape);
        if (activation == PoolerActivation.Relu) Assert.Contains(y.Take(24), v => v == 0f); // some units are cut, so the kink is exercised
        ps.ZeroGrad();
        var dx = (float[])layer.Backward(r).Clone();
        double L() => GradCheck.Dot(layer.Forward(x, 4), r, 4 * width);
        GradCheck.Check("x", x, 0, x.Length, dx, L, kinks: activation == PoolerActivation.Relu);
        GradCheck.CheckParameters(ps, L, kinks: activation == PoolerActivation.Relu);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(150)] // backward in pieces of 64 rows across cores, the γ and β gradients summed piece by piece
    public void LayerNorm(int rows)
    {
        var ps = new ParameterSet();
        var layer = new LayerNorm(ps, "", 9);
        ps.Allocate(3);
        GradCheck.Scramble(ps, 4);
        var x = GradCheck.Random(rows * 9, 1, 2f);
        var r = GradCheck.Random(rows * 9, 2);
        layer.Forward(x, rows);
        var dx = (float[])layer.Backward(r, rows).Clone();
        double L() => GradCheck.Dot(layer.Forward(x, rows), r, rows * 9);
        GradCheck.Check("x", x, 0, x.Length, dx, L, eps: 1e-3f, samples: Math.Min(x.Length, 60));
        GradCheck.CheckParameters(ps, L);
    }

    [Fact]
    public void EmbeddingAndLearnedPositions()
    {
        var ps = new ParameterSet();
        var emb = new Embedding(ps, "tok.", 6, 4);
        var pos = new LearnedPositionalEncoding(ps, "pos.", 5, 4);
        ps.Allocate(1);
        int[] ids = { 1, 5, 1, 0, 2, 2 }; // [2, 3], repeated ids exercise the scatter-add
        var r = GradCheck.Random(24, 2);
        float[] Fwd() { var y = emb.Forward(ids, 6); pos.AddTo(y, 2, 3); return y; }
        Fwd();
        emb.Backward(r, 6);
        pos.Backward(r, 2, 3);
        GradCheck.CheckParameters(ps, () => GradCheck.Dot(Fwd(), r, 24), samples: 30);
    }

    [Theory]
    [InlineData(Activation.Gelu)]
    [InlineData(Activation.GeluTanh)]
    [InlineData(Activation.Silu)]
    [InlineData(Activation.Relu)]
    public void FeedForward(Activation act)
    {
        var ps = new ParameterSet();
        var ff = new FeedForward(ps, "", 6, 10, act, 0f, 1);
        ps.Allocate(5);
        GradCheck.Scramble(ps, 6);
        var x = GradCheck.Random(3 * 6, 1);
        var r = GradCheck.Random(3 * 6, 2);
        ff.Forward(x, 3, false);
        var dx = (float[])ff.Backward(r, 3).Clone();
        double L() => GradCheck.Dot(ff.Forward(x, 3, false), r, 18);
        bool relu = act == Activation.Relu;
        GradCheck.Check("x", x, 0, x.Length, dx, L, eps: relu ? 1e-3f : 1e-2f, kinks: relu);
        GradCheck.CheckParameters(ps, L, kinks: relu);
    }

    [Fact]
    public void Dropout_BackwardAppliesTheForwardMask()
    {
        var drop = new Dropout(0.5f, 7);
        var x = GradCheck.Random(1000, 1);
        var y = drop.Forward(x, 1000, training: true);
        var dy = GradCheck.Random(1000, 2);
        var dx = drop.Backward(dy, 1000);
        int dropped = 0;
        for (int i = 0; i < 1000; i++)
        {
            if (y[i] == 0f) { dropped++; Assert.Equal(0f, dx[i]); }
            else
            {
                Assert.Equal(2f * x[i], y[i], 6);   // inverted: kept values scaled by 1/(1-p)
                Assert.Equal(2f * dy[i], dx[i], 6);
            }
        }
        Assert.InRange(dropped, 420, 580);
        Assert.Same(x, drop.Forward(x, 1000, training: false)); // identity at inference
    }

    [Fact]
    public void Dropout_SameSeedSameMasks()
    {
        var x = GradCheck.Random(500, 1);
        var a = new Dropout(0.3f, 11); var b = new Dropout(0.3f, 11);
        Assert.Equal(a.Forward(x, 500, true).Take(500), b.Forward(x, 500, true).Take(500));
        var first = a.Forward(x, 500, true).Take(500).ToArray();
        Assert.NotEqual(first, a.Forward(x, 500, true).Take(500).ToArray()); // a new mask every call
    }

    [Fact]
    public void Dropout_DrawsOneValuePerElementInOrder_AtEveryLength()
    {
        // The vector paths draw sixteen (512-bit) or eight (AVX2) values per pass; each element must still get the value a
        // one-at-a-time loop over the call's stream gives it, bit for bit (dropped elements +0, never −0), in the vector
        // body and in the tail. This machine takes the 512-bit path; DOTNET_EnableAVX512=0 runs the AVX2 one.
        const float p = 0.3f;
        foreach (int length in new[] { 1, 15, 16, 17, 33, 1000, (1 << 15) + 1, 100_003 }) // the last two: split across cores in chunks
        {
            var drop = new Dropout(p, 5);
            var x = Enumerable.Range(0, length).Select(i => i - 7.25f).ToArray();
            var dy = Enumerable.Range(0, length).Select(i => 3.5f - i).ToArray();
            for (ulong call = 0; call < 2; call++)
            {
                var y = drop.Forward(x, length, training: true);
                var dx = drop.Backward(dy, length);
                var rng = DeterministicRandom.Derive(5, call);
                float keep = 1f / (1f - p);
                for (int i = 0; i < length; i++)
                {
                    bool kept = (rng.NextUInt64() >> 40) >= (ulong)(p * (1 << 24));
                    Assert.Equal(BitConverter.SingleToInt32Bits(kept ? x[i] * keep : 0f), BitConverter.SingleToInt32Bits(y[i]));
                    Assert.Equal(BitConverter.SingleToInt32Bits(kept ? dy[i] * keep : 0f), BitConverter.SingleToInt32Bits(dx[i]));
                }
            }
        }
    }

    [Fact]
    public void DropoutWithoutAStoredMask_AsAttentionDrawsIt_MatchesOneDrawPerElement()
    {
        // Attention drops its probabilities through the same vector paths without keeping a mask: the same values, bit for
        // bit, as a one-at-a-time loop over the stream, in the vector body and in the tail.
        const float p = 0.1f;
        foreach (int length in new[] { 1, 7, 16, 17, 26 * 26, 1000 })
        {
            var x = Enumerable.Range(0, length).Select(i => 0.5f + i * 0.01f).ToArray();
            var y = new float[length];
            var rng = DeterministicRandom.Derive(9, (ulong)length);
            Dropout.Apply(ref rng, x, y, default, p);
            var reference = DeterministicRandom.Derive(9, (ulong)length);
            float keep = 1f / (1f - p);
            for (int i = 0; i < length; i++)
            {
                bool kept = (reference.NextUInt64() >> 40) >= (ulong)(p * (1 << 24));
                Assert.Equal(BitConverter.SingleToInt32Bits(kept ? x[i] * keep : 0f), BitConverter.SingleToInt32Bits(y[i]));
            }
            Assert.Equal(reference.NextUInt64(), rng.NextUInt64()); // the stream left where one draw per element leaves it
        }
    }

    [Fact]
    public void SimplifiedSelfAttention()
    {
        var att = new SimplifiedSelfAttention();
        var x = GradCheck.Random(2 * 4 * 3, 1);
        var r = GradCheck.Random(2 * 4 * 3, 2);
        att.Forward(x, 2, 4, 3);
        var dx = (float[])att.Backward(r).Clone();
        GradCheck.Check("x", x, 0, x.Length, dx, () => GradCheck.Dot(att.Forward(x, 2, 4, 3), r, 24), samples: 24);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SelfAttention_AndCausal(bool causal)
    {
        var ps = new ParameterSet();
        SelfAttention att = causal ? new CausalSelfAttention(ps, "", 5, 4, qkvBias: true) : new SelfAttention(ps, "", 5, 4);
        ps.Allocate(1);
        GradCheck.Scramble(ps, 2, 0.5f);
        var x = GradCheck.Random(2 * 3 * 5, 1);
        var r = GradCheck.Random(2 * 3 * 4, 2);
        att.Forward(x, 2, 3);
        var dx = (float[])att.Backward(r).Clone();
        double L() => GradCheck.Dot(att.Forward(x, 2, 3), r, 24);
        GradCheck.Check("x", x, 0, x.Length, dx, L);
        GradCheck.CheckParameters(ps, L, samples: 12);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void MultiHeadSelfAttention(bool causal, bool padded)
    {
        var ps = new ParameterSet();
        var mha = new MultiHeadAttention(ps, "", 8, 2, causal);
        ps.Allocate(1);
        GradCheck.Scramble(ps, 2, 0.4f);
        var x = GradCheck.Random(2 * 4 * 8, 1);
        var r = GradCheck.Random(2 * 4 * 8, 2);
        bool[]? pad = padded ? new[] { false, false, true, true, false, false, false, true } : null;
        mha.Forward(x, 2, 4, pad);
        var dx = (float[])mha.Backward(r).Clone();
        double L() => GradCheck.Dot(mha.Forward(x, 2, 4, pad), r, 64);
        GradCheck.Check("x", x, 0, x.Length, dx, L, samples: 16);
        GradCheck.CheckParameters(ps, L, samples: 10);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MultiHeadSelfAttention_WithAttentionDropout(bool packed)
    {
        var ps = new ParameterSet();
        var mha = new MultiHeadAttention(ps, "", 8, 2) { AttentionDropout = 0.3f };
        ps.Allocate(1);
        GradCheck.Scramble(ps, 2, 0.4f);
        CheckWithDropout(ps, mha, packed);
    }

    // One attention layer trained with dropout (two sequences of 5, the first padded to 3): the same masks at every
    // evaluation, since setting the seed restarts the mask streams; dropout acts in training only and the seed fixes its
    // masks; then the input's and every parameter's gradient against finite differences. prepare runs before each forward.
    private static void CheckWithDropout(ParameterSet ps, MultiHeadAttention mha, bool packed, Action? prepare = null, Action? afterBackward = null)
    {
        var x = GradCheck.Random(2 * 5 * 8, 1);
        var r = GradCheck.Random(2 * 5 * 8, 2);
        var pad = new[] { false, false, false, true, true, false, false, false, false, false };
        var packing = new PackedSequences();
        Assert.True(packing.TryPack(pad, 2, 5));
        int rows = packed ? packing.Rows : 10;
        float[] Forward(bool training)
        {
            mha.AttentionDropoutSeed = 11;
            prepare?.Invoke();
            return packed ? mha.Forward(x, packing, inference: false, training) : mha.Forward(x, 2, 5, pad, inference: false, training);
        }
        var dropped = Forward(training: true).AsSpan(0, rows * 8).ToArray();
        var plain = Forward(training: false).AsSpan(0, rows * 8).ToArray();
        Assert.NotEqual(plain, dropped); // dropout acts in training only...
        Assert.Equal(plain, Forward(training: false).AsSpan(0, rows * 8).ToArray());
        Assert.Equal(dropped, Forward(training: true).AsSpan(0, rows * 8).ToArray()); // ...and the seed fixes its masks
        ps.ZeroGrad();
        var dx = (float[])mha.Backward(r).Clone();
        afterBackward?.Invoke();
        double L() => GradCheck.Dot(Forward(training: true), r, rows * 8);
        GradCheck.Check("x", x, 0, rows * 8, dx, L, samples: 16);
        GradCheck.CheckParameters(ps, L, samples: 10);
    }

    // MPNet's relative position bias, one table shared by two layers: the gradients of the input, of both layers' weights
    // and of the table (summed over the layers), padded and packed, against finite differences; sequences of 12 reach
    // the logarithmic buckets (offsets of 8 and more).
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MultiHeadSelfAttention_WithASharedRelativePositionBias(bool packed)
    {
        const int t = 12, d = 8;
        var ps = new ParameterSet();
        var first = new MultiHeadAttention(ps, "a.", d, 2);
        var second = new MultiHeadAttention(ps, "b.", d, 2);
        var bias = new RelativePositionBias(ps, "rel.", 32, 2);
        first.PositionBias = second.PositionBias = bias;
        ps.Allocate(1);
        GradCheck.Scramble(ps, 2, 0.4f);
        // the second sequence has 9 tokens
        GradCheck.CheckTwoSelfAttentionLayers(ps, first, second, t, d, 9, packed, afterBackward: () => Assert.Contains(bias.Weight.Grad.ToArray(), g => g != 0f));
    }

    [Fact]
    public void CrossAttention_WithMemoryPadding()
    {
        var ps = new ParameterSet();
        var mha = new MultiHeadAttention(ps, "", 8, 2);
        ps.Allocate(1);
        GradCheck.Scramble(ps, 2, 0.4f);
        var x = GradCheck.Random(2 * 3 * 8, 1);
        var mem = GradCheck.Random(2 * 5 * 8, 3);
        var r = GradCheck.Random(2 * 3 * 8, 2);
        var pad = new[] { false, false, false, true, true, false, false, false, false, false };
        mha.Forward(x, 2, 3, mem, 5, pad);
        var dx = (float[])mha.Backward(r).Clone();
        var dmem = (float[])mha.MemoryGrad.Clone();
        double L() => GradCheck.Dot(mha.Forward(x, 2, 3, mem, 5, pad), r, 48);
        GradCheck.Check("x", x, 0, x.Length, dx, L, samples: 16);
        GradCheck.Check("memory", mem, 0, mem.Length, dmem, L, samples: 24);
        for (int t = 3; t < 5; t++) for (int c = 0; c < 8; c++) Assert.Equal(0f, dmem[t * 8 + c]); // padded memory gets no gradient
        GradCheck.CheckParameters(ps, L, samples: 10);
    }

    [Theory]
    [InlineData(NormPlacement.PreNorm, false)]
    [InlineData(NormPlacement.PostNorm, false)]
    [InlineData(NormPlacement.PreNorm, true)]
    public void EncoderBlock(NormPlacement norm, bool causal)
    {
        var config = new TransformerConfig { ModelDim = 8, Heads = 2, FeedForwardDim = 12, Dropout = 0f, Norm = norm };
        var ps = new ParameterSet();
        var block = new EncoderBlock(ps, "", config, causal, 1);
        ps.Allocate(2);
        GradCheck.Scramble(ps, 3, 0.3f);
        var x = GradCheck.Random(2 * 3 * 8, 1);
        var r = GradCheck.Random(2 * 3 * 8, 2);
        block.Forward(x, 2, 3, null, false);
        var dx = (float[])block.Backward(r, 2, 3).Clone();
        double L() => GradCheck.Dot(block.Forward(x, 2, 3, null, false), r, 48);
        GradCheck.Check("x", x, 0, x.Length, dx, L, samples: 16);
        GradCheck.CheckParameters(ps, L, samples: 5);
    }

    [Theory]
    [InlineData(NormPlacement.PreNorm)]
    [InlineData(NormPlacement.PostNorm)]
    public void DecoderBlock_WithCrossAttention(NormPlacement norm)
    {
        var config = new TransformerConfig { ModelDim = 8, Heads = 2, FeedForwardDim = 12, Dropout = 0f, Norm = norm, CrossAttention = true };
        var ps = new ParameterSet();
        var block = new DecoderBlock(ps, "", config, 1);
        ps.Allocate(2);
        GradCheck.Scramble(ps, 3, 0.3f);
        var x = GradCheck.Random(2 * 3 * 8, 1);
        var mem = GradCheck.Random(2 * 4 * 8, 5);
        var r = GradCheck.Random(2 * 3 * 8, 2);
        block.Forward(x, 2, 3, null, mem, 4, null, false);
        var dmem = new float[mem.Length];
        var dx = (float[])block.Backward(r, 2, 3, dmem).Clone();
        double L() => GradCheck.Dot(block.Forward(x, 2, 3, null, mem, 4, null, false), r, 48);
        GradCheck.Check("x", x, 0, x.Length, dx, L, samples: 16);
        GradCheck.Check("memory", mem, 0, mem.Length, dmem, L, samples: 16);
        GradCheck.CheckParameters(ps, L, samples: 5);
    }

    [Fact]
    public void BagOfNGrams_UnigramsAndHashedBigrams()
    {
        var ps = new ParameterSet();
        var bag = new BagOfNGrams(ps, "ngram.", vocab: 6, buckets: 7, classes: 3, scale: 2f);
        ps.Allocate(1);
        GradCheck.Scramble(ps, 4);
        int[] ids = { 1, 5, 1, 5, 2, 3, 4, 0, 0 }; // [3, 3]: repeated n-grams, a padded row, one with a single real token
        var padding = new[] { false, false, false, false, false, true, false, true, true };
        var r = GradCheck.Random(9, 2);
        bag.Forward(ids, 3, 3, padding);
        bag.Backward(r);
        GradCheck.CheckParameters(ps, () => GradCheck.Dot(bag.Forward(ids, 3, 3, padding), r, 9), samples: 21);
        // Row 0: unigrams 1, 5, 1 and bigrams (1,5), (5,1), weighted 2/√5; row 2: unigram 4 alone, weight 2/√1.
        var y = bag.Forward(ids, 3, 3, padding);
        var u = bag.Unigram.Value; var b = bag.Bigram.Value;
        for (int c = 0; c < 3; c++)
        {
            float row0 = (2 * u[1 * 3 + c] + u[5 * 3 + c] + b[(int)bag.BigramRow(1, 5) * 3 + c] + b[(int)bag.BigramRow(5, 1) * 3 + c]) * 2f / MathF.Sqrt(5);
            Assert.Equal(row0, y[c], 5);
            Assert.Equal(u[4 * 3 + c] * 2f, y[6 + c], 5);
        }
    }

    [Theory]
    [InlineData(Pooling.Mean, NormPlacement.PreNorm, PositionalEncodingKind.Learned, 0, 0f, 1)]
    [InlineData(Pooling.Cls, NormPlacement.PostNorm, PositionalEncodingKind.Sinusoidal, 0, 0.1f, 1)]
    [InlineData(Pooling.Mean, NormPlacement.PreNorm, PositionalEncodingKind.Learned, 11, 0.1f, 1)]
    [InlineData(Pooling.Cls, NormPlacement.PreNorm, PositionalEncodingKind.Learned, 11, 0f, 2)]
    public void Classifier_EndToEnd(Pooling pooling, NormPlacement norm, PositionalEncodingKind pe, int ngramBuckets, float labelSmoothing, int members)
    {
        var config = new ClassifierConfig
        {
            VocabSize = 13, ModelDim = 8, Heads = 2, Layers = 2, FeedForwardDim = 12, MaxLength = 5, Dropout = 0f,
            NumClasses = 3, Pooling = pooling, Norm = norm, PositionalEncoding = pe, NGramBuckets = ngramBuckets, Members = members,
        };
        var model = new TransformerClassifier(config, 3) { LabelSmoothing = labelSmoothing };
        GradCheck.Scramble(model.Parameters, 4, 0.2f);
        var batch = new TokenBatch(2, 4, new[] { 1, 4, 12, 0, 5, 5, 0, 0 }, new[] { 1, 1, 1, 1, 1, 1, 0, 0 }, new[] { 2, 0 });
        GradCheck.CheckModel(model, batch);
    }

    // ELECTRA's shape: embedding tables, their LayerNorm and token types 5 wide, projected (emb_proj) to the blocks' 8;
    // post-norm; the first token through a GELU dense layer. Every parameter, the projection's included, against finite
    // differences; padding makes the batch run packed.
    [Fact]
    public void Classifier_WithFactorizedEmbeddingsAndAGeluHead_EndToEnd()
    {
        var config = new ClassifierConfig
        {
            VocabSize = 13, ModelDim = 8, EmbeddingDim = 5, Heads = 2, Layers = 2, FeedForwardDim = 12, MaxLength = 5, Dropout = 0f, NumClasses = 3,
            Norm = NormPlacement.PostNorm, EmbeddingNorm = true, TypeVocabSize = 2, Pooling = Pooling.Cls, Pooler = true, PoolerActivation = PoolerActivation.Gelu,
        };
        var model = new TransformerClassifier(config, 3);
        Assert.Equal([8, 5], model.Parameters["emb_proj.weight"].Shape);
        Assert.Equal([13, 5], model.Parameters["tok.weight"].Shape);
        GradCheck.Scramble(model.Parameters, 4, 0.2f);
        var batch = new TokenBatch(2, 4, new[] { 1, 4, 12, 3, 5, 5, 0, 0 }, new[] { 1, 1, 1, 1, 1, 1, 0, 0 }, new[] { 2, 0 }) { TokenTypeIds = [0, 0, 1, 1, 0, 0, 0, 0] };
        GradCheck.CheckModel(model, batch);
    }

    // ALBERT's shape: three blocks running one set of weights (LayerGroups 1), factorized embeddings, post-norm. The model
    // holds one block's weights; every parameter against finite differences (the shared ones collect three blocks'
    // gradients), padded so that the batch runs packed.
    [Fact]
    public void Classifier_WithBlocksSharingOneSetOfWeights_EndToEnd()
    {
        var config = new ClassifierConfig
        {
            VocabSize = 13, ModelDim = 8, EmbeddingDim = 5, Heads = 2, Layers = 3, LayerGroups = 1, FeedForwardDim = 12, MaxLength = 5, Dropout = 0f, NumClasses = 3,
            Norm = NormPlacement.PostNorm, EmbeddingNorm = true, TypeVocabSize = 2, Pooling = Pooling.Cls, Pooler = true, PoolerActivation = PoolerActivation.Tanh,
        };
        var model = new TransformerClassifier(config, 3);
        Assert.True(model.Parameters.Contains("layers.0.linear1.weight"));
        Assert.False(model.Parameters.Contains("layers.1.linear1.weight"));
        Assert.Equal(model.Parameters.Count, new TransformerClassifier(config with { Layers = 1 }, 3).Parameters.Count);
        GradCheck.Scramble(model.Parameters, 4, 0.2f);
        var batch = new TokenBatch(2, 4, new[] { 1, 4, 12, 3, 5, 5, 0, 0 }, new[] { 1, 1, 1, 1, 1, 1, 0, 0 }, new[] { 2, 0 }) { TokenTypeIds = [0, 0, 1, 1, 0, 0, 0, 0] };
        GradCheck.CheckModel(model, batch);
    }

    // DeBERTa's shape: no absolute positions, disentangled attention (content-to-position and position-to-content terms
    // from a shared table of relative positions, projected by each layer's own query and key weights), post-norm. Every
    // parameter, the table and its LayerNorm included, against finite differences; a span of 3 clamps far distances, a
    // span of 6 with log buckets out to 12 reaches them (sequences of 9); padded rows make the batch run packed.
    // DeBERTa v1's variant: each layer projects the positions with weights of its own (pos_query_proj with a bias,
    // pos_key_proj without), the table is not normalized, and the keys have no bias (held at 0, so finite differences
    // of it are 0 as its gradient is).
    [Theory]
    [InlineData(3, 0, false)]
    [InlineData(6, 12, false)]
    [InlineData(4, 0, true)]
    public void Classifier_WithDisentangledAttention_EndToEnd(int span, int maxDistance, bool debertaV1)
    {
        var config = new ClassifierConfig
        {
            VocabSize = 13, ModelDim = 8, Heads = 2, Layers = 2, FeedForwardDim = 12, MaxLength = 9, Dropout = 0f, NumClasses = 3,
            Norm = NormPlacement.PostNorm, EmbeddingNorm = true, PositionalEncoding = PositionalEncodingKind.None, DisentangledSpan = span, DisentangledMaxDistance = maxDistance,
            Pooling = Pooling.Cls, Pooler = true, PoolerActivation = PoolerActivation.Gelu,
            DisentangledOwnProjections = debertaV1, DisentangledNorm = !debertaV1, AttentionKeyBias = !debertaV1,
        };
        var model = new TransformerClassifier(config, 3);
        Assert.False(model.Parameters.Contains("pos.weight"));
        Assert.Equal([2 * span, 8], model.Parameters["rel_embeddings.weight"].Shape);
        Assert.Equal((debertaV1, !debertaV1), (model.Parameters.Contains("layers.1.self_attn.pos_key_proj.weight"), model.Parameters.Contains("rel_embeddings.norm.weight")));
        Assert.False(model.Parameters.Contains("layers.1.self_attn.pos_key_proj.bias"));
        EncoderRunsAgree.GradientsOnTwoPaddedSentences_ThenPackedPaddedAndTiled(model);
        if (debertaV1) Assert.All(model.Parameters["layers.0.self_attn.in_proj_bias"].Value[8..16].ToArray(), b => Assert.Equal(0f, b));
    }

    // DeBERTa-v2-xlarge's convolution after the first block (kernel 3 or 5, tanh or GELU): every parameter (the convolution's
    // weight, bias and norm among them) against finite differences on padded sentences, then packed = padded = tiled; the
    // convolution reads no padding row and no row of another sequence.
    [Theory]
    [InlineData(3, PoolerActivation.Tanh)]
    [InlineData(5, PoolerActivation.Gelu)]
    public void Classifier_WithDebertasConvolution_EndToEnd(int kernel, PoolerActivation activation)
    {
        var config = new ClassifierConfig
        {
            VocabSize = 13, ModelDim = 8, Heads = 2, Layers = 2, FeedForwardDim = 12, MaxLength = 9, Dropout = 0f, NumClasses = 3,
            Norm = NormPlacement.PostNorm, EmbeddingNorm = true, PositionalEncoding = PositionalEncodingKind.None, DisentangledSpan = 3,
            Pooling = Pooling.Cls, Pooler = true, PoolerActivation = PoolerActivation.Gelu, ConvKernel = kernel, ConvActivation = activation,
        };
        var model = new TransformerClassifier(config, 3);
        Assert.Equal([8, 8, kernel], model.Parameters["conv.conv.weight"].Shape);
        EncoderRunsAgree.GradientsOnTwoPaddedSentences_ThenPackedPaddedAndTiled(model);
        Assert.Contains("ConvKernel", Assert.Throws<ArgumentException>(() => (config with { ConvKernel = 2 }).Validate()).Message);
    }

    // Long sequences: the tiled inference takes keys in blocks of 256 with an online softmax, and the disentangled terms
    // must be added block by block; sequences of 300 and 280 tokens (log buckets out to 64, so far distances share rows)
    // give the materialized attention's hidden states, packed and padded.
    [Fact]
    public void DisentangledAttention_OnLongSequences_TiledEqualsMaterialized()
    {
        var config = new TransformerConfig
        {
            VocabSize = 13, ModelDim = 8, Heads = 2, Layers = 2, FeedForwardDim = 12, MaxLength = 300, Dropout = 0f, Norm = NormPlacement.PostNorm,
            EmbeddingNorm = true, PositionalEncoding = PositionalEncodingKind.None, DisentangledSpan = 16, DisentangledMaxDistance = 64,
        };
        var encoder = new TransformerEncoder(config, 5);
        GradCheck.Scramble(encoder.Parameters, 6, 0.3f);
        EncoderRunsAgree.TiledAndMaterializedOnLongSequences(encoder);
    }

    // DeBERTa's pos_dropout: each layer drops rows of the shared relative positions with masks of its own in training (not
    // in inference); the masks restart with the attention's seed, so finite differences see the same ones. Every parameter
    // and the input against them, padded and packed.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DisentangledAttention_WithDropoutOnThePositions(bool packed)
    {
        var ps = new ParameterSet();
        var positions = new DisentangledPositions(ps, "rel.", 3, 0, 8, 1e-5f, dropout: 0.3f);
        var mha = new MultiHeadAttention(ps, "", 8, 2) { Disentangled = positions };
        ps.Allocate(1);
        GradCheck.Scramble(ps, 2, 0.4f);
        CheckWithDropout(ps, mha, packed, prepare: () => positions.Prepare(5), afterBackward: positions.Backward);
    }

    // Sharing is the same computation as blocks of their own holding equal copies: the same outputs, and each shared
    // tensor's gradient is the sum of the copies' gradients (ALBERT's groups: 4 blocks, 2 sets, block i runs set i / 2).
    [Fact]
    public void Encoder_WithSharedBlocks_EqualsBlocksOfTheirOwnHoldingCopies()
    {
        var shared = new TransformerConfig { VocabSize = 13, ModelDim = 8, Heads = 2, Layers = 4, LayerGroups = 2, FeedForwardDim = 12, MaxLength = 6, Dropout = 0f, Norm = NormPlacement.PostNorm, EmbeddingNorm = true };
        Assert.Equal([0, 0, 1, 1], Enumerable.Range(0, 4).Select(shared.ParameterLayerOf));
        var a = new TransformerEncoder(shared, 2);
        var b = new TransformerEncoder(shared with { LayerGroups = 0 }, 2);
        GradCheck.Scramble(a.Parameters, 5, 0.3f);
        // b's block i holds a copy of the set a's block i runs.
        string Source(string name) => System.Text.RegularExpressions.Regex.Replace(name, @"^layers\.(\d+)\.", m => $"layers.{shared.ParameterLayerOf(int.Parse(m.Groups[1].Value))}.");
        foreach (var t in b.Parameters.Tensors) a.Parameters[Source(t.Name)].Value.CopyTo(t.Value);
        int[] ids = [2, 4, 7, 3, 0, 0, 2, 9, 11, 5, 6, 3];
        var padding = ids.Select(i => i == 0).ToArray();
        var ya = a.Forward(ids, 2, 6, padding, training: true);
        var yb = b.Forward(ids, 2, 6, padding, training: true);
        Assert.Equal(yb.Take(96), ya.Take(96));
        var dy = GradCheck.Random(96, 7);
        a.Parameters.ZeroGrad();
        b.Parameters.ZeroGrad();
        a.Backward(dy, 2, 6);
        b.Backward(dy, 2, 6);
        foreach (var t in a.Parameters.Tensors)
        {
            var expected = new float[t.Length];
            foreach (var u in b.Parameters.Tensors.Where(u => Source(u.Name) == t.Name))
                for (int i = 0; i < t.Length; i++) expected[i] += u.Grad[i];
            for (int i = 0; i < t.Length; i++) Assert.True(Math.Abs(expected[i] - t.Grad[i]) <= 1e-5f * (1 + Math.Abs(expected[i])), $"{t.Name}[{i}]: {t.Grad[i]} against {expected[i]}");
        }
        Assert.Throws<ArgumentException>(() => new TransformerConfig { Layers = 2, LayerGroups = 3 }.Validate());
        Assert.Throws<NotSupportedException>(() => new TransformerLanguageModel(new TransformerConfig { VocabSize = 13, ModelDim = 8, Heads = 2, Layers = 2, LayerGroups = 1, FeedForwardDim = 12 }));
    }

    // A one-output classifier is a regressor (mean squared error on real targets), here over sentence pairs: token types
    // reach the type embedding, and members average their predictions.
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Regressor_OnSentencePairs_EndToEnd(int members)
    {
        var config = new ClassifierConfig
        {
            VocabSize = 13, ModelDim = 8, Heads = 2, Layers = 2, FeedForwardDim = 12, MaxLength = 6, Dropout = 0f, TypeVocabSize = 2,
            NumClasses = 1, Pooling = Pooling.Mean, Members = members, EmbeddingNorm = true,
        };
        var model = new TransformerClassifier(config, 3);
        Assert.True(model.IsRegressor);
        GradCheck.Scramble(model.Parameters, 4, 0.2f);
        var batch = new TokenBatch(2, 6, new[] { 2, 4, 3, 7, 8, 3, 2, 5, 3, 9, 3, 0 }, new[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 })
        {
            TokenTypeIds = new[] { 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 0 }, Targets = new[] { 0.5f, -0.25f }, // a small loss: finite differences of a float loss near 10 are noise at this step
        };
        var y = model.Forward(batch).Take(2).ToArray();
        double mse = members * ((y[0] - 0.5) * (y[0] - 0.5) + (y[1] + 0.25) * (y[1] + 0.25)) / 2;
        if (members == 1) Assert.Equal(mse, model.Loss(batch), 4);
        GradCheck.CheckModel(model, batch);
        Assert.Throws<ArgumentException>(() => model.Loss(new TokenBatch(1, 2, new[] { 2, 3 }, labels: new[] { 1 })));
        Assert.Throws<ArgumentException>(() => new TransformerClassifier(new ClassifierConfig(config) { NumClasses = 1, NGramBuckets = 8 }));
    }

    // Sentence-BERT's bi-encoder: both sentences through one encoder, pooled, cosine against the target.
    [Theory]
    [InlineData(Pooling.Mean)]
    [InlineData(Pooling.Cls)]
    public void BiEncoder_EndToEnd(Pooling pooling)
    {
        var config = new TransformerConfig { VocabSize = 13, ModelDim = 8, Heads = 2, Layers = 2, FeedForwardDim = 12, MaxLength = 5, Dropout = 0f, Pooling = pooling, EmbeddingNorm = true };
        var model = new BiEncoder(new TransformerEncoder(config, 3));
        GradCheck.Scramble(model.Parameters, 4, 0.2f);
        // Two pairs: rows 0 and 2, rows 1 and 3; row 3 padded.
        var batch = new TokenBatch(4, 5, new[] { 6, 4, 7, 8, 3, 2, 5, 9, 3, 1, 9, 4, 6, 8, 3, 12, 11, 3, 0, 0 }, new[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0 })
        {
            Targets = new[] { 0.9f, -0.2f },
        };
        var cos = model.Similarities(batch).Take(2).ToArray();
        Assert.All(cos, c => Assert.InRange(c, -1f, 1f));
        Assert.Equal(((cos[0] - 0.9) * (cos[0] - 0.9) + (cos[1] + 0.2) * (cos[1] + 0.2)) / 2, model.Loss(batch), 5);
        GradCheck.CheckModel(model, batch);
        Assert.Throws<ArgumentException>(() => model.Loss(new TokenBatch(3, 2, new int[6]) { Targets = new float[2] }));
    }

    // Masked LM with BERT's head (transform, tied decoder) and next-sentence prediction: the joint loss's gradient; and
    // with ELECTRA's generator shape (embeddings 5 wide projected to 8, the transform back down to 5 for the tied decoder).
    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public void MaskedLanguageModel_WithBertHeads_JointLoss(int embeddingDim)
    {
        var config = new TransformerConfig
        {
            VocabSize = 11, ModelDim = 8, Heads = 2, Layers = 1, FeedForwardDim = 12, MaxLength = 6, Dropout = 0f, TypeVocabSize = 2,
            EmbeddingNorm = true, Pooler = true, MlmTransform = true, NextSentenceHead = true, Activation = Activation.Gelu, EmbeddingDim = embeddingDim,
        };
        var model = new MaskedLanguageModel(config, 5);
        GradCheck.Scramble(model.Parameters, 6, 0.3f);
        var batch = new TokenBatch(2, 6, new[] { 2, 4, 3, 7, 8, 3, 2, 5, 3, 9, 3, 0 }, new[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 },
            new[] { -100, 6, -100, -100, 10, -100, -100, -100, -100, 4, -100, -100 })
        {
            TokenTypeIds = new[] { 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 0 }, NextSentenceLabels = new[] { 0, 1 },
        };
        model.Parameters.ZeroGrad();
        float loss = model.ForwardBackward(batch);
        Assert.Equal(loss, model.LastLosses.MaskedLm + model.LastLosses.NextSentence, 4);
        Assert.Equal(2, model.LastNextSentence.Total);
        GradCheck.CheckParameters(model.Parameters, () => model.Loss(batch), samples: 4);
        Assert.Throws<ArgumentException>(() => new MaskedLanguageModel(config with { Pooler = false }));
    }

    [Fact]
    public void LanguageModel_EndToEnd()
    {
        var config = new TransformerConfig { VocabSize = 9, ModelDim = 8, Heads = 2, Layers = 2, FeedForwardDim = 12, MaxLength = 6, Dropout = 0f, Activation = Activation.GeluTanh };
        var model = new TransformerLanguageModel(config, 3);
        GradCheck.Scramble(model.Parameters, 4, 0.2f);
        var batch = new TokenBatch(2, 5, new[] { 1, 2, 3, 4, 5, 8, 7, 6, 5, 4 }, labels: new[] { 2, 3, 4, 5, 6, 7, 6, 5, -100, 3 });
        GradCheck.CheckModel(model, batch);
    }
}
