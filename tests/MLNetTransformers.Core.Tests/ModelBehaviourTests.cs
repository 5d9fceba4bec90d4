using MLNetTransformers.Core.Layers;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Core.Training;
using Xunit;

namespace MLNetTransformers.Core.Tests;

public class ModelBehaviourTests
{
    internal static ClassifierConfig Tiny(float dropout = 0f) => new()
    {
        VocabSize = 20, ModelDim = 16, Heads = 2, Layers = 2, FeedForwardDim = 32, MaxLength = 12, Dropout = dropout, NumClasses = 2,
    };

    [Fact]
    public void CausalDecoder_FutureTokensNeverChangeEarlierOutputs()
    {
        var lm = new TransformerLanguageModel(Tiny(), 1);
        GradCheck.Scramble(lm.Parameters, 2, 0.2f);
        int T = 10, V = 20;
        var ids = Enumerable.Range(0, T).Select(i => (i * 7 + 3) % V).ToArray();
        var baseline = lm.Forward(new TokenBatch(1, T, ids)).Take(T * V).ToArray();
        for (int t = 0; t < T - 1; t++)
        {
            var changed = (int[])ids.Clone();
            changed[t + 1] = (changed[t + 1] + 5) % V;
            var logits = lm.Forward(new TokenBatch(1, T, changed));
            for (int i = 0; i < (t + 1) * V; i++)
                Assert.True(baseline[i] == logits[i], $"changing token {t + 1} changed logit {i} at position {i / V}");
            Assert.NotEqual(baseline[(t + 1) * V], logits[(t + 1) * V]); // the changed position itself does change
        }
    }

    [Theory]
    [InlineData(Pooling.Mean)]
    [InlineData(Pooling.Cls)]
    public void Encoder_PaddedKeysNeverChangeUnpaddedOutputs(Pooling pooling)
    {
        var model = new TransformerClassifier(Tiny() with { Pooling = pooling }, 1);
        GradCheck.Scramble(model.Parameters, 2, 0.2f);
        int T = 8;
        var ids = new[] { 3, 4, 5, 6, 7, 0, 0, 0, 9, 8, 7, 6, 5, 4, 3, 2 };
        var mask = new[] { 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1 };
        var hidden = model.Encoder.Forward(ids, 2, T, mask.Select(m => m == 0).ToArray(), false).Take(2 * T * 16).ToArray();
        var logits = model.Forward(new TokenBatch(2, T, ids, mask)).Take(4).ToArray();

        var junk = (int[])ids.Clone();
        junk[5] = 19; junk[6] = 11; junk[7] = 1; // different tokens in the padded slots
        var hidden2 = model.Encoder.Forward(junk, 2, T, mask.Select(m => m == 0).ToArray(), false);
        for (int t = 0; t < 5; t++)
        for (int c = 0; c < 16; c++)
            Assert.Equal(hidden[t * 16 + c], hidden2[t * 16 + c]);
        Assert.Equal(logits, model.Forward(new TokenBatch(2, T, junk, mask)).Take(4).ToArray());
    }

    [Fact]
    public void TinyClassifier_OverfitsOneBatch()
    {
        var model = new TransformerClassifier(Tiny(), 1);
        var trainer = new Trainer(model, new TrainerOptions { LearningRate = 3e-3f, WarmupSteps = 5 });
        var batch = new TokenBatch(4, 6,
            new[] { 1, 2, 3, 4, 5, 6, 6, 5, 4, 3, 2, 1, 7, 7, 8, 8, 9, 0, 10, 11, 12, 0, 0, 0 },
            new[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0 },
            new[] { 0, 1, 1, 0 });
        float first = trainer.TrainStep(batch).Loss, last = first;
        for (int i = 0; i < 150; i++) last = trainer.TrainStep(batch).Loss;
        Assert.True(last < 0.01f, $"loss went from {first} to {last}");
    }

    [Fact]
    public void TinyLanguageModel_OverfitsOneBatch()
    {
        var model = new TransformerLanguageModel(Tiny(), 1);
        var trainer = new Trainer(model, new TrainerOptions { LearningRate = 3e-3f, WarmupSteps = 5 });
        var ids = Enumerable.Range(0, 22).Select(i => (i * 3 + 1) % 20).ToArray();
        var batch = new TokenBatch(2, 10, ids.Take(20).ToArray(), labels: ids.Skip(1).Take(20).ToArray());
        float first = trainer.TrainStep(batch).Loss, last = first;
        for (int i = 0; i < 200; i++) last = trainer.TrainStep(batch).Loss;
        Assert.True(last < 0.05f, $"loss went from {first} to {last}");
    }

    private static float[] TrainCopy(ulong seed)
    {
        var model = new TransformerClassifier(Tiny(dropout: 0.2f), seed);
        var trainer = new Trainer(model, new TrainerOptions { LearningRate = 1e-3f, WarmupSteps = 2, TotalSteps = 10 });
        var rng = new Random(3);
        for (int s = 0; s < 10; s++)
        {
            var ids = Enumerable.Range(0, 4 * 8).Select(_ => rng.Next(20)).ToArray();
            trainer.TrainStep(new TokenBatch(4, 8, ids, labels: new[] { s % 2, 1, 0, (s / 2) % 2 }));
        }
        return (float[])model.Parameters.Data.Clone();
    }

    [Fact]
    public void SameSeed_GivesBitIdenticalWeights()
    {
        var a = TrainCopy(42);
        var b = TrainCopy(42);
        Assert.Equal(a, b);
        Assert.NotEqual(a, TrainCopy(43));
    }

    [Fact]
    public void NonFiniteLoss_StopsTrainingNamingTheStep_AndKeepsTheLastGoodWeights()
    {
        var model = new TransformerClassifier(Tiny(), 1);
        var trainer = new Trainer(model, new TrainerOptions { LearningRate = 1e-3f });
        var batch = new TokenBatch(2, 4, new[] { 1, 2, 3, 4, 5, 6, 7, 8 }, labels: new[] { 0, 1 });
        trainer.TrainStep(batch);
        trainer.TrainStep(batch);
        model.Parameters["head.bias"].Value[0] = float.NaN; // poison: the next loss is NaN
        var good = (float[])model.Parameters.Data.Clone();
        var ex = Assert.Throws<TrainingDivergedException>(() => trainer.TrainStep(batch));
        Assert.Equal(2, ex.Step);
        Assert.Contains("step 2", ex.Message);
        Assert.Equal(good, model.Parameters.Data);
        Assert.Equal(2, trainer.Optimizer.Step);
    }

    [Fact]
    public void NonFiniteGradient_StopsTraining()
    {
        var model = new TransformerClassifier(Tiny(), 1);
        var trainer = new Trainer(model, new TrainerOptions { LearningRate = 1e-3f });
        var batch = new TokenBatch(2, 4, new[] { 1, 2, 3, 4, 5, 6, 7, 8 }, labels: new[] { 0, 1 });
        // A huge head weight keeps the loss finite (about 1e20) but the squared gradient norm overflows float.
        model.Parameters["head.weight"].Value.Fill(1e20f);
        model.Parameters["head.weight"].Value[..16].Fill(-1e20f);
        var good = (float[])model.Parameters.Data.Clone();
        var ex = Assert.Throws<TrainingDivergedException>(() => trainer.TrainStep(batch));
        Assert.Equal(0, ex.Step);
        Assert.Equal("gradient norm", ex.What);
        Assert.Equal(good, model.Parameters.Data);
    }

    [Fact]
    public void BadInputs_GiveClearErrors()
    {
        var model = new TransformerClassifier(Tiny(), 1);
        var tooLong = new TokenBatch(1, 13, new int[13]);
        Assert.Contains("maximum length 12", Assert.Throws<ArgumentOutOfRangeException>(() => model.Forward(tooLong)).Message);
        var badId = new TokenBatch(1, 3, new[] { 1, 25, 2 });
        Assert.Contains("position 1", Assert.Throws<ArgumentOutOfRangeException>(() => model.Forward(badId)).Message);
        Assert.Contains("labels", Assert.Throws<ArgumentException>(() => model.ForwardBackward(new TokenBatch(1, 3, new[] { 1, 2, 3 }))).Message);
        Assert.Contains("Heads", Assert.Throws<ArgumentException>(() => new TransformerClassifier(Tiny() with { Heads = 3 })).Message);
        Assert.Contains("Dropout", Assert.Throws<ArgumentException>(() => new TransformerClassifier(Tiny() with { Dropout = 1f })).Message);
        Assert.Throws<ArgumentException>(() => new TokenBatch(2, 3, new int[5]));
    }

    [Fact]
    public void TrainingStep_DoesNotAllocateAfterWarmup()
    {
        var model = new TransformerLanguageModel(Tiny(dropout: 0.1f), 1);
        var trainer = new Trainer(model, new TrainerOptions { LearningRate = 1e-3f, WarmupSteps = 3, TotalSteps = 50 });
        var ids = Enumerable.Range(0, 4 * 12).Select(i => i % 20).ToArray();
        var batch = new TokenBatch(4, 12, ids, labels: ids.Select(i => (i + 1) % 20).ToArray());
        for (int i = 0; i < 3; i++) trainer.TrainStep(batch);
        // Per-thread counter: other tests run in parallel in this process. Kernel pieces on the pool's threads only
        // use buffers that the calling thread sized before dispatching them.
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5; i++) trainer.TrainStep(batch);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated == 0, $"5 steps allocated {allocated} bytes");
    }

    [Fact]
    public void LearningRateSchedule_WarmsUpThenDecays()
    {
        var s = new LearningRateSchedule(1f, 10, 110, DecayKind.Cosine, 0.1f);
        Assert.Equal(0.1f, s.At(0), 5);
        Assert.Equal(1f, s.At(9), 5);
        Assert.Equal(0.55f, s.At(60), 3);
        Assert.Equal(0.1f, s.At(110), 5);
        var lin = new LearningRateSchedule(1f, 0, 100, DecayKind.Linear, 0f);
        Assert.Equal(0.5f, lin.At(50), 5);
        Assert.Throws<ArgumentException>(() => new LearningRateSchedule(-1f, 0, 0).Validate());
    }

    [Fact]
    public void AdamW_DecaysOnlyMarkedTensors()
    {
        var ps = new ParameterSet();
        var lin = new Linear(ps, "l.", 2, 2);
        var norm = new LayerNorm(ps, "n.", 2);
        ps.Allocate(1);
        var w0 = lin.Weight.Value.ToArray();
        var opt = new AdamW(ps, new AdamWOptions { WeightDecay = 0.5f });
        opt.Update(0.1f); // zero gradients: only decay moves anything
        for (int i = 0; i < 4; i++) Assert.Equal(w0[i] * (1 - 0.1f * 0.5f), lin.Weight.Value[i], 6);
        Assert.All(lin.Bias!.Value.ToArray(), v => Assert.Equal(0f, v));
        Assert.All(norm.Weight.Value.ToArray(), v => Assert.Equal(1f, v));
    }

    [Fact]
    public void GradientClipping_ScalesToMaxNorm()
    {
        var g = new float[] { 3, 4 };
        Assert.Equal(5f, GradientClipping.ClipGlobalNorm(g, 1f));
        Assert.Equal(1f, GradientClipping.GlobalNorm(g), 4);
        Assert.Equal(0.6f, g[0], 4);
    }

    [Fact]
    public void AttentionWeights_AreExposedAndRowsSumToOne()
    {
        var model = new TransformerLanguageModel(Tiny(), 1);
        model.Forward(new TokenBatch(1, 5, new[] { 1, 2, 3, 4, 5 }));
        // Inference runs tiled and keeps no weights unless asked to.
        Assert.Throws<InvalidOperationException>(() => model.Decoder.Blocks[0].SelfAttention.Weights.Length);
        model.Decoder.Blocks[0].SelfAttention.RecordWeights = true;
        model.Forward(new TokenBatch(1, 5, new[] { 1, 2, 3, 4, 5 }));
        var w = model.Decoder.Blocks[0].SelfAttention.Weights;
        Assert.Equal(1 * 2 * 5 * 5, w.Length);
        for (int h = 0; h < 2; h++)
        for (int i = 0; i < 5; i++)
        {
            double sum = 0;
            for (int j = 0; j < 5; j++)
            {
                float v = w[(h * 5 + i) * 5 + j];
                if (j > i) Assert.Equal(0f, v);
                sum += v;
            }
            Assert.Equal(1.0, sum, 5);
        }
    }
}

public class EnsembleTests
{
    [Fact]
    public void Members_AreIndependentEncoders_WhoseLogitsAreAveraged()
    {
        var config = ModelBehaviourTests.Tiny() with { Members = 3 };
        var ensemble = new TransformerClassifier(config, 5);
        Assert.Contains("members.2.layers.1.linear1.weight", ensemble.Parameters.Tensors.Select(t => t.Name));
        var batch = new TokenBatch(2, 4, new[] { 1, 2, 3, 4, 5, 6, 7, 0 }, new[] { 1, 1, 1, 1, 1, 1, 1, 0 });
        var mean = ensemble.Forward(batch).AsSpan(0, 4).ToArray();
        // Each member alone, as a one-member classifier with that member's weights.
        var expected = new float[4];
        for (int m = 0; m < 3; m++)
        {
            var single = new TransformerClassifier(config with { Members = 1 });
            foreach (var t in single.Parameters.Tensors)
                ensemble.Parameters[TransformerClassifier.MemberPrefix(m) + t.Name].Value.CopyTo(t.Value);
            var logits = single.Forward(batch);
            for (int i = 0; i < 4; i++) expected[i] += logits[i] / 3;
        }
        for (int i = 0; i < 4; i++) Assert.Equal(expected[i], mean[i], 5);
        // Different initialisations: the members disagree.
        Assert.NotEqual(ensemble.Parameters["layers.0.linear1.weight"].Value.ToArray(), ensemble.Parameters["members.1.layers.0.linear1.weight"].Value.ToArray());
    }
}
