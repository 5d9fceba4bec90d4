using MLNetTransformers.Tokenization;
using MLNetTransformers.Training;

namespace MLNetTransformers.Cli;

/// <summary>
/// The flags of the model shape, the schedule and the tokenizer that <c>train</c> and <c>train-lm</c> share. Their defaults
/// are read from the task's options object (never restated here), and a setting the library refuses is reported
/// under its flag.
/// </summary>
internal sealed class TrainingFlags
{
    private readonly List<(Option Flag, string Property, Action<ParseResult, TransformerTrainingOptions> Apply)> _flags = new();
    private Option? _tokenizer;

    /// <summary>The tokens-per-text flag, when the command has one.</summary>
    public Option<int>? MaxTokens { get; private set; }

    /// <summary>Declares the shared flags with the defaults of <paramref name="defaults"/>.</summary>
    /// <param name="defaults">A fresh options object of the task.</param>
    /// <param name="tokenizers">The tokenizer kinds the command accepts, its default first.</param>
    /// <param name="maxTokensFlag">The flag that sets the tokenizer's length (null when the task sets it from another flag).</param>
    public TrainingFlags(TransformerTrainingOptions defaults, string[] tokenizers, string? maxTokensFlag)
    {
        var d = defaults;
        Int("--layers", "Transformer blocks", nameof(d.Layers), d.Layers, (o, v) => o.Layers = v);
        Int("--dim", "d_model", nameof(d.ModelDim), d.ModelDim, (o, v) => o.ModelDim = v);
        Int("--heads", "Attention heads (must divide --dim)", nameof(d.Heads), d.Heads, (o, v) => o.Heads = v);
        Int("--ffn", "Feed-forward hidden size", nameof(d.FeedForwardDim), d.FeedForwardDim, (o, v) => o.FeedForwardDim = v);
        Number("--dropout", "Dropout probability", nameof(d.Dropout), d.Dropout, (o, v) => o.Dropout = (float)v);
        Int("--batch-size", "Sequences per step", nameof(d.BatchSize), d.BatchSize, (o, v) => o.BatchSize = v);
        Number("--lr", "Peak learning rate", nameof(d.LearningRate), d.LearningRate, (o, v) => o.LearningRate = (float)v);
        Int("--warmup", "Warmup steps (-1 = 6% of the steps)", nameof(d.WarmupSteps), d.WarmupSteps, (o, v) => o.WarmupSteps = v);
        Number("--weight-decay", "AdamW weight decay", nameof(d.WeightDecay), d.WeightDecay, (o, v) => o.WeightDecay = (float)v);
        Number("--clip", "Clip the gradient norm to this (0 = no clipping)", nameof(d.MaxGradNorm), d.MaxGradNorm, (o, v) => o.MaxGradNorm = (float)v);
        Int("--seed", "Seed of weights, batches and dropout", nameof(d.Seed), d.Seed, (o, v) => o.Seed = v);
        Choice("--norm", "Norm placement", nameof(d.Norm), d.Norm, (o, v) => o.Norm = v);
        Choice("--positions", "Positional encoding", nameof(d.PositionalEncoding), d.PositionalEncoding, (o, v) => o.PositionalEncoding = v);
        var budget = CliOption.Seconds("--time-budget", "Stop training after this long, keeping the best weights");
        Add(budget, nameof(d.TimeBudget), (r, o) => o.TimeBudget = r.GetValue(budget));

        var kind = CliOption.Choice("--tokenizer", "Tokenizer", tokenizers[0], tokenizers);
        var t = d.Tokenizer;
        var vocab = CliOption.Int("--vocab", "Learned vocabulary size", t.VocabularySize);
        var vocabFile = CliOption.Text("--vocab-file", "vocab.txt (wordpiece), vocab.json (bpe), a SentencePiece .model, or a Hugging Face tokenizer.json of the --tokenizer kind");
        var merges = CliOption.Text("--merges-file", "merges.txt (bpe)");
        var encoding = CliOption.Choice("--tiktoken-encoding", "Tiktoken encoding", t.TiktokenEncoding, "cl100k_base", "o200k_base");
        var maxTokens = maxTokensFlag is null ? null : CliOption.Int(maxTokensFlag, "Tokens per text, [CLS] and [SEP] included", t.MaxTokens);
        MaxTokens = maxTokens;
        _tokenizer = kind;
        Add(kind, nameof(t.Kind), (r, o) => o.Tokenizer = new TokenizerOptions
        {
            Kind = Enum.Parse<TokenizerKind>(r.GetValue(kind)!, ignoreCase: true), VocabularySize = r.GetValue(vocab),
            VocabularyFile = r.GetValue(vocabFile), MergesFile = r.GetValue(merges), TiktokenEncoding = r.GetValue(encoding)!,
            MaxTokens = maxTokens is null ? t.MaxTokens : r.GetValue(maxTokens), LowerCase = t.LowerCase, MinFrequency = t.MinFrequency,
        });
        Add(vocab, nameof(t.VocabularySize), (_, _) => { });
        Add(vocabFile, nameof(t.VocabularyFile), (_, _) => { });
        Add(merges, nameof(t.MergesFile), (_, _) => { });
        Add(encoding, nameof(t.TiktokenEncoding), (_, _) => { });
        if (maxTokens is not null) Add(maxTokens, nameof(t.MaxTokens), (_, _) => { });
    }

    /// <summary>Adds the flags to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (var (flag, _, _) in _flags) command.Options.Add(flag);
    }

    /// <summary>Sets <paramref name="options"/> from the parsed flags (defaults included).</summary>
    public void Apply(ParseResult result, TransformerTrainingOptions options)
    {
        // Only flags given on the command line are applied: the others keep the options' own defaults, which may depend
        // on other settings (fine-tuning a pretrained encoder has its own learning rate). The tokenizer is built from its
        // flags together.
        foreach (var (flag, _, apply) in _flags)
            if (flag == _tokenizer || result.GetResult(flag) is { Implicit: false }) apply(result, options);
    }

    /// <summary>Declares one more flag for a task setting (so its refusal is reported under the flag).</summary>
    public void Add(Option flag, string property, Action<ParseResult, TransformerTrainingOptions> apply) => _flags.Add((flag, property, apply));

    /// <summary>
    /// Runs <paramref name="create"/> (which validates the options); a setting it refuses becomes a usage error naming
    /// the flag and the value.
    /// </summary>
    public T Validated<T>(Func<T> create)
    {
        try { return create(); }
        catch (ArgumentOutOfRangeException e) when (_flags.FirstOrDefault(f => f.Property == e.ParamName).Flag is { } flag)
        {
            throw new UsageException($"{flag.Name}: {e.Message}");
        }
    }

    private void Int(string name, string description, string property, int defaultValue, Action<TransformerTrainingOptions, int> set)
    {
        var o = CliOption.Int(name, description, defaultValue);
        Add(o, property, (r, opts) => set(opts, r.GetValue(o)));
    }

    private void Number(string name, string description, string property, double defaultValue, Action<TransformerTrainingOptions, double> set)
    {
        // A float default shows as its shortest decimal (0.1, not 0.10000000149011612).
        var o = CliOption.Number(name, description, double.Parse(((float)defaultValue).ToString(System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture));
        Add(o, property, (r, opts) => set(opts, r.GetValue(o)));
    }

    private void Choice<TEnum>(string name, string description, string property, TEnum defaultValue, Action<TransformerTrainingOptions, TEnum> set)
        where TEnum : struct, Enum
    {
        var o = CliOption.Choice(name, description, defaultValue.ToString().ToLowerInvariant(), Enum.GetNames<TEnum>().Select(n => n.ToLowerInvariant()).ToArray());
        Add(o, property, (r, opts) => set(opts, Enum.Parse<TEnum>(r.GetValue(o)!, ignoreCase: true)));
    }
}
