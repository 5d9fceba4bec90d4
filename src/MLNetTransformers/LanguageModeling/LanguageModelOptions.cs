using MLNetTransformers.Core.Kernels;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Tokenization;

namespace MLNetTransformers.LanguageModeling;

/// <summary>Options of the causal language-model trainer (<c>mlContext.Transforms.Text.TrainLanguageModel</c>).</summary>
public sealed class LanguageModelOptions
{
    /// <summary>Text column of the training data (each row a document).</summary>
    public string TextColumnName { get; set; } = "Text";
    /// <summary>Prompt column the fitted generator reads.</summary>
    public string PromptColumnName { get; set; } = "Prompt";
    /// <summary>Column the fitted generator writes.</summary>
    public string GeneratedColumnName { get; set; } = "Generated";

    /// <summary>Tokenizer; character-level by default (learned, BPE, WordPiece and Tiktoken work too).</summary>
    public TokenizerOptions Tokenizer { get; set; } = new() { Kind = TokenizerKind.Character };
    /// <summary>Context length (tokens per training sequence, and positions of the model).</summary>
    public int ContextLength { get; set; } = 128;
    /// <summary>Decoder blocks.</summary>
    public int Layers { get; set; } = 4;
    /// <summary>d_model.</summary>
    public int ModelDim { get; set; } = 128;
    /// <summary>Attention heads.</summary>
    public int Heads { get; set; } = 4;
    /// <summary>Feed-forward hidden size.</summary>
    public int FeedForwardDim { get; set; } = 512;
    /// <summary>Dropout probability.</summary>
    public float Dropout { get; set; } = 0.1f;
    /// <summary>Feed-forward activation.</summary>
    public Activation Activation { get; set; } = Activation.Gelu;

    /// <summary>Sequences per step.</summary>
    public int BatchSize { get; set; } = 32;
    /// <summary>Optimisation steps (each a batch of random windows of the corpus).</summary>
    public int MaxSteps { get; set; } = 2000;
    /// <summary>Peak learning rate.</summary>
    public float LearningRate { get; set; } = 1e-3f;
    /// <summary>Linear warmup steps, then cosine decay to 10% at <see cref="MaxSteps"/>.</summary>
    public int WarmupSteps { get; set; } = 100;
    /// <summary>AdamW decoupled weight decay.</summary>
    public float WeightDecay { get; set; } = 0.1f;
    /// <summary>Seed of weights, batches and dropout.</summary>
    public int Seed { get; set; }
    /// <summary>Fraction of the token stream held out (its end) for validation loss and perplexity.</summary>
    public double ValidationFraction { get; set; } = 0.1;
    /// <summary>Evaluate the validation loss (keeping the best weights) every this many steps.</summary>
    public int EvaluateEverySteps { get; set; } = 200;
    /// <summary>Validation windows per evaluation (spread evenly over the held-out stream).</summary>
    public int ValidationWindows { get; set; } = 64;
    /// <summary>Stop after this long, keeping the best weights so far.</summary>
    public TimeSpan? TimeBudget { get; set; }
    /// <summary>Write a checkpoint of the best weights here at each improvement (atomically).</summary>
    public string? CheckpointPath { get; set; }
    /// <summary>Receives training loss, tokens/s, validation loss and perplexity.</summary>
    public IProgress<LanguageModelTrainingProgress>? Progress { get; set; }
    /// <summary>Stops training within one step, keeping the best weights so far.</summary>
    public System.Threading.CancellationToken CancellationToken { get; set; }

    /// <summary>Generation settings of the fitted transformer.</summary>
    public GenerationOptions Generation { get; set; } = new() { MaxNewTokens = 100, Temperature = 0.8f, TopK = 40 };
    /// <summary>Generation stops before any of these strings (not included in the output).</summary>
    public IReadOnlyList<string> StopSequences { get; set; } = Array.Empty<string>();

    internal void Validate()
    {
        void Positive(int v, string name) { if (v <= 0) throw new ArgumentOutOfRangeException(name, v, $"{name} must be positive."); }
        Positive(ContextLength, nameof(ContextLength)); Positive(Layers, nameof(Layers)); Positive(ModelDim, nameof(ModelDim));
        Positive(Heads, nameof(Heads)); Positive(FeedForwardDim, nameof(FeedForwardDim)); Positive(BatchSize, nameof(BatchSize));
        Positive(MaxSteps, nameof(MaxSteps)); Positive(EvaluateEverySteps, nameof(EvaluateEverySteps)); Positive(ValidationWindows, nameof(ValidationWindows));
        if (ModelDim % Heads != 0) throw new ArgumentOutOfRangeException(nameof(Heads), Heads, $"Heads must divide ModelDim ({ModelDim}).");
        if (!(LearningRate > 0f)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "LearningRate must be positive.");
        if (!(Dropout >= 0f && Dropout < 1f)) throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, "Dropout must be in [0, 1).");
        if (!(ValidationFraction >= 0 && ValidationFraction < 0.9)) throw new ArgumentOutOfRangeException(nameof(ValidationFraction), ValidationFraction, "ValidationFraction must be in [0, 0.9).");
        if (WarmupSteps < 0) throw new ArgumentOutOfRangeException(nameof(WarmupSteps), WarmupSteps, "WarmupSteps must be non-negative.");
        Generation.Validate();
    }
}

/// <summary>A progress report of language-model training.</summary>
/// <param name="Step">Steps done.</param>
/// <param name="MaxSteps">Steps planned.</param>
/// <param name="TrainLoss">Mean training loss (nats/token) since the previous report.</param>
/// <param name="TokensPerSecond">Training throughput since the previous report.</param>
/// <param name="ValidationLoss">Held-out loss (nats/token), when evaluated.</param>
/// <param name="Elapsed">Time since training started.</param>
public readonly record struct LanguageModelTrainingProgress(long Step, long MaxSteps, float TrainLoss, double TokensPerSecond, double? ValidationLoss, TimeSpan Elapsed)
{
    /// <summary>exp(validation loss).</summary>
    public double? ValidationPerplexity => ValidationLoss is { } l ? Math.Exp(l) : null;

    /// <summary>One line for logs and the CLI.</summary>
    public override string ToString() =>
        $"step {Step}/{MaxSteps} loss {TrainLoss:F4} {TokensPerSecond:F0} tok/s" +
        (ValidationLoss is { } v ? $" val_loss {v:F4} val_ppl {Math.Exp(v):F2}" : "") + $" [{Elapsed:hh\\:mm\\:ss}]";
}
