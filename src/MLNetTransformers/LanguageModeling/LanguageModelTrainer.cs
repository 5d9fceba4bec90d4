using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MLNetTransformers.Core.Kernels;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Core.Training;
using MLNetTransformers.Data;
using MLNetTransformers.Tokenization;

namespace MLNetTransformers.LanguageModeling;

/// <summary>
/// Trains a GPT-style causal language model: tokenizer (character-level by default), then next-token
/// cross-entropy on random windows of the packed corpus (documents joined by [SEP]), reporting validation loss
/// and perplexity on the held-out end of the stream and keeping the best weights. The fitted transformer generates
/// text from a prompt column. Created by <c>mlContext.Transforms.Text.TrainLanguageModel</c>.
/// </summary>
public sealed class LanguageModelEstimator : IEstimator<LanguageModelTransformer>
{
    private readonly LanguageModelOptions _options;
    private readonly IChannelProvider? _log;

    internal LanguageModelEstimator(LanguageModelOptions options, IChannelProvider? log)
    {
        options.Validate();
        (_options, _log) = (options, log);
    }

    /// <summary>Trains on the documents of the text column.</summary>
    public LanguageModelTransformer Fit(IDataView input)
    {
        var col = TokenizerTransformer.RequireText(input.Schema, _options.TextColumnName);
        return Train(TextColumn.Read(input, col).ToList(), _options, _log);
    }

    /// <summary>Trains on a whole text file (one document).</summary>
    public LanguageModelTransformer FitFile(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Text file '{path}' does not exist.", path);
        return Train(new[] { File.ReadAllText(path) }, _options, _log);
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaShapeColumns.RequireText(inputSchema, _options.TextColumnName);
        return inputSchema; // the generator's columns (Prompt → Generated) apply to prompt data, not to the corpus
    }

    /// <summary>The training loop, usable without an IDataView.</summary>
    public static LanguageModelTransformer Train(IReadOnlyList<string?> documents, LanguageModelOptions o, IChannelProvider? log = null)
    {
        o.Validate();
        using var ch = log?.Start("LanguageModel");
        var clock = Stopwatch.StartNew();
        if (documents.All(string.IsNullOrEmpty)) throw new ArgumentException("The training corpus is empty: there is no text to learn from.");
        // The context length decides the tokenizer's length; the caller's options object is left as it was.
        var tokenizer = o.Tokenizer.With(maxTokens: o.ContextLength).Build(() => documents);
        var stream = Corpus.Encode(tokenizer, documents);
        int T = o.ContextLength;
        int validLen = (int)(stream.Length * o.ValidationFraction);
        int trainLen = stream.Length - validLen;
        if (trainLen < T + 2)
            throw new ArgumentException($"The training corpus has {trainLen} tokens; a context of {T} needs at least {T + 2}. Add text or lower ContextLength.");
        var train = stream.AsMemory(0, trainLen);
        var valid = stream.AsMemory(trainLen);
        ch?.Info(MessageSensitivity.None, $"Tokenizer: {tokenizer}; corpus {stream.Length} tokens ({trainLen} train, {validLen} validation)");

        var config = new TransformerConfig
        {
            VocabSize = tokenizer.VocabularySize, ModelDim = o.ModelDim, Heads = o.Heads, Layers = o.Layers, FeedForwardDim = o.FeedForwardDim,
            MaxLength = T, Dropout = o.Dropout, Activation = o.Activation, Norm = NormPlacement.PreNorm,
        };
        var model = new TransformerLanguageModel(config, (ulong)o.Seed);
        var trainer = new Trainer(model, new TrainerOptions
        {
            LearningRate = o.LearningRate, WarmupSteps = o.WarmupSteps, TotalSteps = o.MaxSteps, Decay = DecayKind.Cosine, MinLearningRateRatio = 0.1f,
            MaxGradNorm = 1f, AdamW = new AdamWOptions { WeightDecay = o.WeightDecay, Beta2 = 0.99f },
        });
        int B = o.BatchSize;
        var ids = new int[B * T];
        var targets = new int[B * T];
        float[]? best = null;
        double bestLoss = double.PositiveInfinity, lossSum = 0;
        int lossCount = 0;
        long step = 0;
        string stop = "all steps done";
        var window = Stopwatch.StartNew();
        var lastProgress = new LanguageModelTrainingProgress();
        var loopStart = clock.Elapsed; // tokenizer learning and encoding are not steps

        void Evaluate()
        {
            double seconds = window.Elapsed.TotalSeconds;
            double? vloss = valid.Length >= 2 ? Corpus.Loss(model, valid.Span, T, o.ValidationWindows) : null;
            if (vloss is { } v && v < bestLoss)
            {
                bestLoss = v;
                best = (float[])model.Parameters.Data.Clone();
                if (o.CheckpointPath is { } path) new LanguageModelTransformer(tokenizer, model, o).Save(path);
            }
            lastProgress = new LanguageModelTrainingProgress(step, o.MaxSteps, lossCount > 0 ? (float)(lossSum / lossCount) : float.NaN,
                lossCount * (double)B * T / Math.Max(seconds, 1e-9), vloss, clock.Elapsed);
            o.Progress?.Report(lastProgress);
            ch?.Info(MessageSensitivity.None, lastProgress.ToString());
            lossSum = 0; lossCount = 0; window.Restart();
        }

        for (; step < o.MaxSteps;)
        {
            if (o.CancellationToken.IsCancellationRequested) { stop = "cancelled"; break; }
            if (o.TimeBudget is { } budget && clock.Elapsed >= budget) { stop = "time budget reached"; break; }
            var rng = DeterministicRandom.Derive((ulong)o.Seed, (ulong)step + 77);
            var span = train.Span;
            for (int b = 0; b < B; b++)
            {
                int s = rng.NextInt(trainLen - T - 1);
                span.Slice(s, T).CopyTo(ids.AsSpan(b * T, T));
                span.Slice(s + 1, T).CopyTo(targets.AsSpan(b * T, T));
            }
            lossSum += trainer.TrainStep(new TokenBatch(B, T, ids, labels: targets)).Loss;
            lossCount++;
            step++;
            // With a time budget, let the cosine decay end when the budget does (estimated from the first steps).
            if (o.TimeBudget is { } tb && step == Math.Min(20, o.MaxSteps / 2 + 1))
            {
                double perStep = (clock.Elapsed - loopStart).TotalSeconds / step;
                int fit = (int)Math.Clamp(((tb - loopStart).TotalSeconds / perStep) * 0.97, step + 1, o.MaxSteps);
                trainer.SetTotalSteps(fit);
            }
            if (step % o.EvaluateEverySteps == 0) Evaluate();
        }
        if (lossCount > 0 || step == 0) Evaluate();
        if (best is not null) best.CopyTo(model.Parameters.Data, 0);
        var summary = new LanguageModelSummary(step, stop, double.IsInfinity(bestLoss) ? null : bestLoss, clock.Elapsed);
        ch?.Info(MessageSensitivity.None, $"Training finished after {step} steps ({stop}); best validation loss {summary.BestValidationLoss:F4}.");
        return new LanguageModelTransformer(tokenizer, model, o) { TrainingSummary = summary };
    }
}

/// <summary>How a language-model training run ended.</summary>
/// <param name="Steps">Steps taken.</param>
/// <param name="StopReason">Why it stopped.</param>
/// <param name="BestValidationLoss">Held-out loss of the kept weights (nats/token), if there was held-out text.</param>
/// <param name="Duration">Wall-clock time.</param>
public sealed record LanguageModelSummary(long Steps, string StopReason, double? BestValidationLoss, TimeSpan Duration)
{
    /// <summary>exp(best validation loss).</summary>
    public double? BestValidationPerplexity => BestValidationLoss is { } l ? Math.Exp(l) : null;
}

/// <summary>Packing and scoring of token streams.</summary>
internal static class Corpus
{
    /// <summary>Documents as one stream: [SEP] doc₁ [SEP] doc₂ …</summary>
    public static int[] Encode(TextTokenizer tokenizer, IEnumerable<string?> documents)
    {
        var stream = new List<int>();
        foreach (var d in documents)
        {
            if (string.IsNullOrEmpty(d)) continue;
            stream.Add(tokenizer.SepId);
            stream.AddRange(tokenizer.EncodeAll(d));
        }
        return stream.ToArray();
    }

    /// <summary>Mean next-token cross-entropy over up to <paramref name="maxWindows"/> windows spread over the stream (all of it if they fit).</summary>
    public static double Loss(TransformerLanguageModel model, ReadOnlySpan<int> stream, int context, int maxWindows)
    {
        if (stream.Length < 2) throw new ArgumentException("The text has fewer than two tokens: there is nothing to predict.");
        int t = Math.Min(context, stream.Length - 1);
        int possible = (stream.Length - 1) / t;
        int windows = Math.Min(maxWindows, Math.Max(1, possible));
        double stride = windows == 1 ? 0 : (double)(stream.Length - 1 - t) / (windows - 1);
        double total = 0; long count = 0;
        const int batch = 16;
        var ids = new int[batch * t];
        var targets = new int[batch * t];
        for (int w0 = 0; w0 < windows; w0 += batch)
        {
            int b = Math.Min(batch, windows - w0);
            for (int i = 0; i < b; i++)
            {
                int start = (int)Math.Round((w0 + i) * stride);
                stream.Slice(start, t).CopyTo(ids.AsSpan(i * t, t));
                stream.Slice(start + 1, t).CopyTo(targets.AsSpan(i * t, t));
            }
            total += model.Loss(new TokenBatch(b, t, ids, labels: targets)) * (double)(b * t);
            count += b * t;
        }
        return total / count;
    }
}
