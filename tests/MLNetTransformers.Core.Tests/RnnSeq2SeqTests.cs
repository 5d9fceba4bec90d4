using MLNetTransformers.Core.Layers;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Core.Training;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>The GRU encoder-decoders (no attention, Bahdanau, Luong): PyTorch parity, gradients, decoding, learning.</summary>
public class RnnSeq2SeqTests
{
    private static Seq2SeqConfig Config(Seq2SeqArchitecture arch, RnnAttentionKind attention = RnnAttentionKind.Additive, float dropout = 0f) =>
        new(new TransformerConfig { VocabSize = 11, ModelDim = 6, Heads = 1, Layers = 1, FeedForwardDim = 1, MaxLength = 10, Dropout = dropout })
        {
            SourceVocabSize = 13, Architecture = arch, Attention = attention, EmbeddingDim = 5,
            EncoderHiddenSize = attention == RnnAttentionKind.Dot ? 3 : 4,
        };

    // The fixture's batch: the second source and target are padded.
    private static TokenBatch Batch() => new(2, 4, new[] { 1, 5, 6, 7, 1, 8, 9, 0 }, new[] { 1, 1, 1, 1, 1, 1, 1, 0 }, new[] { 5, 6, 7, 2, 8, 9, 2, -100 })
    {
        Source = new TokenBatch(2, 5, new[] { 3, 4, 5, 6, 7, 8, 9, 10, 0, 0 }, new[] { 1, 1, 1, 1, 1, 1, 1, 1, 0, 0 }),
    };

    [Fact]
    public void AdditiveAttentionModel_MatchesPyTorch_LogitsLossAndEveryGradient()
    {
        var f = new TorchFixture("gru_attention_seq2seq");
        var model = new RnnSeq2Seq(Config(Seq2SeqArchitecture.GruAttention), 1);
        foreach (var t in model.Parameters.Tensors) f.F(t.Name).CopyTo(t.Value);
        var batch = Batch();
        var logits = model.Forward(batch);
        var expected = f.Raw("logits");
        for (int i = 0; i < 2 * 4 * 11; i++)
        {
            if (i / 11 == 7) continue; // the padded target position: PyTorch computed it from token 0, so did we; compare anyway below
            Assert.True(Math.Abs(expected[i] - logits[i]) < 1e-5 * Math.Max(1, Math.Abs(expected[i])), $"logits[{i}]: PyTorch {expected[i]:G7}, ours {logits[i]:G7}");
        }
        model.Parameters.ZeroGrad();
        float loss = model.ForwardBackward(batch);
        Assert.Equal(f.Raw("loss")[0], loss, 5);
        foreach (var t in model.Parameters.Tensors)
        {
            var g = f.Raw("grad_" + t.Name);
            double scale = g.Max(Math.Abs);
            for (int i = 0; i < g.Length; i++)
                Assert.True(Math.Abs(g[i] - t.Grad[i]) <= 1e-4 * Math.Max(1, scale), $"grad {t.Name}[{i}]: PyTorch {g[i]:G7}, ours {t.Grad[i]:G7}");
        }
    }

    [Theory]
    [InlineData(Seq2SeqArchitecture.Gru, RnnAttentionKind.Additive)]
    [InlineData(Seq2SeqArchitecture.GruAttention, RnnAttentionKind.Additive)]
    [InlineData(Seq2SeqArchitecture.GruAttention, RnnAttentionKind.Dot)]
    [InlineData(Seq2SeqArchitecture.GruAttention, RnnAttentionKind.General)]
    public void Gradients_MatchFiniteDifferences_WithPaddingOnBothSides(Seq2SeqArchitecture arch, RnnAttentionKind attention)
    {
        var model = new RnnSeq2Seq(Config(arch, attention), 3) { LabelSmoothing = 0.1f };
        GradCheck.Scramble(model.Parameters, 4, 0.5f); // large enough weights that every gradient stands above float32 noise
        var batch = Batch();
        model.Parameters.ZeroGrad();
        model.ForwardBackward(batch);
        GradCheck.CheckParameters(model.Parameters, () => model.Loss(batch), samples: 5);
        // Padding: what stands in the second source's padded positions changes nothing.
        var before = model.Forward(batch).AsSpan(0, 88).ToArray();
        batch.Source!.Ids[8] = 12; batch.Source.Ids[9] = 11;
        Assert.Equal(before, model.Forward(batch).AsSpan(0, 88).ToArray());
    }

    [Theory]
    [InlineData(Seq2SeqArchitecture.Gru, RnnAttentionKind.Additive)]
    [InlineData(Seq2SeqArchitecture.GruAttention, RnnAttentionKind.Additive)]
    [InlineData(Seq2SeqArchitecture.GruAttention, RnnAttentionKind.General)]
    public void IncrementalDecoding_EqualsTeacherForcing_AndBatchedSearchEqualsOneAtATime(Seq2SeqArchitecture arch, RnnAttentionKind attention)
    {
        var model = new RnnSeq2Seq(Config(arch, attention), 5);
        GradCheck.Scramble(model.Parameters, 6, 0.6f);
        model.Output.Bias!.Value[2] += 1.5f; // ends come at different steps
        var decoder = new Seq2SeqDecoder(model.CreateIncrementalDecoder());
        var rng = new Random(3);
        var sources = Enumerable.Range(0, 6).Select(_ => Enumerable.Range(0, 1 + rng.Next(7)).Select(_ => 3 + rng.Next(10)).ToArray()).ToArray();
        var options = new Seq2SeqDecodingOptions { BeamWidth = 3, NBest = 3, MaxLengthRatio = 0f, MaxLengthOffset = 8 };
        var together = decoder.Decode(sources, 1, 2, options);
        for (int i = 0; i < sources.Length; i++)
        {
            var alone = decoder.Decode(new[] { sources[i] }, 1, 2, options)[0];
            Assert.Equal(alone.Select(h => h.Tokens), together[i].Select(h => h.Tokens));
            foreach (var h in alone)
                Assert.Equal(TeacherForced(model, sources[i], h.Tokens, finished: h.Tokens.Length < 8), h.LogProbability, 3);
        }
    }

    // log P(tokens [, end] | source) from one teacher-forced forward pass.
    private static double TeacherForced(RnnSeq2Seq model, int[] source, int[] tokens, bool finished)
    {
        var input = new[] { 1 }.Concat(tokens).ToArray();
        var logits = model.Forward(new TokenBatch(1, input.Length, input) { Source = new TokenBatch(1, source.Length, source) });
        var next = tokens.Concat(finished ? new[] { 2 } : Array.Empty<int>()).ToArray();
        double sum = 0;
        for (int t = 0; t < next.Length; t++)
        {
            var row = logits.AsSpan(t * 11, 11).ToArray();
            double max = row.Max(), z = row.Sum(l => Math.Exp(l - max));
            sum += row[next[t]] - max - Math.Log(z);
        }
        return sum;
    }

    [Fact]
    public void WithAttention_LearnsToReverseSequences_ThroughTheTrainingLoop_AndSurvivesACheckpoint()
    {
        const int Start = ReversalTask.Start, End = ReversalTask.End;
        var config = new Seq2SeqConfig(new TransformerConfig { VocabSize = 11, ModelDim = 32, Heads = 1, Layers = 1, FeedForwardDim = 1, MaxLength = 8, Dropout = 0f })
        { Architecture = Seq2SeqArchitecture.GruAttention, EmbeddingDim = 16, EncoderHiddenSize = 16 };
        var model = new RnnSeq2Seq(config, 7);
        var outcome = new TrainingLoop(model, new TrainingLoopOptions
        {
            Optimization = new TrainerOptions { LearningRate = 1e-2f, WarmupSteps = 20, TotalSteps = 1000, Decay = DecayKind.Cosine },
            Epochs = 40, ValidateEachEpoch = false,
        }).Run(ReversalTask.Batches);
        Assert.Equal(1000, outcome.Steps);
        var decoder = new Seq2SeqDecoder(model.CreateIncrementalDecoder());
        var test = new Random(12345);
        var sources = Enumerable.Range(0, 50).Select(_ => ReversalTask.Sequence(test)).ToArray();
        var outputs = decoder.Decode(sources, Start, End, new() { BeamWidth = 1 });
        int exact = sources.Zip(outputs).Count(p => p.Second[0].Tokens.SequenceEqual(p.First.Reverse()));
        Assert.True(exact >= 45, $"{exact} of 50 held-out sequences reversed exactly");
        var loaded = Assert.IsType<RnnSeq2Seq>(Checkpoint.FromBytes(Checkpoint.ToBytes(model), "test").Model);
        Assert.Equal(outputs.Select(o => o[0].Tokens), new Seq2SeqDecoder(loaded.CreateIncrementalDecoder()).Decode(sources, Start, End, new() { BeamWidth = 1 }).Select(o => o[0].Tokens));
    }
}
