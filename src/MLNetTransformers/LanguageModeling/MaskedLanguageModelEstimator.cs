using MLNetTransformers.Classification;
using MLNetTransformers.Featurization;

namespace MLNetTransformers.LanguageModeling;

/// <summary>
/// Pretrains a transformer encoder by masked language modelling on unlabelled text. Fit returns an
/// <see cref="EncoderFeaturizerTransformer"/> (text → sentence embedding); to fine-tune for classification, pass its
/// <c>Encoder</c> and <c>Tokenizer</c> as <see cref="TransformerClassifierOptions.InitialModel"/> and
/// <see cref="TransformerClassifierOptions.PretrainedTokenizer"/>.
/// </summary>
public sealed class MaskedLanguageModelEstimator : TransformerTrainer<MaskedLanguageModelOptions, EncoderFeaturizerTransformer>
{
    internal MaskedLanguageModelEstimator(MaskedLanguageModelOptions options, IChannelProvider? log) : base(options, log) { }

    private protected override SchemaShape OutputSchema(SchemaShape inputSchema) => SchemaShapeColumns.Extend(inputSchema,
        new[] { new Microsoft.ML.DataViewSchema.DetachedColumn(Options.OutputColumnName, new Microsoft.ML.Data.VectorDataViewType(Microsoft.ML.Data.NumberDataViewType.Single, Options.ModelDim)) });

    /// <summary>Learns the tokenizer and pretrains the encoder on the text column.</summary>
    /// <param name="input">Data whose text column holds the unlabelled text.</param>
    public override EncoderFeaturizerTransformer Fit(IDataView input)
    {
        var o = Options;
        using var ch = Log?.Start("MaskedLanguageModel");
        var col = TokenizerTransformer.RequireText(input.Schema, o.TextColumnName);
        var texts = TextColumn.Read(input, col).ToList();
        if (texts.All(string.IsNullOrWhiteSpace)) throw new ArgumentException($"Text column '{o.TextColumnName}' holds no text to pretrain on.");
        var clock = Stopwatch.StartNew();
        var tokenizer = o.Tokenizer.Build(() => texts);
        int maskId = tokenizer.RequireMaskId("masked-LM pretraining");
        var data = new EncodedTexts(tokenizer, texts);
        var config = o.ModelConfig(tokenizer.VocabularySize, tokenizer.MaxTokens) with { Pooling = o.Pooling };
        // Next-sentence prediction: BERT's pooler over [CLS] and segment embeddings for A and B.
        if (o.NextSentencePrediction) config = config with { Pooler = true, NextSentenceHead = true, TypeVocabSize = Math.Max(2, config.TypeVocabSize) };
        var pairs = o.NextSentencePrediction ? SentencePairs.From(texts, tokenizer, o.TextColumnName) : null;
        int maxSteps = o.MaxSteps!.Value;
        var model = new MaskedLanguageModel(config, (ulong)o.Seed);
        // With a time budget the number of steps is unknown until the first steps are timed: start with a short warmup;
        // the loop then fits the warmup (6%) and the decay to the steps the budget allows.
        bool budgeted = o.TimeBudget is not null;
        int warmup = budgeted && o.WarmupSteps < 0 ? 20 : o.WarmupFor(maxSteps);
        var loop = new TrainingLoop(model, new TrainingLoopOptions
        {
            Optimization = o.Optimization(warmup, maxSteps),
            Epochs = int.MaxValue, MaxSteps = maxSteps, TimeBudget = o.TimeBudget, FitScheduleToTimeBudget = true,
            FittedWarmupFraction = o.WarmupSteps < 0 ? 0.06f : null, ElapsedBefore = clock.Elapsed,
            ValidateEachEpoch = false, ReportEverySteps = o.ReportEverySteps, Cancellation = o.CancellationToken,
        });
        var specials = new HashSet<int> { tokenizer.ClsId, tokenizer.SepId, tokenizer.PadId, maskId };
        int batchSize = Math.Min(o.BatchSize, pairs?.Count ?? data.Count);
        var batcher = new Batcher(data, Enumerable.Repeat(0, data.Count).ToList(), batchSize, (ulong)o.Seed);
        var targets = new int[o.BatchSize * tokenizer.MaxTokens];
        long step = 0;
        // Next-sentence statistics of each step, read from the model once the step is done.
        var nsp = new List<(float Loss, int Correct, int Total)>();
        double reportedLoss = 0; int reportedCorrect = 0, reportedTotal = 0, reportedSteps = 0;
        void Account(long done)
        {
            while (pairs is not null && nsp.Count < done)
            {
                nsp.Add((model.LastLosses.NextSentence, model.LastNextSentence.Correct, model.LastNextSentence.Total));
                (reportedLoss, reportedCorrect, reportedTotal, reportedSteps) = (reportedLoss + model.LastLosses.NextSentence, reportedCorrect + model.LastNextSentence.Correct,
                    reportedTotal + model.LastNextSentence.Total, reportedSteps + 1);
            }
        }
        // Batches: shuffled epochs, each batch masked BERT's way with its step's own seed.
        IEnumerable<TrainingBatch> Masked(int epoch)
        {
            var source = pairs is null ? batcher.Epoch(epoch) : pairs.Epoch(epoch, batchSize, (ulong)o.Seed);
            foreach (var item in source)
            {
                Account(step);
                var b = item.Tokens;
                var rng = DeterministicRandom.Derive((ulong)o.Seed, (ulong)step++ + 991);
                MaskedLanguageModel.Mask(b.Ids, b.AttentionMask, targets, b.BatchSize, b.SeqLen, specials, maskId, tokenizer.VocabularySize, ref rng, o.MaskProbability);
                yield return new TrainingBatch(new TokenBatch(b.BatchSize, b.SeqLen, b.Ids, b.AttentionMask, targets)
                {
                    TokenTypeIds = b.TokenTypeIds, NextSentenceLabels = b.NextSentenceLabels,
                }, item.RealTokens);
            }
        }
        var progress = TrainingReports.To(o.Progress, ch, r =>
        {
            Account(r.Step);
            var report = TrainingProgress.From(r, null, epochs: false);
            if (pairs is not null && reportedTotal > 0)
                report = report with { NextSentenceLoss = reportedLoss / reportedSteps, NextSentenceAccuracy = (double)reportedCorrect / reportedTotal };
            (reportedLoss, reportedCorrect, reportedTotal, reportedSteps) = (0, 0, 0, 0);
            return report;
        });
        var outcome = loop.Run(Masked, progress: progress);
        (step, string stop) = (outcome.Steps, outcome.StopReason);
        Account(step);
        double? nspAccuracy = null;
        if (pairs is not null && nsp.Count > 0)
        {
            var tail = nsp.Skip(nsp.Count - Math.Max(1, nsp.Count / 10)).ToList();
            nspAccuracy = (double)tail.Sum(x => x.Correct) / tail.Sum(x => x.Total);
            ch?.Info(MessageSensitivity.None, $"Next-sentence accuracy over the last {tail.Count} steps: {nspAccuracy:P1}.");
        }
        ch?.Info(MessageSensitivity.None, $"Pretraining finished after {step} steps ({stop}).");
        var encoder = model.Encoder.Copy();
        return new EncoderFeaturizerTransformer(tokenizer, encoder, o.TextColumnName, o.OutputColumnName)
        {
            PretrainingSummary = new LanguageModelSummary(step, stop, null, clock.Elapsed) { NextSentenceAccuracy = nspAccuracy }, MaskedLanguageModel = model,
        };
    }
}
