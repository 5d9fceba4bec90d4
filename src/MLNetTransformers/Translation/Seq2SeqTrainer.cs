namespace MLNetTransformers.Translation;

/// <summary>
/// Trains an encoder-decoder (the transformer, <see cref="TransformerSeq2Seq"/>, or a GRU one, <see cref="RnnSeq2Seq"/>) from a source and a target text column
/// through the one training loop: pairs shuffled and batched by length, next-token cross-entropy with label
/// smoothing, validation loss on held-out pairs (early stopping, best weights). Created by
/// <c>mlContext.Transforms.Text.TrainSeq2Seq</c>.
/// </summary>
public sealed class Seq2SeqTrainer : TransformerTrainer<Seq2SeqOptions, Seq2SeqTransformer>
{
    internal Seq2SeqTrainer(Seq2SeqOptions options, IChannelProvider? log) : base(options, log) { }

    private protected override SchemaShape OutputSchema(SchemaShape inputSchema)
    {
        SchemaShapeColumns.RequireText(inputSchema, Options.TargetColumnName);
        return SchemaShapeColumns.Extend(inputSchema, new[] { new DataViewSchema.DetachedColumn(Options.OutputColumnName, TextDataViewType.Instance) });
    }

    /// <summary>Learns the tokenizer on both columns and trains the model.</summary>
    /// <param name="input">Pairs: the source column and the target column.</param>
    public override Seq2SeqTransformer Fit(IDataView input)
    {
        var o = Options;
        using var ch = Log?.Start("Seq2Seq");
        var clock = Stopwatch.StartNew();
        var sourceColumn = TokenizerTransformer.RequireText(input.Schema, o.TextColumnName);
        var targetColumn = TokenizerTransformer.RequireText(input.Schema, o.TargetColumnName);
        var allSources = TextColumn.Read(input, sourceColumn).ToList();
        var allTargets = TextColumn.Read(input, targetColumn).ToList();
        // A pair with an empty side teaches nothing (or to drop the sentence): such pairs are skipped and counted.
        var kept = Enumerable.Range(0, allSources.Count).Where(i => !string.IsNullOrWhiteSpace(allSources[i]) && !string.IsNullOrWhiteSpace(allTargets[i])).ToArray();
        int skipped = allSources.Count - kept.Length;
        if (skipped > 0) ch?.Warning(MessageSensitivity.None, $"{skipped} of {allSources.Count} pairs have an empty source or target and were skipped.");
        var sources = kept.Select(i => allSources[i]).ToList();
        var targets = kept.Select(i => allTargets[i]).ToList();
        if (sources.Count < 2)
            throw new ArgumentException($"Sequence-to-sequence training needs at least 2 pairs with a non-empty '{o.TextColumnName}' and '{o.TargetColumnName}'; the data has {sources.Count} (of {allSources.Count} rows).");
        // One vocabulary learned from both sides, or one per side.
        var tokenizer = o.Tokenizer.Build(o.SharedVocabulary ? () => sources.Concat(targets) : () => targets);
        var sourceTokenizer = o.SharedVocabulary ? tokenizer : o.Tokenizer.Build(() => sources);
        var src = new EncodedTexts(sourceTokenizer, sources);
        var tgt = new EncodedTexts(tokenizer, targets);
        if (src.Truncated + tgt.Truncated > 0)
            ch?.Warning(MessageSensitivity.None, $"{src.Truncated} source and {tgt.Truncated} target texts have more than {tokenizer.MaxTokens} tokens and were truncated (raise Tokenizer.MaxTokens to keep them whole).");
        var order = Enumerable.Range(0, sources.Count).ToArray();
        DeterministicRandom.Derive((ulong)o.Seed, 31).Shuffle(order.AsSpan());
        int validCount = sources.Count * o.ValidationFraction >= 2 ? (int)(sources.Count * o.ValidationFraction) : 0;
        var valid = order[..validCount];
        var train = order[validCount..];

        bool transformer = o.Architecture == Seq2SeqArchitecture.Transformer;
        var shape = o.ModelConfig(tokenizer.VocabularySize, tokenizer.MaxTokens);
        var config = new Seq2SeqConfig(transformer ? shape : shape with { Heads = 1, Layers = 1 })
        {
            SourceVocabSize = o.SharedVocabulary ? 0 : sourceTokenizer.VocabularySize, TiedEmbeddings = o.TiedEmbeddings, Architecture = o.Architecture,
            Attention = o.Attention, EmbeddingDim = o.EmbeddingDim, EncoderHiddenSize = o.EncoderHiddenSize,
        };
        ISeq2SeqModel model = transformer ? new TransformerSeq2Seq(config, (ulong)o.Seed) : new RnnSeq2Seq(config, (ulong)o.Seed);
        model.LabelSmoothing = o.LabelSmoothing;
        int bs = Math.Min(o.BatchSize, train.Length), stepsPerEpoch = (train.Length + bs - 1) / bs;
        // Epochs: given, or enough for about 3,000 steps; with a time budget the budget decides (the decay is fitted to it).
        int epochs = o.Epochs ?? (o.TimeBudget is null ? Math.Clamp((3000 + stepsPerEpoch - 1) / stepsPerEpoch, 4, 100) : 1000);
        long totalSteps = Math.Min((long)stepsPerEpoch * epochs, o.MaxSteps ?? long.MaxValue);
        var loop = new TrainingLoop(model, new TrainingLoopOptions
        {
            // With a budget the step count is not known yet: warm up as for a few thousand steps until the first fit sets it.
            Optimization = o.Optimization(o.WarmupFor(o.TimeBudget is null ? totalSteps : Math.Min(totalSteps, 3000)), totalSteps),
            FittedWarmupFraction = o.WarmupSteps < 0 ? 0.06f : null,
            Epochs = epochs, MaxSteps = o.MaxSteps ?? long.MaxValue, StepsPerEpoch = stepsPerEpoch, TimeBudget = o.TimeBudget, ElapsedBefore = clock.Elapsed,
            FitScheduleToTimeBudget = true, // with a budget, the decay ends when the budget does
            ValidateEverySteps = o.ValidateEverySteps, ReportEverySteps = o.ReportEverySteps, Patience = o.EarlyStoppingPatience ?? Math.Max(2, epochs / 8),
            Cancellation = o.CancellationToken,
        });
        var batcher = new PairBatcher(src, tgt, bs);
        // Validation: loss on every held-out pair, and greedy BLEU on the first ValidationBleuSentences of them (reported; ties only).
        var bleuRows = valid.Take(o.ValidationBleuSentences).ToArray();
        ValidationScore Validate() => new(batcher.MeanLoss(model, valid),
            bleuRows.Length == 0 ? null : GreedyBleu(model, tokenizer, bleuRows.Select(r => src.Row(r)).ToArray(), bleuRows.Select(r => targets[r] ?? "").ToArray()));
        Func<ValidationScore>? validate = validCount == 0 ? null : Validate;
        var progress = TrainingReports.To(o.Progress, ch, r => TrainingProgress.From(r, "bleu"));
        var outcome = loop.Run(epoch => batcher.Epoch(train, DeterministicRandom.Derive((ulong)o.Seed, (ulong)epoch + 2000)), validate, progress);
        ch?.Info(MessageSensitivity.None, $"Seq2seq training finished after {outcome.Steps} steps ({outcome.StopReason}).");
        return new Seq2SeqTransformer(tokenizer, model, o.TextColumnName, o.OutputColumnName, o.Decoding, o.SharedVocabulary ? null : sourceTokenizer)
        {
            TrainingOutcome = outcome, TruncatedTrainingTexts = (src.Truncated, tgt.Truncated), SkippedEmptyPairs = skipped,
        };
    }

    /// <summary>Corpus BLEU of greedy translations of <paramref name="sources"/> (token ids) against <paramref name="references"/>.</summary>
    private static double GreedyBleu(ISeq2SeqModel model, TextTokenizer tokenizer, int[][] sources, string[] references)
    {
        var outputs = new Seq2SeqDecoder(model.CreateIncrementalDecoder()).Decode(sources, tokenizer.ClsId, tokenizer.SepId, new Seq2SeqDecodingOptions { BeamWidth = 1, BatchSize = 64 });
        return Metrics.TranslationMetrics.Compute(outputs.Select(h => tokenizer.Decode(h[0].Tokens)).ToArray(), references).Bleu;
    }

    /// <summary>Batches of (source, target) pairs: sources as encoded, decoder inputs [CLS] t₁…tₙ, targets t₁…tₙ [SEP].</summary>
    private sealed class PairBatcher(EncodedTexts source, EncodedTexts target, int batchSize)
    {
        private readonly int[] _src = new int[batchSize * source.MaxTokens], _srcMask = new int[batchSize * source.MaxTokens];
        private readonly int[] _tgt = new int[batchSize * target.MaxTokens], _tgtMask = new int[batchSize * target.MaxTokens];
        private readonly int[] _targets = new int[batchSize * target.MaxTokens];

        public IEnumerable<TrainingBatch> Epoch(int[] rows, DeterministicRandom rng)
        {
            var order = (int[])rows.Clone();
            rng.Shuffle(order.AsSpan());
            // Sort within chunks of 50 batches by target length, then shuffle the batches: similar lengths share a batch.
            int chunk = batchSize * 50;
            for (int s = 0; s < order.Length; s += chunk)
                Array.Sort(order, s, Math.Min(chunk, order.Length - s), Comparer<int>.Create((a, b) => target.Lengths[a].CompareTo(target.Lengths[b])));
            var starts = Enumerable.Range(0, (order.Length + batchSize - 1) / batchSize).Select(i => i * batchSize).ToArray();
            rng.Shuffle(starts.AsSpan());
            foreach (int start in starts)
            {
                var batch = Pack(order.AsSpan(start, Math.Min(batchSize, order.Length - start)));
                yield return new TrainingBatch(batch, (long)batch.BatchSize * (batch.SeqLen + batch.Source!.SeqLen));
            }
        }

        public TokenBatch Pack(ReadOnlySpan<int> rows)
        {
            int b = rows.Length, s = 1, t = 1;
            foreach (int r in rows) { s = Math.Max(s, source.Lengths[r]); t = Math.Max(t, target.Lengths[r] - 1); }
            for (int i = 0; i < b; i++)
            {
                int r = rows[i], ls = source.Lengths[r], lt = target.Lengths[r] - 1; // [CLS] t₁…tₙ [SEP] → n + 1 inputs and targets
                source.Ids.AsSpan(r * source.MaxTokens, s).CopyTo(_src.AsSpan(i * s, s));
                _srcMask.AsSpan(i * s, s).Clear(); _srcMask.AsSpan(i * s, ls).Fill(1);
                target.Ids.AsSpan(r * target.MaxTokens, t).CopyTo(_tgt.AsSpan(i * t, t));
                _tgtMask.AsSpan(i * t, t).Clear(); _tgtMask.AsSpan(i * t, lt).Fill(1);
                _targets.AsSpan(i * t, t).Fill(CrossEntropy.DefaultIgnoreIndex);
                target.Ids.AsSpan(r * target.MaxTokens + 1, lt).CopyTo(_targets.AsSpan(i * t, lt));
            }
            return new TokenBatch(b, t, _tgt, _tgtMask, _targets) { Source = new TokenBatch(b, s, _src, _srcMask) };
        }

        public double MeanLoss(ITrainableModel model, int[] rows)
        {
            double sum = 0;
            long count = 0;
            for (int start = 0; start < rows.Length; start += batchSize)
            {
                var batch = Pack(rows.AsSpan(start, Math.Min(batchSize, rows.Length - start)));
                int tokens = batch.Labels!.Take(batch.BatchSize * batch.SeqLen).Count(l => l != CrossEntropy.DefaultIgnoreIndex);
                sum += model.Loss(batch) * (double)tokens;
                count += tokens;
            }
            return sum / Math.Max(1, count);
        }
    }
}
