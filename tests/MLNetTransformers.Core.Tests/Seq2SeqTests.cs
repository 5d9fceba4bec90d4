using MLNetTransformers.Core.Models;
using MLNetTransformers.Core.Training;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>The encoder-decoder transformer: gradients, masks, learning a small task, checkpoints.</summary>
public class Seq2SeqTests
{
    private static TransformerConfig Tiny(NormPlacement norm = NormPlacement.PreNorm) => new()
    {
        VocabSize = 11, ModelDim = 8, Heads = 2, Layers = 2, FeedForwardDim = 12, MaxLength = 7, Dropout = 0f, Norm = norm,
    };

    // Two pairs; the second source is padded, the second target ends early (−100 targets).
    private static TokenBatch Batch() => new(2, 4, new[] { 1, 5, 6, 7, 1, 8, 9, 0 }, new[] { 1, 1, 1, 1, 1, 1, 1, 0 },
        new[] { 5, 6, 7, 2, 8, 9, 2, -100 })
    {
        Source = new TokenBatch(2, 5, new[] { 7, 6, 5, 3, 4, 9, 8, 0, 0, 0 }, new[] { 1, 1, 1, 1, 1, 1, 1, 0, 0, 0 }),
    };

    [Theory]
    [InlineData(NormPlacement.PreNorm, 0f)]
    [InlineData(NormPlacement.PostNorm, 0.1f)]
    public void EndToEnd_GradientsMatchFiniteDifferences(NormPlacement norm, float labelSmoothing)
    {
        var model = new TransformerSeq2Seq(Tiny(norm), 3) { LabelSmoothing = labelSmoothing };
        GradCheck.Scramble(model.Parameters, 4, 0.2f);
        var batch = Batch();
        model.Parameters.ZeroGrad();
        model.ForwardBackward(batch);
        // Every tensor, encoder included: its gradient reaches it only through cross-attention.
        Assert.Contains(model.Parameters.Tensors, t => t.Name.StartsWith("decoder.layers.0.multihead_attn", StringComparison.Ordinal));
        GradCheck.CheckParameters(model.Parameters, () => model.Loss(batch), samples: 3);
    }

    [Fact]
    public void SourcePadding_AndFutureTargets_DoNotChangeThePredictions()
    {
        var model = new TransformerSeq2Seq(Tiny(), 5);
        GradCheck.Scramble(model.Parameters, 6, 0.2f);
        var target = new TokenBatch(1, 3, new[] { 1, 5, 6 }) { Source = new TokenBatch(1, 3, new[] { 7, 6, 5 }) };
        var expected = model.Forward(target).AsSpan(0, 3 * 11).ToArray();
        // The same source with padded positions after it.
        var padded = new TokenBatch(1, 3, new[] { 1, 5, 6 }) { Source = new TokenBatch(1, 6, new[] { 7, 6, 5, 9, 9, 9 }, new[] { 1, 1, 1, 0, 0, 0 }) };
        var withPadding = model.Forward(padded).AsSpan(0, 3 * 11).ToArray();
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], withPadding[i], 4);
        // After a padded source, an unpadded one is not masked with the stale flags of the last call.
        Assert.Equal(expected, model.Forward(target).AsSpan(0, 3 * 11).ToArray());
        // A different later target token: the earlier positions' logits are unchanged (masked self-attention).
        var changed = new TokenBatch(1, 3, new[] { 1, 5, 9 }) { Source = new TokenBatch(1, 3, new[] { 7, 6, 5 }) };
        var later = model.Forward(changed).AsSpan(0, 3 * 11).ToArray();
        for (int i = 0; i < 2 * 11; i++) Assert.Equal(expected[i], later[i], 5);
        Assert.NotEqual(expected[2 * 11], later[2 * 11]);
        // And the source matters.
        var other = new TokenBatch(1, 3, new[] { 1, 5, 6 }) { Source = new TokenBatch(1, 3, new[] { 3, 4, 8 }) };
        Assert.NotEqual(expected[0], model.Forward(other)[0]);
    }

    [Fact]
    public void LearnsToReverseSequences_ThroughTheTrainingLoop_AndDecodesGreedily()
    {
        // Tokens: 0 pad, 1 start, 2 end, 3..10 symbols. Target = the source reversed.
        const int Start = ReversalTask.Start, End = ReversalTask.End;
        var config = new TransformerConfig { VocabSize = 11, ModelDim = 32, Heads = 4, Layers = 2, FeedForwardDim = 64, MaxLength = 8, Dropout = 0f };
        var model = new TransformerSeq2Seq(config, 7);
        var reports = new List<TrainingReport>();
        var outcome = new TrainingLoop(model, new TrainingLoopOptions
        {
            Optimization = new TrainerOptions { LearningRate = 3e-3f, WarmupSteps = 20, TotalSteps = 1500, Decay = DecayKind.Cosine },
            Epochs = 60, ValidateEachEpoch = false, ReportEverySteps = 100,
        }).Run(ReversalTask.Batches, progress: new Reports(reports));
        Assert.Equal(1500, outcome.Steps);
        var test = new Random(12345);
        int exact = 0;
        for (int i = 0; i < 50; i++)
        {
            var s = ReversalTask.Sequence(test);
            if (model.GreedyDecode(s, Start, End, 7).SequenceEqual(s.Reverse())) exact++;
        }
        Assert.True(exact >= 45, $"{exact} of 50 held-out sequences reversed exactly; losses " + string.Join(" ", reports.Select(r => r.TrainLoss.ToString("F3"))));
    }

    [Fact]
    public void Checkpoint_RoundTrip_GivesTheSameLogits_AndABatchWithoutSourceIsRefused()
    {
        var model = new TransformerSeq2Seq(Tiny(), 9);
        GradCheck.Scramble(model.Parameters, 2, 0.2f);
        var loaded = Assert.IsType<TransformerSeq2Seq>(Checkpoint.FromBytes(Checkpoint.ToBytes(model), "test").Model);
        Assert.Equal(model.Forward(Batch()).AsSpan(0, 8 * 11).ToArray(), loaded.Forward(Batch()).AsSpan(0, 8 * 11).ToArray());
        Assert.Contains("Source", Assert.Throws<ArgumentException>(() => model.Loss(new TokenBatch(1, 2, new[] { 1, 2 }, labels: new[] { 2, 2 }))).Message);
    }

    private sealed class Reports(List<TrainingReport> into) : IProgress<TrainingReport>
    {
        public void Report(TrainingReport value) => into.Add(value);
    }

    [Theory]
    [InlineData(16)] // head width 8: the portable step attention
    [InlineData(64)] // head width 32: the 512-bit one where the CPU has it
    public void CachedDecoding_EqualsRecomputation_AndBeamScoresAreTheTrueLogProbabilities(int modelDim)
    {
        var config = new TransformerConfig { VocabSize = 11, ModelDim = modelDim, Heads = 2, Layers = 2, FeedForwardDim = 24, MaxLength = 9, Dropout = 0f };
        var model = new TransformerSeq2Seq(config, 21);
        GradCheck.Scramble(model.Parameters, 22, 0.6f); // peaked, varied predictions
        var decoder = new Seq2SeqDecoder(model);
        var rng = new Random(5);
        for (int trial = 0; trial < 10; trial++)
        {
            var source = Enumerable.Range(0, 2 + rng.Next(5)).Select(_ => 3 + rng.Next(8)).ToArray();
            // The key/value cache (self-attention) and per-step cross-attention give what full recomputation gives.
            var greedy = decoder.Greedy(source, 1, 2, 8);
            Assert.Equal(model.GreedyDecode(source, 1, 2, 8), greedy);
            Assert.Equal(greedy, decoder.BeamSearch(source, 1, 2, 8, beamWidth: 1, lengthPenalty: 0.6f)[0].Tokens);
            var nBest = decoder.BeamSearch(source, 1, 2, 8, beamWidth: 4, lengthPenalty: 0.6f, nBest: 4);
            Assert.True(nBest.Count >= 2);
            for (int i = 1; i < nBest.Count; i++) Assert.True(nBest[i - 1].Score >= nBest[i].Score);
            foreach (var h in nBest) Assert.Equal(TeacherForcedLogProbability(model, source, h.Tokens, finished: h.Tokens.Length < 8), h.LogProbability, 3);
        }
    }

    [Fact]
    public void BatchedDecoding_EqualsOneSourceAtATime_ForGreedyAndBeamSearch()
    {
        var config = new TransformerConfig { VocabSize = 13, ModelDim = 16, Heads = 2, Layers = 2, FeedForwardDim = 24, MaxLength = 12, Dropout = 0f };
        var model = new TransformerSeq2Seq(config, 31);
        GradCheck.Scramble(model.Parameters, 32, 0.6f);
        model.Head.Bias!.Value[2] += 2f; // the end token is likely enough that some searches end early
        var rng = new Random(8);
        var sources = Enumerable.Range(0, 9).Select(_ => Enumerable.Range(0, 1 + rng.Next(8)).Select(_ => 3 + rng.Next(10)).ToArray()).ToArray();
        var decoder = new Seq2SeqDecoder(model);
        foreach (int beam in new[] { 1, 3 })
        {
            var options = new Seq2SeqDecodingOptions { BeamWidth = beam, NBest = beam, MaxLengthRatio = 1f, MaxLengthOffset = 2 };
            var alone = sources.Select(s => decoder.Decode(new[] { s }, 1, 2, options)[0]).ToArray();
            // All nine together, and in uneven batches of four: sources whose search ends leave while others go on.
            foreach (int batch in new[] { 9, 4 })
            {
                var together = decoder.Decode(sources, 1, 2, options with { BatchSize = batch });
                for (int i = 0; i < sources.Length; i++)
                {
                    Assert.Equal(alone[i].Count, together[i].Count);
                    for (int h = 0; h < alone[i].Count; h++)
                    {
                        Assert.Equal(alone[i][h].Tokens, together[i][h].Tokens);
                        Assert.Equal(alone[i][h].LogProbability, together[i][h].LogProbability, 4);
                    }
                }
            }
            // The length limit a·|source| + b holds, and some hypotheses end before it (the batch really shrinks).
            Assert.All(sources.Zip(alone), p => Assert.All(p.Second, h => Assert.True(h.Tokens.Length <= p.First.Length + 2)));
        }
        Assert.Contains(sources, s => decoder.Decode(new[] { s }, 1, 2, new() { BeamWidth = 1, MaxLengthRatio = 1f, MaxLengthOffset = 2 })[0][0].Tokens.Length < s.Length + 2);
    }

    [Fact]
    public void EachDecoding_ReadsTheCurrentWeights_AndLeavesTheLayersAsTheyWere()
    {
        // Decoding lays the decoder's weights out for its steps when it encodes: a decoder kept across a change of the
        // weights decodes from the new ones, and afterwards the model computes from its weights as before.
        var config = new TransformerConfig { VocabSize = 13, ModelDim = 32, Heads = 2, Layers = 2, FeedForwardDim = 24, MaxLength = 12, Dropout = 0f };
        var model = new TransformerSeq2Seq(config, 41);
        GradCheck.Scramble(model.Parameters, 42, 0.6f);
        var decoder = new Seq2SeqDecoder(model);
        var source = new[] { 3, 4, 5, 6, 7 };
        var before = decoder.Greedy(source, 1, 2, 10);
        GradCheck.Scramble(model.Parameters, 43, 0.6f);
        var fresh = new Seq2SeqDecoder(model.Copy()).Greedy(source, 1, 2, 10);
        Assert.NotEqual(before, fresh);
        Assert.Equal(fresh, decoder.Greedy(source, 1, 2, 10));
        Assert.Equal(model.GreedyDecode(source, 1, 2, 10), fresh);
        var batch = Batch();
        var expected = model.Copy().Forward(batch).ToArray();
        var logits = model.Forward(batch);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], logits[i]);
    }

    [Fact]
    public void Sampling_IsSeeded_TemperatureZeroAndTopKOneAreGreedy_AndTopKBoundsTheChoices()
    {
        var config = new TransformerConfig { VocabSize = 13, ModelDim = 16, Heads = 2, Layers = 2, FeedForwardDim = 24, MaxLength = 12, Dropout = 0f };
        var model = new TransformerSeq2Seq(config, 41);
        GradCheck.Scramble(model.Parameters, 42, 0.3f); // flat enough that samples differ
        var decoder = new Seq2SeqDecoder(model);
        var sources = new[] { new[] { 3, 4, 5 }, new[] { 6, 7, 8, 9 }, new[] { 10, 11 } };
        var greedy = decoder.Decode(sources, 1, 2, new() { BeamWidth = 1 }).Select(r => r[0].Tokens).ToArray();
        var sampling = new Seq2SeqDecodingOptions { BeamWidth = 1, Sample = true, Seed = 5 };
        var a = decoder.Decode(sources, 1, 2, sampling).Select(r => r[0].Tokens).ToArray();
        var b = decoder.Decode(sources, 1, 2, sampling with { BatchSize = 1 }).Select(r => r[0].Tokens).ToArray();
        Assert.Equal(a, b); // same seed: same draws, however the sources are batched
        var seeds = Enumerable.Range(0, 8).Select(seed => decoder.Decode(sources, 1, 2, sampling with { Seed = (ulong)seed })[0][0].Tokens).ToArray();
        Assert.True(seeds.Select(t => string.Join(",", t)).Distinct().Count() > 1, "different seeds should draw different outputs");
        Assert.Equal(greedy, decoder.Decode(sources, 1, 2, sampling with { Temperature = 0f }).Select(r => r[0].Tokens).ToArray());
        Assert.Equal(greedy, decoder.Decode(sources, 1, 2, sampling with { TopK = 1 }).Select(r => r[0].Tokens).ToArray());
        Assert.Equal(greedy, decoder.Decode(sources, 1, 2, sampling with { TopP = 1e-6f }).Select(r => r[0].Tokens).ToArray());
        // Top-2: every drawn token is one of the two likeliest after its prefix (checked by teacher forcing).
        for (int seed = 0; seed < 5; seed++)
        {
            var drawn = decoder.Decode(new[] { sources[1] }, 1, 2, sampling with { TopK = 2, Seed = (ulong)seed })[0][0];
            var input = new[] { 1 }.Concat(drawn.Tokens).ToArray();
            var logits = model.Forward(new TokenBatch(1, input.Length, input) { Source = new TokenBatch(1, 4, sources[1]) });
            for (int t = 0; t < drawn.Tokens.Length; t++)
            {
                var row = logits.AsSpan(t * 13, 13).ToArray();
                Assert.True(row.Count(x => x > row[drawn.Tokens[t]]) < 2, $"token {t} of seed {seed} is outside the top 2");
            }
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => decoder.Decode(sources, 1, 2, sampling with { BeamWidth = 2 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => decoder.Decode(sources, 1, 2, new() { BeamWidth = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => decoder.Decode(new[] { Array.Empty<int>() }, 1, 2));
    }

    [Fact]
    public void TiedEmbeddings_ShareOneMatrix_GradientsAddUp_AndSurviveACheckpoint()
    {
        var config = new Seq2SeqConfig(Tiny()) { TiedEmbeddings = true };
        var model = new TransformerSeq2Seq(config, 3);
        Assert.DoesNotContain(model.Parameters.Tensors, t => t.Name is "decoder.tok.weight" or "head.weight");
        Assert.Same(model.Encoder.Tok.Weight, model.Decoder.Tok.Weight);
        Assert.Same(model.Encoder.Tok.Weight, model.Head.Weight);
        Assert.Equal(new TransformerSeq2Seq(Tiny(), 3).Parameters.Count - 2 * 11 * 8, model.Parameters.Count);
        GradCheck.Scramble(model.Parameters, 4, 0.2f);
        var batch = Batch();
        model.Parameters.ZeroGrad();
        model.ForwardBackward(batch);
        GradCheck.CheckParameters(model.Parameters, () => model.Loss(batch), samples: 4);
        var loaded = Assert.IsType<TransformerSeq2Seq>(Checkpoint.FromBytes(Checkpoint.ToBytes(model), "test").Model);
        Assert.True(loaded.Config.TiedEmbeddings);
        Assert.Equal(model.Forward(batch).AsSpan(0, 8 * 11).ToArray(), loaded.Forward(batch).AsSpan(0, 8 * 11).ToArray());
    }

    [Fact]
    public void ASourceVocabularyOfItsOwn_SizesTheEncoder_AndTyingItIsRefused()
    {
        var model = new TransformerSeq2Seq(new Seq2SeqConfig(Tiny()) { SourceVocabSize = 17 }, 3);
        Assert.Equal(new[] { 17, 8 }, model.Parameters["encoder.tok.weight"].Shape);
        Assert.Equal(new[] { 11, 8 }, model.Parameters["decoder.tok.weight"].Shape);
        var batch = new TokenBatch(1, 2, new[] { 1, 5 }, labels: new[] { 5, 2 }) { Source = new TokenBatch(1, 2, new[] { 16, 15 }) }; // source ids ≥ the target vocabulary
        Assert.True(float.IsFinite(model.Loss(batch)));
        var loaded = Assert.IsType<TransformerSeq2Seq>(Checkpoint.FromBytes(Checkpoint.ToBytes(model), "test").Model);
        Assert.Equal(17, loaded.Config.EncoderVocabSize);
        Assert.Contains("one vocabulary", Assert.Throws<ArgumentException>(() => new TransformerSeq2Seq(new Seq2SeqConfig(Tiny()) { SourceVocabSize = 17, TiedEmbeddings = true })).Message);
    }

    // log P(tokens [, end] | source) by one full forward pass over the start token and the tokens.
    private static double TeacherForcedLogProbability(TransformerSeq2Seq model, int[] source, int[] tokens, bool finished)
    {
        var input = new[] { 1 }.Concat(tokens).ToArray();
        var logits = model.Forward(new TokenBatch(1, input.Length, input) { Source = new TokenBatch(1, source.Length, source) });
        var next = tokens.Concat(finished ? new[] { 2 } : Array.Empty<int>()).ToArray();
        double sum = 0;
        for (int t = 0; t < next.Length; t++)
        {
            var row = logits.AsSpan(t * 11, 11);
            double max = row.ToArray().Max(), z = 0;
            foreach (float l in row) z += Math.Exp(l - max);
            sum += row[next[t]] - max - Math.Log(z);
        }
        return sum;
    }
}
