using MLNetTransformers.Classification;

namespace MLNetTransformers.Similarity;

/// <summary>
/// Trains a bi-encoder for sentence similarity, as sentence-transformers does: both sentences of a pair through one
/// encoder on their own, pooled, the cosine of the two vectors regressed onto the label scaled to [0, 1] (the training
/// labels' min and max) by mean squared error. Created by <c>mlContext.Regression.Trainers.BiEncoderSimilarity</c>;
/// the result scores pairs and its encoder embeds sentences for search and clustering. Uses the classifier's options:
/// columns (<see cref="TransformerTrainingOptions.TextColumnName"/> and <see cref="TransformerClassifierOptions.SecondTextColumnName"/>),
/// <see cref="TransformerClassifierOptions.Pretrained"/> or a shape from scratch, schedule, validation and early stopping.
/// </summary>
public sealed class BiEncoderSimilarityTrainer : TransformerTrainer<TransformerClassifierOptions, SentenceSimilarityTransformer>
{
    internal BiEncoderSimilarityTrainer(TransformerClassifierOptions options, IChannelProvider? log) : base(options, log)
    {
        if (options.SecondTextColumnName is null) throw new ArgumentException($"A bi-encoder reads sentence pairs: set {nameof(TransformerClassifierOptions.SecondTextColumnName)}.", nameof(options));
        TransformerClassifierOptions.RefuseUnused("A bi-encoder", (nameof(options.NGramBuckets), options.NGramBucketsSet && options.NGramBuckets > 0),
            (nameof(options.EnsembleSize), options.EnsembleSize != 1), (nameof(options.TokenDropout), options.TokenDropout > 0),
            (nameof(options.LabelSmoothing), options.LabelSmoothing > 0), (nameof(options.WeightAveraging), options.WeightAveraging > 0),
            (nameof(options.Refit), options.RefitSet && options.Refit));
    }

    private protected override SchemaShape OutputSchema(SchemaShape inputSchema)
    {
        SchemaShapeColumns.RequireText(inputSchema, Options.SecondTextColumnName!);
        LabeledText.RequireTargetShape(inputSchema, Options.LabelColumnName);
        return SchemaShapeColumns.Extend(inputSchema, TransformerClassificationTransformer.RegressionOutputColumns(Options.ScoreColumnName));
    }

    /// <summary>Reads the pairs, trains the encoder, and returns the scoring transformer.</summary>
    /// <param name="input">Training pairs with both sentence columns and a Single or Double label.</param>
    public override SentenceSimilarityTransformer Fit(IDataView input)
    {
        var o = Options;
        using var ch = Log?.Start("BiEncoderSimilarity");
        LabeledText Read(IDataView data, string name)
        {
            var first = TokenizerTransformer.RequireText(data.Schema, o.TextColumnName);
            var second = TokenizerTransformer.RequireText(data.Schema, o.SecondTextColumnName!);
            return LabeledText.Read(data, first, LabeledText.TargetColumn(data.Schema, o.LabelColumnName), binary: false, name, second, regression: true);
        }
        var train = Read(input, "training data");
        var valid = o.ValidationSet is { } vs ? Read(vs, "validation data") : o.ValidationFraction > 0 ? train.SplitOff(o.ValidationFraction, minimumRows: 20, (ulong)o.Seed) : null;
        float min = train.Targets!.Min(), max = train.Targets!.Max();
        if (!(max > min)) throw new ArgumentException($"Label column '{o.LabelColumnName}' holds one value in every training row; similarity needs at least two.");

        var sw = Stopwatch.StartNew();
        var tokenizer = o.Pretrained?.Tokenizer ?? o.PretrainedTokenizer ?? o.Tokenizer.Build(() => train.Texts.Concat(train.Seconds!));
        TransformerEncoder encoder;
        if ((o.Pretrained?.Encoder ?? o.InitialModel) is { } init)
        {
            if (!tokenizer.FitsEmbedding(init.Config.VocabSize, init.Config.VocabularyMultiple)) throw new ArgumentException($"InitialModel has a vocabulary of {init.Config.VocabSize}; the tokenizer's is {tokenizer.VocabularySize}.");
            encoder = init.Copy(); // the pretrained encoder stays as it was
        }
        else encoder = new TransformerEncoder(o.ModelConfig(tokenizer.VocabularySize, tokenizer.MaxTokens) with { Pooling = o.Pooling }, (ulong)o.Seed);
        var model = new BiEncoder(encoder);

        float Scale(float y) => (y - min) / (max - min);
        var (a, b, targets) = (new EncodedTexts(tokenizer, train.Texts), new EncodedTexts(tokenizer, train.Seconds!), train.Targets!.Select(Scale).ToArray());
        var (va, vb) = valid is null ? (null, null) : (new EncodedTexts(tokenizer, valid.Texts), new EncodedTexts(tokenizer, valid.Seconds!));
        var vTargets = valid?.Targets!.Select(Scale).ToArray();

        int bs = Math.Min(o.BatchSize, a.Count);
        var loop = o.Loop(model, (a.Count + bs - 1) / bs, sw.Elapsed);
        // Validation: squared error of the cosines against the scaled labels, and Pearson's r (the metric of STS).
        Func<ValidationScore>? validate = valid is null ? null : () =>
        {
            var cos = new float[va!.Count];
            for (int s = 0; s < cos.Length; s += 32)
            {
                var rows = Enumerable.Range(s, Math.Min(32, cos.Length - s)).ToArray();
                model.Similarities(BiEncoderBatches.Pack(va, vb!, rows, null)).AsSpan(0, rows.Length).CopyTo(cos.AsSpan(s));
            }
            double mse = cos.Select((c, i) => (c - vTargets![i]) * (double)(c - vTargets[i])).Average();
            return new ValidationScore(mse, Metrics.Correlation.Pearson(cos, vTargets!));
        };
        var progress = TrainingReports.To(o.Progress, ch, r => TrainingProgress.From(r, "pearson"));
        var outcome = loop.Run(epoch => BiEncoderBatches.Epoch(a, b, targets, bs, (ulong)o.Seed, epoch), validate, progress);
        if (outcome.Steps == 0 && outcome.StopReason == TrainingLoop.OutOfTime)
            throw new InvalidOperationException($"The time budget ({o.TimeBudget!.Value.TotalSeconds:G4} s) ran out before the first training step: nothing was trained.");
        ch?.Info(MessageSensitivity.None, $"Training finished after {outcome.Steps} steps in {sw.Elapsed.TotalSeconds:F1} s ({outcome.StopReason}).");
        return new SentenceSimilarityTransformer(tokenizer, encoder, (min, max), o.TextColumnName, o.SecondTextColumnName!, o.ScoreColumnName)
        {
            LabelColumnName = o.LabelColumnName, TrainingSummary = new TrainingSummary(outcome.Steps, outcome.StopReason, outcome.Best?.Metric, sw.Elapsed),
        };
    }
}
