namespace MLNetTransformers.LanguageModeling;

/// <summary>
/// Trains a GPT-style causal language model: tokenizer (character-level by default), then next-token
/// cross-entropy on random windows of the packed corpus (documents joined by [SEP]), reporting validation loss
/// and perplexity on the held-out end of the stream and keeping the best weights. The fitted transformer generates
/// text from a prompt column. Created by <c>mlContext.Transforms.Text.TrainLanguageModel</c>.
/// </summary>
public sealed class LanguageModelEstimator : TransformerTrainer<LanguageModelOptions, LanguageModelTransformer>
{
    internal LanguageModelEstimator(LanguageModelOptions options, IChannelProvider? log) : base(options, log) { }

    /// <summary>Trains on the documents of the text column.</summary>
    /// <param name="input">Data whose text column holds the training documents.</param>
    public override LanguageModelTransformer Fit(IDataView input)
    {
        var col = TokenizerTransformer.RequireText(input.Schema, Options.TextColumnName);
        return Train(TextColumn.Read(input, col).ToList(), Options, Log);
    }

    /// <summary>Trains on a whole text file (one document).</summary>
    /// <param name="path">A UTF-8 text file, read as one document.</param>
    public LanguageModelTransformer FitFile(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Text file '{path}' does not exist.", path);
        return Train(new[] { File.ReadAllText(path) }, Options, Log);
    }

    // The generator's columns (Prompt → Generated) apply to prompt data, not to the corpus.
    private protected override SchemaShape OutputSchema(SchemaShape inputSchema) => inputSchema;

    /// <summary>Trains on a list of documents, without an IDataView.</summary>
    /// <param name="documents">The training documents (null or empty ones are skipped).</param>
    /// <param name="options">Tokenizer, model shape and schedule.</param>
    /// <param name="log">ML.NET's channel provider for log messages (null = no log).</param>
    public static LanguageModelTransformer Train(IReadOnlyList<string?> documents, LanguageModelOptions options, IChannelProvider? log = null)
    {
        var o = options ?? throw new ArgumentNullException(nameof(options));
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

        var config = o.ModelConfig(tokenizer.VocabularySize, T);
        var model = new TransformerLanguageModel(config, (ulong)o.Seed);
        var loop = new TrainingLoop(model, new TrainingLoopOptions
        {
            Optimization = o.Optimization(o.WarmupSteps, o.MaxSteps!.Value),
            MaxSteps = o.MaxSteps!.Value, TimeBudget = o.TimeBudget, FitScheduleToTimeBudget = true, ElapsedBefore = clock.Elapsed,
            // Reports come with each validation; ReportEverySteps adds reports between them (and without validation data
            // they come every ValidateEverySteps unless it is set).
            ValidateEachEpoch = false, ValidateEverySteps = o.ValidateEverySteps,
            ReportEverySteps = o.ReportEverySteps > 0 ? o.ReportEverySteps : valid.Length >= 2 ? 0 : o.ValidateEverySteps,
            Cancellation = o.CancellationToken,
        });
        int B = o.BatchSize;
        var ids = new int[B * T];
        var targets = new int[B * T];
        // Batches: random windows of the training stream, each step's from its own seed.
        IEnumerable<TrainingBatch> Windows(int epoch)
        {
            for (long i = 0; ; i++)
            {
                var rng = DeterministicRandom.Derive((ulong)o.Seed, (ulong)i + 77);
                var span = train.Span;
                for (int b = 0; b < B; b++)
                {
                    int s = rng.NextInt(trainLen - T - 1);
                    span.Slice(s, T).CopyTo(ids.AsSpan(b * T, T));
                    span.Slice(s + 1, T).CopyTo(targets.AsSpan(b * T, T));
                }
                yield return new TrainingBatch(new TokenBatch(B, T, ids, labels: targets), (long)B * T);
            }
        }
        Func<ValidationScore>? validate = valid.Length >= 2 ? () => new ValidationScore(Corpus.Loss(model, valid.Span, T, o.ValidationWindows)) : null;
        var progress = TrainingReports.To(o.Progress, ch, r =>
            TrainingProgress.From(r, null, epochs: false));
        Action<long>? checkpoint = o.CheckpointPath is { } path ? _ => new LanguageModelTransformer(tokenizer, model, o).Save(path) : null;
        var outcome = loop.Run(Windows, validate, progress, checkpoint);
        long step = outcome.Steps;
        string stop = outcome.StopReason;
        double bestLoss = outcome.Best?.Loss ?? double.PositiveInfinity;
        var summary = new LanguageModelSummary(step, stop, double.IsInfinity(bestLoss) ? null : bestLoss, clock.Elapsed);
        ch?.Info(MessageSensitivity.None, $"Training finished after {step} steps ({stop}); best validation loss {summary.BestValidationLoss:F4}.");
        return new LanguageModelTransformer(tokenizer, model, o) { TrainingSummary = summary };
    }
}
