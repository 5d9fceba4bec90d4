namespace MLNetTransformers.LanguageModeling;

/// <summary>Options of the causal language-model trainer (<c>mlContext.Transforms.Text.TrainLanguageModel</c>).</summary>
public sealed class LanguageModelOptions : TransformerTrainingOptions
{
    /// <summary>
    /// Creates the options. Where a language model wants other defaults than <see cref="TransformerTrainingOptions"/>'s:
    /// a character tokenizer, 4 layers, learning rate 1e-3 with 100 warmup steps then cosine decay (<see cref="TransformerTrainingOptions.LearningRateDecay"/>) to 10%
    /// (<see cref="TransformerTrainingOptions.MinLearningRateRatio"/>) at
    /// <see cref="TransformerTrainingOptions.MaxSteps"/> (2,000), weight decay 0.1, AdamW β₂ 0.99, validation every 200 steps.
    /// Batches are random windows of the corpus, so <see cref="TransformerTrainingOptions.Epochs"/> does not apply.
    /// </summary>
    public LanguageModelOptions()
    {
        Tokenizer = new() { Kind = TokenizerKind.Character };
        Layers = 4;
        MaxSteps = 2000;
        LearningRate = 1e-3f;
        WarmupSteps = 100;
        WeightDecay = 0.1f;
        ValidateEverySteps = 200;
        ReportEverySteps = 0;
    }

    /// <summary>Prompt column the fitted generator reads.</summary>
    public string PromptColumnName { get; set; } = DefaultColumnNames.Prompt;
    /// <summary>Column the fitted generator writes.</summary>
    public string GeneratedColumnName { get; set; } = DefaultColumnNames.Generated;

    /// <summary>Context length (tokens per training sequence, and positions of the model); the tokenizer's MaxTokens is set to it.</summary>
    public int ContextLength { get; set; } = 128;
    /// <summary>Old name of <see cref="TransformerTrainingOptions.ValidateEverySteps"/>.</summary>
    [Obsolete("Use ValidateEverySteps.")]
    public int EvaluateEverySteps { get => ValidateEverySteps; set => ValidateEverySteps = value; }
    /// <summary>Validation windows per evaluation (spread evenly over the held-out end of the stream).</summary>
    public int ValidationWindows { get; set; } = 64;
    /// <summary>Write a checkpoint of the best weights here at each improvement (atomically).</summary>
    public string? CheckpointPath { get; set; }
    /// <summary>Receives training loss, tokens/s, validation loss and perplexity.</summary>
    public IProgress<TrainingProgress>? Progress { get; set; }

    /// <summary>Generation settings of the fitted transformer.</summary>
    public GenerationOptions Generation { get; set; } = new() { MaxNewTokens = 100, Temperature = 0.8f, TopK = 40 };
    /// <summary>Generation stops before any of these strings (not included in the output).</summary>
    public IReadOnlyList<string> StopSequences { get; set; } = Array.Empty<string>();

    private protected override double MaxValidationFraction => 0.9;
    private protected override DecayKind DefaultDecay => DecayKind.Cosine;
    private protected override float DefaultMinLearningRateRatio => 0.1f;
    private protected override float DefaultAdamBeta2 => 0.99f;

    internal override void Validate()
    {
        base.Validate();
        Positive(ContextLength, nameof(ContextLength)); Positive(ValidationWindows, nameof(ValidationWindows));
        if (MaxSteps is null) throw new ArgumentOutOfRangeException(nameof(MaxSteps), MaxSteps, "MaxSteps must be set: the language model trains on random windows, not epochs.");
        if (Epochs is not null) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "Epochs does not apply to the language model (it trains on random windows of the corpus); set MaxSteps.");
        if (EarlyStoppingPatience is not null)
            throw new ArgumentOutOfRangeException(nameof(EarlyStoppingPatience), EarlyStoppingPatience, "EarlyStoppingPatience does not apply to the language model (it has no epochs; it keeps the weights of the best validation loss and trains for MaxSteps or TimeBudget).");
        if (ValidateEverySteps <= 0) throw new ArgumentOutOfRangeException(nameof(ValidateEverySteps), ValidateEverySteps, "ValidateEverySteps must be positive.");
        if (WarmupSteps < 0) throw new ArgumentOutOfRangeException(nameof(WarmupSteps), WarmupSteps, "WarmupSteps must be non-negative.");
        if (ContextLength > TokenizerOptions.MaxTokensLimit)
            throw new ArgumentOutOfRangeException(nameof(ContextLength), ContextLength, $"ContextLength must be at most {TokenizerOptions.MaxTokensLimit:N0}.");
        Generation.Validate();
    }
}
