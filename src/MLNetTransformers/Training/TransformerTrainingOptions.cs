using MLNetTransformers.Core.Layers;

namespace MLNetTransformers.Training;

/// <summary>
/// What every trainer of the library shares: the text column, the tokenizer, the model's shape and the training
/// schedule, with one set of defaults (the shape's are <see cref="TransformerConfig"/>'s: a small pre-norm model, 2
/// layers of d_model 128, that trains on two cores), validated in one place. Task options (<see cref="Classification.TransformerClassifierOptions"/>,
/// <see cref="LanguageModeling.LanguageModelOptions"/>, <see cref="LanguageModeling.MaskedLanguageModelOptions"/>) derive
/// from it and add their own; a task whose defaults differ says so in its constructor's documentation.
/// </summary>
public abstract class TransformerTrainingOptions
{
    /// <summary>Text column of the training data.</summary>
    public string TextColumnName { get; set; } = DefaultColumnNames.Text;
    /// <summary>Tokenizer; by default a WordPiece vocabulary is learned from the training text.</summary>
    public TokenizerOptions Tokenizer { get; set; } = new() { MaxTokens = 64 };

    // The model's shape, with the defaults of TransformerConfig (the library's one set of shape defaults).
    private TransformerConfig _shape = new();

    /// <summary>Transformer blocks.</summary>
    public int Layers { get => _shape.Layers; set => _shape = _shape with { Layers = value }; }
    /// <summary>d_model, the width of every token's vector.</summary>
    public int ModelDim { get => _shape.ModelDim; set => _shape = _shape with { ModelDim = value }; }
    /// <summary>Attention heads (must divide <see cref="ModelDim"/>).</summary>
    public int Heads { get => _shape.Heads; set => _shape = _shape with { Heads = value }; }
    /// <summary>Hidden size of the feed-forward block.</summary>
    public int FeedForwardDim { get => _shape.FeedForwardDim; set => _shape = _shape with { FeedForwardDim = value }; }
    /// <summary>Dropout probability on embeddings, attention and feed-forward outputs.</summary>
    public float Dropout { get => _shape.Dropout; set => _shape = _shape with { Dropout = value }; }
    /// <summary>Pre-norm (GPT-2; stable) or post-norm (the original Transformer, BERT) blocks.</summary>
    public NormPlacement Norm { get => _shape.Norm; set => _shape = _shape with { Norm = value }; }
    /// <summary>Feed-forward non-linearity.</summary>
    public Activation Activation { get => _shape.Activation; set => _shape = _shape with { Activation = value }; }
    /// <summary>Learned position vectors (BERT, GPT-2) or fixed sinusoids ("Attention Is All You Need").</summary>
    public PositionalEncodingKind PositionalEncoding { get => _shape.PositionalEncoding; set => _shape = _shape with { PositionalEncoding = value }; }

    /// <summary>Passes over the training data (tasks that sample their batches at random use <see cref="MaxSteps"/> instead).</summary>
    public int? Epochs { get; set; }
    /// <summary>Optimisation steps at most; null = no limit besides <see cref="Epochs"/>.</summary>
    public int? MaxSteps { get; set; }
    /// <summary>Sequences per step.</summary>
    public int BatchSize { get; set; } = 32;
    /// <summary>Peak learning rate (AdamW): 5e-4 by default; a task that fine-tunes a pretrained encoder says its own default.</summary>
    public float LearningRate { get => _learningRate ?? DefaultLearningRate; set => _learningRate = value; }
    private float? _learningRate;
    /// <summary>The learning rate when none is set.</summary>
    private protected virtual float DefaultLearningRate => 5e-4f;
    /// <summary>Steps of linear warmup from 0 to <see cref="LearningRate"/>; −1 = 6% of all steps.</summary>
    public int WarmupSteps { get; set; } = -1;
    /// <summary>AdamW decoupled weight decay.</summary>
    public float WeightDecay { get; set; } = 0.01f;
    /// <summary>AdamW's β₁, the decay of the gradient's running mean.</summary>
    public float AdamBeta1 { get; set; } = 0.9f;
    /// <summary>AdamW's β₂, the decay of the squared gradient's running mean: 0.999 by default; a task that uses another says so (language model 0.99, translation 0.98).</summary>
    public float AdamBeta2 { get => _adamBeta2 ?? DefaultAdamBeta2; set => _adamBeta2 = value; }
    private float? _adamBeta2;
    /// <summary>β₂ when none is set.</summary>
    private protected virtual float DefaultAdamBeta2 => 0.999f;
    /// <summary>AdamW's ε, added to the root of the squared-gradient mean.</summary>
    public float AdamEpsilon { get; set; } = 1e-8f;
    /// <summary>How the learning rate falls after warmup: linear by default; the language model's default is cosine.</summary>
    public DecayKind LearningRateDecay { get => _decay ?? DefaultDecay; set => _decay = value; }
    private DecayKind? _decay;
    /// <summary>The decay when none is set.</summary>
    private protected virtual DecayKind DefaultDecay => DecayKind.Linear;
    /// <summary>The learning rate at the last step, as a fraction of <see cref="LearningRate"/>: 0 by default (the language model's: 0.1).</summary>
    public float MinLearningRateRatio { get => _minRatio ?? DefaultMinLearningRateRatio; set => _minRatio = value; }
    private float? _minRatio;
    /// <summary>The final fraction when none is set.</summary>
    private protected virtual float DefaultMinLearningRateRatio => 0f;
    /// <summary>Clip the global gradient norm to this (0 = no clipping).</summary>
    public float MaxGradNorm { get; set; } = 1f;
    /// <summary>Seed of weights, batches, masking and dropout: the same seed and data give the same model.</summary>
    public int Seed { get; set; }
    /// <summary>Stop after this long (tokenizer building included), keeping the best weights so far.</summary>
    public TimeSpan? TimeBudget { get; set; }
    /// <summary>Fraction of the training data held out to validate on (what is held out depends on the task).</summary>
    public double ValidationFraction { get; set; } = 0.1;
    /// <summary>Stop after this many epochs without validation improvement (0 = never stop early; null = the task's choice).</summary>
    public int? EarlyStoppingPatience { get; set; }
    /// <summary>Also validate (and keep the best weights) every this many steps (0 = only at epoch ends).</summary>
    public int ValidateEverySteps { get; set; }
    /// <summary>Report loss and tokens/s every this many steps (0 = only with validations and at epoch ends).</summary>
    public int ReportEverySteps { get; set; } = 100;
    /// <summary>Stops training within one step, keeping the best weights so far.</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid setting.</summary>
    internal virtual void Validate()
    {
        Positive(Layers, nameof(Layers)); Positive(ModelDim, nameof(ModelDim)); Positive(Heads, nameof(Heads));
        Positive(FeedForwardDim, nameof(FeedForwardDim)); Positive(BatchSize, nameof(BatchSize));
        if (Epochs is { } e) Positive(e, nameof(Epochs));
        if (MaxSteps is { } s) Positive(s, nameof(MaxSteps));
        if (ModelDim % Heads != 0) throw new ArgumentOutOfRangeException(nameof(Heads), Heads, $"Heads must divide ModelDim ({ModelDim}).");
        if (!(Dropout >= 0f && Dropout < 1f)) throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, "Dropout must be in [0, 1).");
        if (!Enum.IsDefined(Norm)) throw new ArgumentOutOfRangeException(nameof(Norm), Norm, "Unknown norm placement.");
        if (!Enum.IsDefined(Activation)) throw new ArgumentOutOfRangeException(nameof(Activation), Activation, "Unknown activation.");
        if (!Enum.IsDefined(PositionalEncoding)) throw new ArgumentOutOfRangeException(nameof(PositionalEncoding), PositionalEncoding, "Unknown positional encoding.");
        if (!(LearningRate > 0f) || float.IsInfinity(LearningRate)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "LearningRate must be positive.");
        if (WarmupSteps < -1) throw new ArgumentOutOfRangeException(nameof(WarmupSteps), WarmupSteps, "WarmupSteps must be −1 (6% of the steps) or a non-negative count.");
        if (!(WeightDecay >= 0f)) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "WeightDecay must be non-negative.");
        if (!(AdamBeta1 >= 0f && AdamBeta1 < 1f)) throw new ArgumentOutOfRangeException(nameof(AdamBeta1), AdamBeta1, "AdamBeta1 must be in [0, 1).");
        if (!(AdamBeta2 >= 0f && AdamBeta2 < 1f)) throw new ArgumentOutOfRangeException(nameof(AdamBeta2), AdamBeta2, "AdamBeta2 must be in [0, 1).");
        if (!(AdamEpsilon > 0f) || float.IsInfinity(AdamEpsilon)) throw new ArgumentOutOfRangeException(nameof(AdamEpsilon), AdamEpsilon, "AdamEpsilon must be positive.");
        if (!Enum.IsDefined(LearningRateDecay)) throw new ArgumentOutOfRangeException(nameof(LearningRateDecay), LearningRateDecay, "Unknown learning-rate decay.");
        if (!(MinLearningRateRatio >= 0f && MinLearningRateRatio <= 1f)) throw new ArgumentOutOfRangeException(nameof(MinLearningRateRatio), MinLearningRateRatio, "MinLearningRateRatio must be in [0, 1].");
        if (!(MaxGradNorm >= 0f)) throw new ArgumentOutOfRangeException(nameof(MaxGradNorm), MaxGradNorm, "MaxGradNorm must be non-negative (0 = no clipping).");
        if (!(ValidationFraction >= 0 && ValidationFraction < MaxValidationFraction))
            throw new ArgumentOutOfRangeException(nameof(ValidationFraction), ValidationFraction, $"ValidationFraction must be in [0, {MaxValidationFraction}).");
        if (EarlyStoppingPatience is < 0) throw new ArgumentOutOfRangeException(nameof(EarlyStoppingPatience), EarlyStoppingPatience, "EarlyStoppingPatience must be non-negative.");
        if (ValidateEverySteps < 0) throw new ArgumentOutOfRangeException(nameof(ValidateEverySteps), ValidateEverySteps, "ValidateEverySteps must be non-negative.");
        if (ReportEverySteps < 0) throw new ArgumentOutOfRangeException(nameof(ReportEverySteps), ReportEverySteps, "ReportEverySteps must be non-negative.");
        if (TimeBudget is { } t && t <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(TimeBudget), t, "TimeBudget must be positive.");
        (Tokenizer ?? throw new ArgumentNullException(nameof(Tokenizer))).Validate();
    }

    /// <summary>Upper bound (exclusive) of <see cref="ValidationFraction"/>.</summary>
    private protected virtual double MaxValidationFraction => 1;

    /// <summary>Throws unless <paramref name="value"/> is positive.</summary>
    private protected static void Positive(int value, string name)
    {
        if (value <= 0) throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive.");
    }

    /// <summary>The model's shape from these options, for a vocabulary and a sequence length.</summary>
    internal TransformerConfig ModelConfig(int vocabularySize, int maxLength) => _shape with { VocabSize = vocabularySize, MaxLength = maxLength };

    /// <summary>Warmup steps for a run of <paramref name="totalSteps"/>: <see cref="WarmupSteps"/>, or 6% of them.</summary>
    internal int WarmupFor(long totalSteps) => WarmupSteps >= 0 ? WarmupSteps : (int)Math.Max(1, totalSteps * 0.06);

    /// <summary>The optimizer and schedule of these options.</summary>
    internal TrainerOptions Optimization(int warmupSteps, long totalSteps) => new()
    {
        LearningRate = LearningRate, WarmupSteps = warmupSteps, TotalSteps = (int)Math.Min(totalSteps, int.MaxValue), Decay = LearningRateDecay,
        MinLearningRateRatio = MinLearningRateRatio, MaxGradNorm = MaxGradNorm,
        AdamW = new AdamWOptions { WeightDecay = WeightDecay, Beta1 = AdamBeta1, Beta2 = AdamBeta2, Epsilon = AdamEpsilon },
    };
}
