using MLNetTransformers.Core.Models;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>What both encoder-decoders share through <see cref="Seq2SeqModel"/> and <see cref="IIncrementalDecoder"/>: batch checks, copies, step checks.</summary>
public class Seq2SeqModelTests
{
    private static Seq2SeqConfig Config(Seq2SeqArchitecture arch) =>
        new(new TransformerConfig { VocabSize = 11, ModelDim = 8, Heads = 2, Layers = 1, FeedForwardDim = 12, MaxLength = 10, Dropout = 0f })
        {
            SourceVocabSize = 13, Architecture = arch, EmbeddingDim = arch == Seq2SeqArchitecture.Transformer ? 0 : 5, EncoderHiddenSize = 4,
        };

    public static TheoryData<Seq2SeqArchitecture> Architectures => new() { Seq2SeqArchitecture.Transformer, Seq2SeqArchitecture.Gru, Seq2SeqArchitecture.GruAttention };

    private static Seq2SeqModel Build(Seq2SeqArchitecture arch, ulong seed) =>
        arch == Seq2SeqArchitecture.Transformer ? new TransformerSeq2Seq(Config(arch), seed) : new RnnSeq2Seq(Config(arch), seed);

    private static TokenBatch Target(TokenBatch? source, int[]? labels = null) =>
        new(2, 3, new[] { 1, 5, 6, 1, 8, 0 }, new[] { 1, 1, 1, 1, 1, 0 }, labels ?? new[] { 5, 6, 2, 8, 2, -100 }) { Source = source };

    private static TokenBatch Source(int rows) =>
        new(rows, 4, Enumerable.Range(0, rows * 4).Select(i => 3 + i % 9).ToArray(), Enumerable.Repeat(1, rows * 4).ToArray());

    // EmbeddingDim shapes the GRU models (and pretrained encoders' projected embeddings); a transformer encoder-decoder
    // refuses it, and reads files that stored one while ignoring it (written before) as they were.
    [Fact]
    public void ATransformersEmbeddingDim_IsRefused_ButOlderFilesThatStoredItRead()
    {
        var stored = Config(Seq2SeqArchitecture.Transformer) with { EmbeddingDim = 5 };
        Assert.Contains("EmbeddingDim is for the GRU architectures", Assert.Throws<ArgumentException>(() => stored.Validate()).Message);
        var read = Seq2SeqConfig.FromJson(stored.ToJson());
        Assert.Equal((0, 8), (read.EmbeddingDim, read.EmbeddingWidth));
        Assert.Equal(5, Seq2SeqConfig.FromJson(Config(Seq2SeqArchitecture.Gru).ToJson()).EmbeddingWidth);
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void ABatchWithoutItsSourceOrTargets_IsRefusedWithTheReason(Seq2SeqArchitecture arch)
    {
        var model = Build(arch, 1);
        Assert.Contains("no source", Assert.Throws<ArgumentException>(() => model.Loss(Target(null))).Message);
        Assert.Contains("no source", Assert.Throws<ArgumentException>(() => model.Forward(Target(null))).Message);
        Assert.Contains("3 sequences for 2 targets", Assert.Throws<ArgumentException>(() => model.Forward(Target(Source(3)))).Message);
        Assert.Contains("3 sequences for 2 targets", Assert.Throws<ArgumentException>(() => model.ForwardBackward(Target(Source(3)))).Message);
        Assert.Contains("no targets", Assert.Throws<ArgumentException>(() => model.Loss(new TokenBatch(2, 3, new int[6]) { Source = Source(2) })).Message);
        Assert.Contains("4 targets for 6 positions", Assert.Throws<ArgumentException>(() => model.ForwardBackward(Target(Source(2), new int[4]))).Message);
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void ACopy_HasTheSameClassWeightsAndSmoothing_AndIsIndependent(Seq2SeqArchitecture arch)
    {
        var model = Build(arch, 2);
        GradCheck.Scramble(model.Parameters, 3, 0.3f);
        model.LabelSmoothing = 0.1f;
        var copy = model.Copy();
        Assert.IsType(model.GetType(), copy);
        Assert.Equal(0.1f, copy.LabelSmoothing);
        var batch = Target(Source(2));
        float loss = model.Loss(batch);
        Assert.Equal(loss, copy.Loss(batch));
        model.LabelSmoothing = 0f;
        Assert.NotEqual(loss, model.Loss(batch)); // smoothing is in the loss
        GradCheck.Scramble(copy.Parameters, 4, 0.3f);
        Assert.Equal(model.Loss(batch), Build(arch, 2).WithWeightsOf(model).Loss(batch)); // the copy's change did not reach the model
    }

    [Fact]
    public void AConfigOfTheOtherFamily_IsRefusedNamingTheRightClass()
    {
        Assert.Contains("build it with RnnSeq2Seq", Assert.Throws<ArgumentException>(() => new TransformerSeq2Seq(Config(Seq2SeqArchitecture.Gru))).Message);
        Assert.Contains("build it with TransformerSeq2Seq", Assert.Throws<ArgumentException>(() => new RnnSeq2Seq(Config(Seq2SeqArchitecture.Transformer))).Message);
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void ADecodingStep_RefusesRowsWithoutATokenOrWithAParentThatIsNoRow(Seq2SeqArchitecture arch)
    {
        var decoder = Build(arch, 5).CreateIncrementalDecoder();
        decoder.Encode(new[] { new[] { 3, 4, 5 }, new[] { 6, 7 } });
        Assert.Throws<ArgumentException>(() => decoder.Advance(new[] { 0, 1 }, new[] { 1 }));
        Assert.Throws<ArgumentException>(() => decoder.Advance(ReadOnlySpan<int>.Empty, ReadOnlySpan<int>.Empty));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => decoder.Advance(new[] { 0, 2 }, new[] { 1, 1 }));
        Assert.Contains("Row 1's parent 2 is not a row of the previous step (0..1)", e.Message);
        // After refused steps the decoder still steps, and three children of two sources are rows of the next step.
        var logits = decoder.Advance(new[] { 1, 0, 1 }, new[] { 1, 1, 1 });
        Assert.True(logits.AsSpan(0, 3 * 11).ToArray().All(float.IsFinite));
        Assert.Equal(logits.AsSpan(0, 11).ToArray(), logits.AsSpan(22, 11).ToArray()); // same source, same token
        Assert.Contains("(0..2)", Assert.Throws<ArgumentOutOfRangeException>(() => decoder.Advance(new[] { 3 }, new[] { 4 })).Message);
    }
}
