using Microsoft.ML;
using MLNetTransformers.Core.Kernels;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Tokenization;

namespace MLNetTransformers.Classification;

/// <summary>
/// Options of the transformer classification trainers (<c>mlContext.BinaryClassification.Trainers.TransformerClassifier</c>
/// and the multiclass one): columns, tokenizer, network shape and optimisation. Defaults train a small encoder
/// (2 layers, d_model 128) that fits sentence classification on two cores.
/// </summary>
public sealed class TransformerClassifierOptions
{
    /// <summary>Label column: Boolean (or 0/1 numbers) for binary; a key type for multiclass (use MapValueToKey).</summary>
    public string LabelColumnName { get; set; } = "Label";
    /// <summary>Text column.</summary>
    public string TextColumnName { get; set; } = "Text";
    /// <summary>Output: raw score (binary: logit of the positive class minus the negative; multiclass: probability vector).</summary>
    public string ScoreColumnName { get; set; } = "Score";
    /// <summary>Output (binary): probability of the positive class.</summary>
    public string ProbabilityColumnName { get; set; } = "Probability";
    /// <summary>Output: predicted label (Boolean, or the label's key type).</summary>
    public string PredictedLabelColumnName { get; set; } = "PredictedLabel";

    /// <summary>Tokenizer; by default a WordPiece vocabulary is learned from the training text.</summary>
    public TokenizerOptions Tokenizer { get; set; } = new() { MaxTokens = 64 };

    /// <summary>Encoder blocks.</summary>
    public int Layers { get; set; } = 2;
    /// <summary>d_model.</summary>
    public int ModelDim { get; set; } = 128;
    /// <summary>Attention heads (must divide d_model).</summary>
    public int Heads { get; set; } = 4;
    /// <summary>Feed-forward hidden size.</summary>
    public int FeedForwardDim { get; set; } = 512;
    /// <summary>Dropout probability.</summary>
    public float Dropout { get; set; } = 0.1f;
    /// <summary>CLS or mean pooling.</summary>
    public Pooling Pooling { get; set; } = Pooling.Mean;
    /// <summary>Pre- or post-norm blocks.</summary>
    public NormPlacement Norm { get; set; } = NormPlacement.PreNorm;
    /// <summary>Feed-forward activation.</summary>
    public Activation Activation { get; set; } = Activation.Gelu;

    /// <summary>
    /// Rows of the hashed bigram table of the bag-of-n-grams branch trained beside the transformer and mixed with it
    /// (the mixture weights are chosen on validation data; 0.5 and 0.5 without any). 0 = transformer only.
    /// </summary>
    public int NGramBuckets { get; set; } = 1 << 18;

    /// <summary>
    /// Transformers trained side by side from different random initialisations, their logits averaged (a deep
    /// ensemble): each step costs this many times more.
    /// </summary>
    public int EnsembleSize { get; set; } = 1;

    /// <summary>
    /// Passes over the training data; null = chosen from the data size: 8, or as many as make about 1,500 steps
    /// when the data is small (at most 200), with early stopping deciding where to end.
    /// </summary>
    public int? Epochs { get; set; }
    /// <summary>Sequences per step.</summary>
    public int BatchSize { get; set; } = 32;
    /// <summary>Peak learning rate.</summary>
    public float LearningRate { get; set; } = 5e-4f;
    /// <summary>Warmup steps; −1 = 6% of all steps.</summary>
    public int WarmupSteps { get; set; } = -1;
    /// <summary>AdamW decoupled weight decay.</summary>
    public float WeightDecay { get; set; } = 0.01f;
    /// <summary>
    /// Decay of an exponential moving average of the weights, which validation scores and training keeps instead of
    /// the raw weights (0 = off).
    /// </summary>
    public float WeightAveraging { get; set; }
    /// <summary>Word dropout: probability that a training token (not [CLS] or [SEP]) is replaced by [MASK] in a step.</summary>
    public float TokenDropout { get; set; }
    /// <summary>Label smoothing ε.</summary>
    public float LabelSmoothing { get; set; }
    /// <summary>Seed of weights, shuffling and dropout: the same seed and data give the same model.</summary>
    public int Seed { get; set; }

    /// <summary>
    /// Held-out data (same columns) evaluated after every epoch: the weights with the lowest validation cross-entropy
    /// are kept, and the n-gram branch's mixture weights are chosen on it.
    /// </summary>
    public IDataView? ValidationSet { get; set; }
    /// <summary>
    /// Without <see cref="ValidationSet"/>, this fraction of the training rows (chosen at random with <see cref="Seed"/>)
    /// is held out for validation instead, when that gives at least 20 rows on each side; 0 = train on every row and
    /// never stop early. Rows that are parts of one another (SST-2's phrases of a sentence) make such a random
    /// hold-out too easy: give a <see cref="ValidationSet"/> split by sentence for those.
    /// </summary>
    public double ValidationFraction { get; set; } = 0.1;
    /// <summary>
    /// When the validation rows were held out by <see cref="ValidationFraction"/> and there are at most 20,000 rows,
    /// train a second model on all rows for the number of steps validation chose, with the mixture weights it chose
    /// (small data sets gain most from the rows validation took away).
    /// </summary>
    public bool Refit { get; set; } = true;
    /// <summary>Stop after this many epochs without validation improvement (0 = never stop early).</summary>
    /// <remarks>null = max(2, epochs / 8).</remarks>
    public int? EarlyStoppingPatience { get; set; }
    /// <summary>Report loss and tokens/s every this many steps, besides every epoch end (0 = per epoch only).</summary>
    public int ReportEverySteps { get; set; } = 100;
    /// <summary>Also evaluate the validation set (and keep the best weights) every this many steps (0 = per epoch only).</summary>
    public int ValidateEverySteps { get; set; }
    /// <summary>Stop training after this long (the best weights so far are kept).</summary>
    public TimeSpan? TimeBudget { get; set; }

    /// <summary>Receives loss, tokens/s and validation accuracy as training goes.</summary>
    public IProgress<ClassificationTrainingProgress>? Progress { get; set; }
    /// <summary>Stops training within one step, keeping the best weights so far.</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>Start from this encoder's weights (e.g. masked-LM pretraining) instead of random ones; its config wins.</summary>
    public TransformerClassifier? InitialModel { get; set; }
    /// <summary>Use this tokenizer instead of building one from <see cref="Tokenizer"/>.</summary>
    public TextTokenizer? PretrainedTokenizer { get; set; }

    /// <summary>The epochs a run over <paramref name="stepsPerEpoch"/> steps each makes: <see cref="Epochs"/>, or the automatic choice.</summary>
    internal int EpochsFor(int stepsPerEpoch) => Epochs ?? Math.Clamp((1500 + stepsPerEpoch - 1) / stepsPerEpoch, 8, 200);

    /// <summary>Epochs without validation improvement before stopping: <see cref="EarlyStoppingPatience"/>, or the automatic choice.</summary>
    internal int PatienceFor(int epochs) => EarlyStoppingPatience ?? Math.Max(2, epochs / 8);

    internal void Validate()
    {
        void Positive(int v, string name) { if (v <= 0) throw new ArgumentOutOfRangeException(name, v, $"{name} must be positive."); }
        Positive(Layers, nameof(Layers)); Positive(ModelDim, nameof(ModelDim)); Positive(Heads, nameof(Heads));
        Positive(FeedForwardDim, nameof(FeedForwardDim)); Positive(EnsembleSize, nameof(EnsembleSize)); if (Epochs is { } e) Positive(e, nameof(Epochs)); Positive(BatchSize, nameof(BatchSize));
        if (ModelDim % Heads != 0) throw new ArgumentOutOfRangeException(nameof(Heads), Heads, $"Heads must divide ModelDim ({ModelDim}).");
        if (WarmupSteps < -1) throw new ArgumentOutOfRangeException(nameof(WarmupSteps), WarmupSteps, "WarmupSteps must be −1 (6% of the steps) or a non-negative count.");
        if (!(LearningRate > 0f)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "LearningRate must be positive.");
        if (!(Dropout >= 0f && Dropout < 1f)) throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, "Dropout must be in [0, 1).");
        if (!(WeightDecay >= 0f)) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "WeightDecay must be non-negative.");
        if (!(LabelSmoothing >= 0f && LabelSmoothing < 1f)) throw new ArgumentOutOfRangeException(nameof(LabelSmoothing), LabelSmoothing, "LabelSmoothing must be in [0, 1).");
        if (ReportEverySteps < 0) throw new ArgumentOutOfRangeException(nameof(ReportEverySteps), ReportEverySteps, "ReportEverySteps must be non-negative.");
        if (ValidateEverySteps < 0) throw new ArgumentOutOfRangeException(nameof(ValidateEverySteps), ValidateEverySteps, "ValidateEverySteps must be non-negative.");
        if (!(ValidationFraction >= 0 && ValidationFraction < 1)) throw new ArgumentOutOfRangeException(nameof(ValidationFraction), ValidationFraction, "ValidationFraction must be in [0, 1).");
        if (!(WeightAveraging >= 0f && WeightAveraging < 1f)) throw new ArgumentOutOfRangeException(nameof(WeightAveraging), WeightAveraging, "WeightAveraging must be in [0, 1).");
        if (!(TokenDropout >= 0f && TokenDropout < 1f)) throw new ArgumentOutOfRangeException(nameof(TokenDropout), TokenDropout, "TokenDropout must be in [0, 1).");
        if (NGramBuckets < 0) throw new ArgumentOutOfRangeException(nameof(NGramBuckets), NGramBuckets, "NGramBuckets must be non-negative (0 = no n-gram branch).");
        if (EarlyStoppingPatience is < 0) throw new ArgumentOutOfRangeException(nameof(EarlyStoppingPatience), EarlyStoppingPatience, "EarlyStoppingPatience must be non-negative.");
        if (TimeBudget is { } t && t <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(TimeBudget), t, "TimeBudget must be positive.");
        Tokenizer.Validate();
    }
}

/// <summary>A progress report of the transformer classification trainer.</summary>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="Step">Optimisation steps done.</param>
/// <param name="TotalSteps">Steps planned (epochs × steps per epoch).</param>
/// <param name="TrainLoss">Mean training loss since the previous report.</param>
/// <param name="TokensPerSecond">Training throughput since the previous report (real tokens, padding excluded).</param>
/// <param name="ValidationAccuracy">Accuracy on the validation set, when one was evaluated for this report.</param>
/// <param name="ValidationLoss">Mean cross-entropy on the validation set, when evaluated.</param>
/// <param name="Elapsed">Time since training started.</param>
/// <param name="EndOfEpoch">Whether this report closes an epoch.</param>
public readonly record struct ClassificationTrainingProgress(int Epoch, long Step, long TotalSteps, float TrainLoss, double TokensPerSecond,
    double? ValidationAccuracy, double? ValidationLoss, TimeSpan Elapsed, bool EndOfEpoch)
{
    /// <summary>One line for logs and the CLI.</summary>
    public override string ToString() =>
        $"epoch {Epoch + 1} step {Step}/{TotalSteps} loss {TrainLoss:F4} {TokensPerSecond:F0} tok/s" +
        (ValidationAccuracy is { } a ? $" val_acc {a:P2} val_loss {ValidationLoss:F4}" : "") + $" [{Elapsed:hh\\:mm\\:ss}]";
}
