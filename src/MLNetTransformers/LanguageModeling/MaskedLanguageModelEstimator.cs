using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using MLNetTransformers.Classification;
using MLNetTransformers.Core.Kernels;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Core.Training;
using MLNetTransformers.Data;
using MLNetTransformers.Featurization;
using MLNetTransformers.Tokenization;
using MLNetTransformers.Training;

namespace MLNetTransformers.LanguageModeling;

/// <summary>Options of masked-language-model pretraining (<c>mlContext.Transforms.Text.PretrainMaskedLanguageModel</c>).</summary>
public sealed class MaskedLanguageModelOptions
{
    /// <summary>Unlabelled text column.</summary>
    public string TextColumnName { get; set; } = "Text";
    /// <summary>Embedding column of the fitted featurizer.</summary>
    public string OutputColumnName { get; set; } = "Features";
    /// <summary>Tokenizer (a WordPiece vocabulary learned from the text by default).</summary>
    public TokenizerOptions Tokenizer { get; set; } = new() { MaxTokens = 64 };
    /// <summary>Encoder blocks.</summary>
    public int Layers { get; set; } = 4;
    /// <summary>d_model.</summary>
    public int ModelDim { get; set; } = 256;
    /// <summary>Attention heads.</summary>
    public int Heads { get; set; } = 4;
    /// <summary>Feed-forward hidden size.</summary>
    public int FeedForwardDim { get; set; } = 1024;
    /// <summary>Dropout probability.</summary>
    public float Dropout { get; set; } = 0.1f;
    /// <summary>Pooling used by the featurizer and by classifiers fine-tuned from this encoder.</summary>
    public Pooling Pooling { get; set; } = Pooling.Mean;
    /// <summary>Sequences per step.</summary>
    public int BatchSize { get; set; } = 32;
    /// <summary>Steps at most (the data is cycled in shuffled epochs).</summary>
    public int MaxSteps { get; set; } = 10000;
    /// <summary>Peak learning rate.</summary>
    public float LearningRate { get; set; } = 5e-4f;
    /// <summary>Warmup steps; −1 = 6% of the steps.</summary>
    public int WarmupSteps { get; set; } = -1;
    /// <summary>AdamW decoupled weight decay.</summary>
    public float WeightDecay { get; set; } = 0.01f;
    /// <summary>Share of tokens chosen for prediction (BERT: 0.15; of those 80% [MASK], 10% random, 10% kept).</summary>
    public float MaskProbability { get; set; } = 0.15f;
    /// <summary>Seed of weights, shuffling, masking and dropout.</summary>
    public int Seed { get; set; }
    /// <summary>Stop after this long.</summary>
    public TimeSpan? TimeBudget { get; set; }
    /// <summary>Receives the masked-token loss and tokens/s.</summary>
    public IProgress<LanguageModelTrainingProgress>? Progress { get; set; }
    /// <summary>Report every this many steps.</summary>
    public int ReportEverySteps { get; set; } = 100;
    /// <summary>Stops within one step.</summary>
    public CancellationToken CancellationToken { get; set; }
}

/// <summary>
/// Pretrains a transformer encoder by masked language modelling on unlabelled text. Fit returns an
/// <see cref="EncoderFeaturizerTransformer"/> (text → sentence embedding); to fine-tune for classification, pass its
/// <c>Encoder</c> and <c>Tokenizer</c> as <see cref="TransformerClassifierOptions.InitialModel"/> and
/// <see cref="TransformerClassifierOptions.PretrainedTokenizer"/>.
/// </summary>
public sealed class MaskedLanguageModelEstimator : IEstimator<EncoderFeaturizerTransformer>
{
    private readonly MaskedLanguageModelOptions _o;
    private readonly IChannelProvider? _log;

    internal MaskedLanguageModelEstimator(MaskedLanguageModelOptions options, IChannelProvider? log)
    {
        if (!(options.MaskProbability > 0f && options.MaskProbability < 1f))
            throw new ArgumentOutOfRangeException(nameof(options.MaskProbability), options.MaskProbability, "MaskProbability must be in (0, 1).");
        if (options.MaxSteps <= 0) throw new ArgumentOutOfRangeException(nameof(options.MaxSteps), options.MaxSteps, "MaxSteps must be positive.");
        if (options.BatchSize <= 0) throw new ArgumentOutOfRangeException(nameof(options.BatchSize), options.BatchSize, "BatchSize must be positive.");
        options.Tokenizer.Validate();
        (_o, _log) = (options, log);
    }

    /// <summary>How the last Fit went.</summary>
    public LanguageModelSummary? Summary { get; private set; }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaShapeColumns.RequireText(inputSchema, _o.TextColumnName);
        return SchemaShapeColumns.Extend(inputSchema, new[] { new Microsoft.ML.DataViewSchema.DetachedColumn(_o.OutputColumnName, new Microsoft.ML.Data.VectorDataViewType(Microsoft.ML.Data.NumberDataViewType.Single, _o.ModelDim)) });
    }

    /// <summary>Learns the tokenizer and pretrains the encoder on the text column.</summary>
    public EncoderFeaturizerTransformer Fit(IDataView input)
    {
        var o = _o;
        using var ch = _log?.Start("MaskedLanguageModel");
        var col = TokenizerTransformer.RequireText(input.Schema, o.TextColumnName);
        var texts = TextColumn.Read(input, col).ToList();
        if (texts.All(string.IsNullOrWhiteSpace)) throw new ArgumentException($"Text column '{o.TextColumnName}' holds no text to pretrain on.");
        var clock = Stopwatch.StartNew();
        var tokenizer = o.Tokenizer.Build(() => texts);
        var data = new EncodedTexts(tokenizer, texts);
        var config = new TransformerConfig
        {
            VocabSize = tokenizer.VocabularySize, ModelDim = o.ModelDim, Heads = o.Heads, Layers = o.Layers, FeedForwardDim = o.FeedForwardDim,
            MaxLength = tokenizer.MaxTokens, Dropout = o.Dropout, Pooling = o.Pooling,
        };
        var model = new MaskedLanguageModel(config, (ulong)o.Seed);
        // With a time budget the number of steps is unknown until the first steps are timed: start with a short warmup;
        // the loop then fits the warmup (6%) and the decay to the steps the budget allows.
        bool budgeted = o.TimeBudget is not null;
        int warmup = o.WarmupSteps >= 0 ? o.WarmupSteps : budgeted ? 20 : Math.Max(1, o.MaxSteps * 6 / 100);
        var loop = new TrainingLoop(model, new TrainingLoopOptions
        {
            Optimization = new TrainerOptions
            {
                LearningRate = o.LearningRate, WarmupSteps = warmup, TotalSteps = o.MaxSteps, Decay = DecayKind.Linear, MinLearningRateRatio = 0f,
                AdamW = new AdamWOptions { WeightDecay = o.WeightDecay },
            },
            Epochs = int.MaxValue, MaxSteps = o.MaxSteps, TimeBudget = o.TimeBudget, FitScheduleToTimeBudget = true,
            FittedWarmupFraction = o.WarmupSteps < 0 ? 0.06f : null, ElapsedBefore = clock.Elapsed,
            ValidateEachEpoch = false, ReportEverySteps = o.ReportEverySteps, Cancellation = o.CancellationToken,
        });
        var specials = new HashSet<int> { tokenizer.ClsId, tokenizer.SepId, tokenizer.PadId, tokenizer.MaskId };
        var batcher = new Batcher(data, Enumerable.Repeat(0, data.Count).ToList(), Math.Min(o.BatchSize, data.Count), (ulong)o.Seed);
        var targets = new int[o.BatchSize * tokenizer.MaxTokens];
        long step = 0;
        // Batches: shuffled epochs, each batch masked BERT's way with its step's own seed.
        IEnumerable<TrainingBatch> Masked(int epoch)
        {
            foreach (var item in batcher.Epoch(epoch))
            {
                var b = item.Tokens;
                var rng = DeterministicRandom.Derive((ulong)o.Seed, (ulong)step++ + 991);
                MaskedLanguageModel.Mask(b.Ids, b.AttentionMask, targets, b.BatchSize, b.SeqLen, specials, tokenizer.MaskId, tokenizer.VocabularySize, ref rng, o.MaskProbability);
                yield return new TrainingBatch(new TokenBatch(b.BatchSize, b.SeqLen, b.Ids, b.AttentionMask, targets), item.RealTokens);
            }
        }
        var progress = TrainingReports.To(o.Progress, ch, r =>
            new LanguageModelTrainingProgress(r.Step, r.TotalSteps, r.TrainLoss, r.TokensPerSecond, null, r.Elapsed));
        var outcome = loop.Run(Masked, progress: progress);
        (step, string stop) = (outcome.Steps, outcome.StopReason);
        Summary = new LanguageModelSummary(step, stop, null, clock.Elapsed);
        ch?.Info(MessageSensitivity.None, $"Pretraining finished after {step} steps ({stop}).");
        // The encoder's weights, in a classifier of the same config (its head is untrained).
        var encoder = new TransformerClassifier(config with { Dropout = o.Dropout }, (ulong)o.Seed);
        foreach (var t in encoder.Parameters.Tensors)
            if (model.Parameters.Contains(t.Name)) model.Parameters[t.Name].Value.CopyTo(t.Value);
        return new EncoderFeaturizerTransformer(tokenizer, encoder, o.TextColumnName, o.OutputColumnName);
    }
}
