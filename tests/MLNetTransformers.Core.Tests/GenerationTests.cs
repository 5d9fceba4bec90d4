using MLNetTransformers.Core.Models;
using Xunit;

namespace MLNetTransformers.Core.Tests;

public class GenerationTests
{
    private static TransformerLanguageModel Model(NormPlacement norm = NormPlacement.PreNorm)
    {
        var lm = new TransformerLanguageModel(ModelBehaviourTests.Tiny() with { Norm = norm }, 5);
        GradCheck.Scramble(lm.Parameters, 6, 0.3f);
        return lm;
    }

    [Fact]
    public void BatchedGeneration_EqualsOnePromptAtATime_GreedyAndSampled_PastTheContextToo()
    {
        var lm = Model();
        int max = lm.Config.MaxLength, v = lm.Config.VocabSize;
        var rng = new Random(4);
        // Prompts of different lengths, one longer than the context; generation long enough to slide past the context.
        var prompts = new[] { 1, 3, 7, max + 5, 2, 5 }.Select(n => Enumerable.Range(0, n).Select(_ => rng.Next(v)).ToArray()).ToArray();
        var batcher = new TokenGenerator(lm); // one generator for every call: its row caches are reused, and must start empty
        foreach (var options in new[]
        {
            new GenerationOptions { Temperature = 0f, MaxNewTokens = max + 7 },
            new GenerationOptions { Temperature = 0.9f, TopK = 5, Seed = 11, MaxNewTokens = 12 },
            new GenerationOptions { Temperature = 1f, Seed = 3, MaxNewTokens = 20, EndTokenId = 2 },
        })
        {
            var alone = prompts.Select(p => new TokenGenerator(lm).Generate(p, options)).ToArray();
            var together = batcher.GenerateBatch(prompts, options);
            Assert.Equal(alone, together);
            Assert.Equal(alone[2..4], batcher.GenerateBatch(prompts[2..4], options));
        }
        Assert.Throws<ArgumentException>(() => new TokenGenerator(lm).GenerateBatch(new[] { Array.Empty<int>() }, new GenerationOptions()));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenGenerator(lm).GenerateBatch(new[] { new[] { v } }, new GenerationOptions()));
    }

    [Theory]
    [InlineData(NormPlacement.PreNorm)]
    [InlineData(NormPlacement.PostNorm)]
    public void KvCache_GivesTheLogitsOfFullRecompute_AtEveryStep(NormPlacement norm)
    {
        var lm = Model(norm);
        int v = lm.Config.VocabSize;
        var tokens = new[] { 3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8 };
        var cache = lm.CreateCache();
        // Prefill 4 tokens at once, then one at a time.
        var prefill = lm.ForwardIncremental(tokens[..4], 4, cache).Take(4 * v).ToArray();
        var full4 = lm.Forward(new TokenBatch(1, 4, tokens[..4]));
        for (int i = 0; i < 4 * v; i++) Assert.Equal(full4[i], prefill[i], 5);
        for (int t = 4; t < tokens.Length; t++)
        {
            var step = lm.ForwardIncremental(new[] { tokens[t] }, 1, cache).Take(v).ToArray();
            var full = lm.Forward(new TokenBatch(1, t + 1, tokens[..(t + 1)]));
            for (int j = 0; j < v; j++)
                Assert.True(Math.Abs(full[t * v + j] - step[j]) <= 1e-5f * Math.Max(1f, Math.Abs(full[t * v + j])), $"step {t}, logit {j}: cache {step[j]} vs full {full[t * v + j]}");
        }
        Assert.Equal(tokens.Length, cache.Length);
        Assert.Contains("maximum length", Assert.Throws<ArgumentOutOfRangeException>(() => lm.ForwardIncremental(new int[1], 1, cache)).Message); // full
    }

    [Fact]
    public void Greedy_IsTheSameWithAndWithoutCache_AndSeedsAreReproducible()
    {
        var lm = Model();
        var gen = new TokenGenerator(lm);
        var prompt = new[] { 1, 2, 3 };
        var greedy = new GenerationOptions { MaxNewTokens = 8, Temperature = 0 };
        var a = gen.Generate(prompt, greedy);
        var b = gen.Generate(prompt, greedy with { UseKvCache = false });
        Assert.Equal(a, b);
        Assert.Equal(8, a.Length);
        var sampled = new GenerationOptions { MaxNewTokens = 9, Temperature = 1.2f, Seed = 7 };
        Assert.Equal(gen.Generate(prompt, sampled), gen.Generate(prompt, sampled));
        var others = Enumerable.Range(8, 5).Select(s => string.Join(",", gen.Generate(prompt, sampled with { Seed = (ulong)s }))).Distinct().Count();
        Assert.True(others > 1);
    }

    [Fact]
    public void TopK1_IsGreedy_TopP_KeepsTheNucleus_AndStopEndsEarly()
    {
        var lm = Model();
        var gen = new TokenGenerator(lm);
        var prompt = new[] { 4, 4, 2 };
        var greedy = gen.Generate(prompt, new GenerationOptions { MaxNewTokens = 6, Temperature = 0 });
        Assert.Equal(greedy, gen.Generate(prompt, new GenerationOptions { MaxNewTokens = 6, TopK = 1, Seed = 3 }));
        Assert.Equal(greedy, gen.Generate(prompt, new GenerationOptions { MaxNewTokens = 6, TopP = 1e-6f, Seed = 3 }));
        var stopped = gen.Generate(prompt, new GenerationOptions { MaxNewTokens = 20, Temperature = 0 }, g => g.Count == 3);
        Assert.Equal(greedy[..3], stopped);
        // A strong repetition penalty avoids tokens already in the context while others remain.
        var penalized = gen.Generate(prompt, new GenerationOptions { MaxNewTokens = 5, Temperature = 0, RepetitionPenalty = 1e6f });
        Assert.Equal(5, penalized.Distinct().Count());
        Assert.DoesNotContain(penalized, t => prompt.Contains(t));
    }

    [Fact]
    public void LongGeneration_SlidesPastTheContext_AndLongPromptsKeepTheirEnd()
    {
        var lm = Model(); // MaxLength 12
        var gen = new TokenGenerator(lm);
        Assert.Equal(40, gen.Generate(new[] { 1 }, new GenerationOptions { MaxNewTokens = 40, Temperature = 0.8f, Seed = 1 }).Length);
        var longPrompt = Enumerable.Range(0, 30).Select(i => i % 20).ToArray();
        var a = gen.Generate(longPrompt, new GenerationOptions { MaxNewTokens = 3, Temperature = 0 });
        var b = gen.Generate(longPrompt[^11..], new GenerationOptions { MaxNewTokens = 3, Temperature = 0 });
        Assert.Equal(b, a); // documented: the last MaxLength − 1 prompt tokens are kept
    }

    [Fact]
    public void BadOptions_AreNamed()
    {
        var gen = new TokenGenerator(Model());
        Assert.Contains("MaxNewTokens", Assert.Throws<ArgumentOutOfRangeException>(() => gen.Generate(new[] { 1 }, new GenerationOptions { MaxNewTokens = 0 })).Message);
        Assert.Contains("Temperature", Assert.Throws<ArgumentOutOfRangeException>(() => gen.Generate(new[] { 1 }, new GenerationOptions { Temperature = -0.1f })).Message);
        Assert.Contains("TopP", Assert.Throws<ArgumentOutOfRangeException>(() => gen.Generate(new[] { 1 }, new GenerationOptions { TopP = 0f })).Message);
        Assert.Contains("TopP", Assert.Throws<ArgumentOutOfRangeException>(() => gen.Generate(new[] { 1 }, new GenerationOptions { TopP = 1.5f })).Message);
        Assert.Contains("TopK", Assert.Throws<ArgumentOutOfRangeException>(() => gen.Generate(new[] { 1 }, new GenerationOptions { TopK = -1 })).Message);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => gen.Generate(Array.Empty<int>(), new GenerationOptions())).Message);
        Assert.Contains("vocabulary", Assert.Throws<ArgumentOutOfRangeException>(() => gen.Generate(new[] { 99 }, new GenerationOptions())).Message);
    }

    [Theory]
    [InlineData(16)] // head width 8: the portable step attention
    [InlineData(64)] // head width 32: the 512-bit one where the CPU has it
    public void ABatchedStep_GivesEachRowTheLogitsOfFullRecompute(int modelDim)
    {
        // Rows of different lengths in one step, each against its own cache, compared with the whole sequence re-read.
        var lm = new TransformerLanguageModel(ModelBehaviourTests.Tiny() with { ModelDim = modelDim }, 5);
        GradCheck.Scramble(lm.Parameters, 6, 0.3f);
        int v = lm.Config.VocabSize;
        var sequences = new[] { new[] { 3, 1, 4, 1, 5 }, new[] { 9 }, new[] { 2, 6, 5, 3, 5, 8, 9, 7, 9 } };
        var caches = sequences.Select(s => { var c = lm.CreateCache(); lm.ForwardIncremental(s[..^1], s.Length - 1, c); return c; }).ToArray();
        // Prompts read together give each the last-token logits of reading it alone.
        var prompts = sequences.Where(s => s.Length > 1).Select(s => s[..^1]).ToArray();
        var together = prompts.Select(_ => lm.CreateCache()).ToArray();
        var read = lm.ForwardIncrementalLast(prompts.SelectMany(p => p).ToArray(), prompts.Select(p => p.Length).ToArray(), together).ToArray();
        for (int r = 0; r < prompts.Length; r++)
        {
            Assert.Equal(prompts[r].Length, together[r].Length);
            var alone = lm.ForwardIncremental(prompts[r], prompts[r].Length, lm.CreateCache());
            for (int j = 0; j < v; j++) Assert.Equal(alone[(prompts[r].Length - 1) * v + j], read[r * v + j], 4);
        }
        Assert.Throws<ArgumentException>(() => lm.ForwardIncrementalLast(new[] { 1 }, new[] { 1, 0 }, new[] { lm.CreateCache(), lm.CreateCache() }));
        var logits = lm.Head.Forward(lm.Decoder.ForwardStep(sequences.Select(s => s[^1]).ToArray(), 3, caches), 3).ToArray(); // the head's buffer is reused below
        for (int r = 0; r < 3; r++)
        {
            int t = sequences[r].Length;
            var full = lm.Forward(new TokenBatch(1, t, sequences[r]));
            for (int j = 0; j < v; j++)
                Assert.True(Math.Abs(full[(t - 1) * v + j] - logits[r * v + j]) <= 1e-5f * Math.Max(1f, Math.Abs(full[(t - 1) * v + j])), $"row {r}, logit {j}: step {logits[r * v + j]} vs full {full[(t - 1) * v + j]}");
            Assert.Equal(t, caches[r].Length);
        }
    }

    [Fact]
    public void Generation_ReadsTheWeightsOfEachCall_AndLeavesNoDecodingLayoutBehind()
    {
        // Generation lays the weights out for decoding; a model changed between calls must be generated from as changed,
        // and once a call returns, every layer computes from the weights themselves again.
        var lm = Model();
        var gen = new TokenGenerator(lm);
        var prompt = new[] { 1, 2, 3 };
        var greedy = new GenerationOptions { MaxNewTokens = 10, Temperature = 0 };
        var first = gen.Generate(prompt, greedy);
        Assert.Equal(first, new TokenGenerator(lm, fixedWeights: true).GenerateBatch(new[] { prompt }, greedy)[0]);
        GradCheck.Scramble(lm.Parameters, 21, 0.6f);
        var fresh = new TokenGenerator(lm.Copy()).Generate(prompt, greedy);
        Assert.NotEqual(first, fresh); // the change matters to the output
        Assert.Equal(fresh, gen.Generate(prompt, greedy));
        Assert.Equal(fresh, gen.GenerateBatch(new[] { prompt }, greedy)[0]);

        var batch = new TokenBatch(2, 3, new[] { 1, 2, 3, 4, 5, 6 });
        var expected = lm.Copy().Forward(batch).ToArray();
        var logits = lm.Forward(batch);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], logits[i]);
    }
}

public class MaskedLanguageModelTests
{
    [Fact]
    public void Masking_Follows80_10_10_AndSkipsSpecialsAndPadding()
    {
        int b = 64, t = 50, vocab = 100, maskId = 4;
        var ids = new int[b * t]; var mask = new int[b * t]; var targets = new int[b * t];
        var rng0 = new Random(1);
        for (int i = 0; i < ids.Length; i++) { ids[i] = 5 + rng0.Next(vocab - 5); mask[i] = i % t < 45 ? 1 : 0; }
        for (int r = 0; r < b; r++) { ids[r * t] = 2; ids[r * t + 44] = 3; } // [CLS] … [SEP]
        var original = (int[])ids.Clone();
        var rng = Kernels.DeterministicRandom.Derive(1, 2);
        MaskedLanguageModel.Mask(ids, mask, targets, b, t, new HashSet<int> { 0, 2, 3, 4 }, maskId, vocab, ref rng);
        int chosen = 0, masked = 0, kept = 0, candidates = 0;
        for (int i = 0; i < ids.Length; i++)
        {
            bool candidate = mask[i] == 1 && original[i] is not (2 or 3);
            if (candidate) candidates++;
            if (targets[i] == -100) { Assert.Equal(original[i], ids[i]); continue; }
            Assert.True(candidate, $"position {i} is special or padding but was chosen");
            Assert.Equal(original[i], targets[i]);
            chosen++;
            if (ids[i] == maskId) masked++; else if (ids[i] == original[i]) kept++;
        }
        Assert.InRange(chosen / (double)candidates, 0.12, 0.18);
        Assert.InRange(masked / (double)chosen, 0.74, 0.86);
        Assert.InRange(kept / (double)chosen, 0.05, 0.16);
    }

    [Fact]
    public void Gradients_MatchFiniteDifferences()
    {
        var config = new TransformerConfig { VocabSize = 12, ModelDim = 8, Heads = 2, Layers = 1, FeedForwardDim = 12, MaxLength = 5, Dropout = 0f };
        var model = new MaskedLanguageModel(config, 2);
        GradCheck.Scramble(model.Parameters, 3, 0.2f);
        var batch = new TokenBatch(2, 4, new[] { 2, 4, 7, 3, 2, 9, 4, 3 }, new[] { 1, 1, 1, 1, 1, 1, 1, 0 }, new[] { -100, 5, -100, -100, -100, -100, 8, -100 });
        model.Parameters.ZeroGrad();
        model.ForwardBackward(batch);
        GradCheck.CheckParameters(model.Parameters, () => model.Loss(batch), samples: 4);
    }

    [Fact]
    public void Generation_StopsAtTheEndToken_WhichIsNotReturned()
    {
        var config = new TransformerConfig { VocabSize = 12, ModelDim = 16, Heads = 2, Layers = 1, FeedForwardDim = 24, MaxLength = 32, Dropout = 0f };
        var lm = new TransformerLanguageModel(config, 3);
        GradCheck.Scramble(lm.Parameters, 9, 0.5f);
        var gen = new TokenGenerator(lm);
        var free = gen.Generate(new[] { 1 }, new GenerationOptions { MaxNewTokens = 20, Temperature = 0 });
        int cut = Enumerable.Range(1, free.Length - 1).First(i => !free[..i].Contains(free[i])); // a token not generated before
        var stopped = gen.Generate(new[] { 1 }, new GenerationOptions { MaxNewTokens = 20, Temperature = 0, EndTokenId = free[cut] });
        Assert.Equal(free[..cut], stopped);
        Assert.Equal(free, gen.Generate(new[] { 1 }, new GenerationOptions { MaxNewTokens = 20, Temperature = 0, EndTokenId = -1 }));
    }
}
