using System.Text.RegularExpressions;

namespace MLNetTransformers.Classification;

/// <summary>
/// Trains tokenizer vocabulary, transformer encoder and head end to end from a text column, or from sentence pairs
/// (<see cref="TransformerClassifierOptions.SecondTextColumnName"/>). Created by
/// <c>mlContext.BinaryClassification.Trainers.TransformerClassifier</c>, <c>mlContext.MulticlassClassification.Trainers.TransformerClassifier</c>
/// or, as a regressor (one output, mean squared error), <c>mlContext.Regression.Trainers.SentenceSimilarity</c> and
/// <c>mlContext.Regression.Trainers.TransformerRegressor</c>.
/// </summary>
public sealed class TransformerClassificationTrainer : TransformerTrainer<TransformerClassifierOptions, TransformerClassificationTransformer>
{
    private readonly bool _binary, _regression;

    internal TransformerClassificationTrainer(TransformerClassifierOptions options, bool binary, IChannelProvider? log, bool regression = false) : base(options, log)
    {
        (_binary, _regression) = (binary && !regression, regression);
        if (regression && options.NGramBucketsSet && options.NGramBuckets > 0)
            throw new ArgumentException($"NGramBuckets is {options.NGramBuckets}: the n-gram branch is for classification; a regressor has none.", nameof(options));
    }

    /// <summary>Whether this trains a binary classifier.</summary>
    public bool IsBinary => _binary;
    /// <summary>Whether this trains a regressor (one real-valued output, e.g. the similarity of a sentence pair).</summary>
    public bool IsRegression => _regression;

    /// <summary>Training pairs of the last <see cref="Fit"/> with an empty or blank side (read as the other side alone; also logged).</summary>
    public int EmptyPairSides { get; private set; }

    private protected override SchemaShape OutputSchema(SchemaShape inputSchema)
    {
        if (Options.SecondTextColumnName is { } second) SchemaShapeColumns.RequireText(inputSchema, second);
        if (_regression)
        {
            LabeledText.RequireTargetShape(inputSchema, Options.LabelColumnName);
            return SchemaShapeColumns.Extend(inputSchema, TransformerClassificationTransformer.RegressionOutputColumns(Options.ScoreColumnName));
        }
        var label = inputSchema.FirstOrDefault(c => c.Name == Options.LabelColumnName);
        if (label.Name is null) throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Label column '{Options.LabelColumnName}' was not found in the input.");
        if (_binary && !(label.ItemType is BooleanDataViewType || label.ItemType == NumberDataViewType.Single || label.ItemType == NumberDataViewType.Double))
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Label column '{label.Name}' has type {label.ItemType}; binary classification needs Boolean (or Single/Double holding 0 and 1).");
        if (!_binary && !label.IsKey)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Label column '{label.Name}' has type {label.ItemType}; multiclass classification needs a key type (MapValueToKey).");
        if (_binary) return SchemaShapeColumns.Extend(inputSchema, TransformerClassificationTransformer.OutputColumns(Options, true, 2, null, null));
        // Multiclass: PredictedLabel has the label's key type and annotations (KeyValues), so MapKeyToValue
        // downstream accepts it; Score has one slot per key value.
        // (A schema shape carries neither the key count nor vector sizes: any count describes the same shape.)
        var keyType = new KeyDataViewType(typeof(uint), 2);
        var columns = TransformerClassificationTransformer.OutputColumns(Options, false, 2, null, keyType);
        columns[1] = SchemaShapeColumns.Like(Options.PredictedLabelColumnName, label, keyType);
        return SchemaShapeColumns.Extend(inputSchema, columns);
    }

    /// <summary>Reads the data, builds the tokenizer, trains, and returns the scoring transformer.</summary>
    /// <param name="input">Training data with the text and label columns.</param>
    public override TransformerClassificationTransformer Fit(IDataView input)
    {
        var o = Options;
        using var ch = Log?.Start("TransformerClassifier");
        var textCol = TokenizerTransformer.RequireText(input.Schema, o.TextColumnName);
        DataViewSchema.Column? secondCol = o.SecondTextColumnName is { } sc ? TokenizerTransformer.RequireText(input.Schema, sc) : null;
        var labelCol = _regression ? LabeledText.TargetColumn(input.Schema, o.LabelColumnName) : LabeledText.LabelColumn(input.Schema, o.LabelColumnName, _binary);
        int classes = _regression ? 1 : _binary ? 2 : (int)((KeyDataViewType)labelCol.Type).Count;
        if (!_regression && classes < 2) throw new ArgumentException($"Label column '{labelCol.Name}' has {classes} class(es); classification needs at least 2.");
        var classNames = _regression ? new[] { "score" } : _binary ? new[] { "false", "true" } : LabeledText.ClassNames(labelCol, classes);

        var train = LabeledText.Read(input, textCol, labelCol, _binary, "training data", secondCol, _regression);
        LabeledText? valid = null;
        if (o.ValidationSet is { } vs)
        {
            var vText = TokenizerTransformer.RequireText(vs.Schema, o.TextColumnName);
            DataViewSchema.Column? vSecond = o.SecondTextColumnName is { } vsc ? TokenizerTransformer.RequireText(vs.Schema, vsc) : null;
            var vLabel = _regression ? LabeledText.TargetColumn(vs.Schema, o.LabelColumnName) : LabeledText.LabelColumn(vs.Schema, o.LabelColumnName, _binary);
            if (!_binary && !_regression && ((KeyDataViewType)vLabel.Type).Count != (ulong)classes)
                throw new ArgumentException($"Validation label column '{vLabel.Name}' has {((KeyDataViewType)vLabel.Type).Count} classes; the training data has {classes}. Map both with the same MapValueToKey transformer.");
            valid = LabeledText.Read(vs, vText, vLabel, _binary, "validation data", vSecond, _regression);
        }
        if (train.Seconds is { } seconds)
        {
            // An empty side is read as no tokens ([CLS] a [SEP] [SEP]): allowed, but said, since it is usually a data error.
            int empty = train.Texts.Zip(seconds).Count(p => string.IsNullOrWhiteSpace(p.First) || string.IsNullOrWhiteSpace(p.Second));
            if (empty > 0) ch?.Warning(MessageSensitivity.None, $"{empty} of {train.Texts.Count} training pairs have an empty side ('{o.TextColumnName}' or '{o.SecondTextColumnName}'); each is read as the other side alone.");
            EmptyPairSides = empty;
        }
        valid ??= o.ValidationFraction > 0 ? train.SplitOff(o.ValidationFraction, minimumRows: 20, (ulong)o.Seed) : null;
        if (valid is not null && o.ValidationSet is null)
            ch?.Info(MessageSensitivity.None, $"Validation: {valid.Texts.Count} of the training rows held out at random (ValidationFraction {o.ValidationFraction}).");
        var seen = new bool[classes];
        foreach (int l in train.Labels) seen[l] = true;
        if (!_regression && seen.Count(s => s) < 2) throw new ArgumentException($"The training data has only one label value in column '{labelCol.Name}'; classification needs at least two.");
        if (_regression && train.Targets!.Distinct().Count() < 2) throw new ArgumentException($"Label column '{labelCol.Name}' holds one value in every training row; regression needs at least two.");

        // A regressor learns standardized targets (a head that starts near 0 then fits labels of any scale with steps of one
        // size), and its output layer is rescaled to the labels after training: y = mean + std·y′, exactly.
        (float Mean, float Std) scale = (0f, 1f);
        if (_regression)
        {
            double mean = train.Targets!.Average(), std = Math.Sqrt(train.Targets!.Average(t => (t - mean) * (t - mean)));
            scale = ((float)mean, (float)Math.Max(std, 1e-6));
            train.Standardize(scale.Mean, scale.Std);
            valid?.Standardize(scale.Mean, scale.Std);
        }

        var sw = Stopwatch.StartNew();
        var tokenizer = o.Pretrained?.Tokenizer ?? o.PretrainedTokenizer ?? o.Tokenizer.Build(() => train.Seconds is null ? train.Texts : train.Texts.Concat(train.Seconds));
        if (o.Pretrained is { } pre) ch?.Info(MessageSensitivity.None, $"Fine-tuning {pre.Name}: {pre.Encoder.Config.Layers} layers, d_model {pre.Encoder.Config.ModelDim}, {pre.Encoder.Parameters.Count:N0} parameters.");
        ch?.Info(MessageSensitivity.None, $"Tokenizer: {tokenizer} ({sw.Elapsed.TotalSeconds:F1} s)");
        int maskId = o.TokenDropout > 0 ? tokenizer.RequireMaskId($"TokenDropout {o.TokenDropout}") : tokenizer.MaskId;
        var trainIds = new EncodedTexts(tokenizer, train.Texts, train.Seconds);
        var validIds = valid is null ? null : new EncodedTexts(tokenizer, valid.Texts, valid.Seconds);

        var model = CreateModel(tokenizer, classes);
        model.LabelSmoothing = o.LabelSmoothing;
        var (result, bestStep) = TrainLoop(model, trainIds, train, validIds, valid, maskId, ch, sw);
        if (result.Steps == 0 && result.StopReason == OutOfTime)
            throw new InvalidOperationException($"The time budget ({o.TimeBudget!.Value.TotalSeconds:G4} s) ran out before the first training step (reading and tokenizing took {sw.Elapsed.TotalSeconds:F1} s): nothing was trained.");
        if (valid is not null && o.ValidationSet is null && o.Refit && bestStep > 0 && train.Texts.Count + valid.Texts.Count <= RefitMaxRows
            && result.StopReason is not (Cancelled or OutOfTime))
            (model, result) = Refit(model, result, bestStep, tokenizer, classes, train, valid, ch, sw);
        ch?.Info(MessageSensitivity.None, $"Training finished after {result.Steps} steps in {sw.Elapsed.TotalSeconds:F1} s ({result.StopReason}).");
        if (_regression)
            for (int m = 0; m < model.Config.Members; m++)
            {
                string head = TransformerClassifier.MemberPrefix(m) + "head.";
                System.Numerics.Tensors.TensorPrimitives.Multiply(model.Parameters[head + "weight"].Value, scale.Std, model.Parameters[head + "weight"].Value);
                var bias = model.Parameters[head + "bias"].Value;
                bias[0] = bias[0] * scale.Std + scale.Mean;
            }
        return new TransformerClassificationTransformer(tokenizer, model, _binary, classNames, labelCol.Type as KeyDataViewType, labelCol.Annotations,
            o.TextColumnName, o.ScoreColumnName, o.ProbabilityColumnName, o.PredictedLabelColumnName)
        { TrainingSummary = result, LabelColumnName = labelCol.Name, SecondTextColumnName = o.SecondTextColumnName };
    }

    /// <summary>
    /// The held-out rows chose the length of training and the mixture; trains a new model on every row for as long
    /// (in epochs) and returns it, or the first model when the refit is cancelled or runs out of time.
    /// </summary>
    private (TransformerClassifier, TrainingSummary) Refit(TransformerClassifier first, TrainingSummary summary, long bestStep, TextTokenizer tokenizer,
        int classes, LabeledText train, LabeledText valid, IChannel? ch, Stopwatch clock)
    {
        var o = Options;
        var all = train.Concat(valid);
        var model = CreateModel(tokenizer, classes);
        model.LabelSmoothing = o.LabelSmoothing;
        static int StepsPerEpoch(int rows, int batchSize) => (rows + Math.Min(batchSize, rows) - 1) / Math.Min(batchSize, rows);
        long stop = (long)Math.Round((double)bestStep * StepsPerEpoch(all.Texts.Count, o.BatchSize) / StepsPerEpoch(train.Texts.Count, o.BatchSize));
        var (again, _) = TrainLoop(model, new EncodedTexts(tokenizer, all.Texts, all.Seconds), all, null, null, tokenizer.MaskId, ch, clock, stop);
        if (again.StopReason is Cancelled or OutOfTime) return (first, summary);
        if (model.NGrams is not null) model.SetMixture(first.Mixture.Transformer, first.Mixture.NGrams);
        ch?.Info(MessageSensitivity.None, $"Refit on all {all.Texts.Count} rows for {again.Steps} steps (validation chose step {bestStep} of {summary.Steps}).");
        return (model, summary with { Steps = summary.Steps + again.Steps, StopReason = summary.StopReason + "; refit on all rows", Duration = clock.Elapsed });
    }

    private TransformerClassifier CreateModel(TextTokenizer tokenizer, int classes)
    {
        var o = Options;
        if ((o.Pretrained?.Encoder ?? o.InitialModel) is { } init)
        {
            PretrainedEncoder.RequireFits(init, tokenizer);
            // sentence-transformers' Dense module belongs to the sentence embeddings, not to a sequence classifier.
            var encoderShape = init.Config.Shape() with { SentenceDense = 0 };
            // A checkpoint read for its first token without a pooler gets the dense layer its family's sequence classifier
            // puts there (DistilBERT's pre_classifier + ReLU, ELECTRA's classifier.dense + GELU, …), newly initialised, as
            // Hugging Face's *ForSequenceClassification starts; the model then also writes back as one.
            // ModernBERT's head (dense, GELU, norm) reads the pooling its config names rather than the first token.
            if (o.Pretrained is not null && !encoderShape.Pooler && Core.Pretrained.EncoderFamily.For(encoderShape) is { ClassifierHasOwnDenseLayer: true, SequenceClassifier: { } head }
                && (encoderShape.Pooling == Pooling.Cls || !head.PoolsFirstToken))
                encoderShape = encoderShape with { Pooler = true, PoolerActivation = head.Activation, PoolerNorm = head.Norm is not null };
            var config = new ClassifierConfig(encoderShape)
            {
                NumClasses = classes, NGramBuckets = _regression ? 0 : o.NGramBuckets, Members = o.EnsembleSize, MaxLength = Math.Max(init.Config.MaxLength, tokenizer.MaxTokens),
                Dropout = o.Pretrained is null ? o.Dropout : init.Config.Dropout, // a checkpoint is fine-tuned with the dropout it was trained with
            };
            var m = new TransformerClassifier(config, (ulong)o.Seed);
            // Every ensemble member starts from the initial encoder ("members.k.layers.0…" reads "layers.0…").
            PretrainedEncoder.CopyWeights(init, m.Parameters, name => Regex.Replace(name, @"^members\.\d+\.", ""));
            return m;
        }
        // Pairs from scratch get a segment embedding of two types, as BERT's.
        var shape = o.ModelConfig(tokenizer.VocabularySize, tokenizer.MaxTokens);
        if (o.SecondTextColumnName is not null && shape.TypeVocabSize < 2) shape = shape with { TypeVocabSize = 2 };
        return new TransformerClassifier(new ClassifierConfig(shape)
        {
            Pooling = o.Pooling, NumClasses = classes, NGramBuckets = _regression ? 0 : o.NGramBuckets, Members = o.EnsembleSize,
        }, (ulong)o.Seed);
    }

    // Stop reasons that end a run early (TrainingSummary.StopReason).
    private const string Cancelled = TrainingLoop.Cancelled, OutOfTime = TrainingLoop.OutOfTime;

    /// <summary>Rows up to which <see cref="TransformerClassifierOptions.Refit"/> trains a second time on all of them.</summary>
    internal const int RefitMaxRows = 20_000;

    // The classifier's part of the one training loop: shuffled length-bucketed batches (with word dropout), and
    // validation that chooses the mixture and scores cross-entropy. Returns the summary and the step whose weights
    // were kept (0 when none were chosen on validation); stopAfterStep ends the run there (a refit repeating a chosen length).
    private (TrainingSummary Summary, long BestStep) TrainLoop(TransformerClassifier model, EncodedTexts train, LabeledText trainRows, EncodedTexts? valid,
        LabeledText? validRows, int maskId, IChannel? ch, Stopwatch clock, long stopAfterStep = long.MaxValue)
    {
        var o = Options;
        int n = train.Count, bs = Math.Min(o.BatchSize, n);
        var loop = o.Loop(model, (n + bs - 1) / bs, clock.Elapsed, stopAfterStep);
        if (o.LayerwiseLearningRateDecay < 1f || o.FrozenLayers > 0) loop.Trainer.Optimizer.SetLearningRateScales(LearningRateScales(model));
        var batcher = new Batcher(train, trainRows.Labels, bs, (ulong)o.Seed, trainRows.Targets);
        var dropRng = DeterministicRandom.Derive((ulong)o.Seed, 4242);
        IEnumerable<TrainingBatch> Batches(int epoch)
        {
            foreach (var b in batcher.Epoch(epoch))
            {
                if (o.TokenDropout > 0) DropTokens(b.Tokens, o.TokenDropout, maskId, ref dropRng);
                yield return b;
            }
        }
        // Loss and accuracy (a regressor's: squared error and Pearson's r) go with every score; the options say which picks the weights kept.
        Func<ValidationScore>? validate = valid is null ? null : () =>
        {
            var (acc, loss) = Evaluate(model, valid, validRows!, chooseMixture: true);
            return new ValidationScore(loss, acc);
        };
        var progress = TrainingReports.To(o.Progress, ch, r => TrainingProgress.From(r, _regression ? "pearson" : "accuracy"));
        var outcome = loop.Run(Batches, validate, progress);
        return (new TrainingSummary(outcome.Steps, outcome.StopReason, outcome.Best?.Metric, clock.Elapsed), outcome.BestStep);
    }

    /// <summary>
    /// Each tensor's learning-rate multiplier: decay^(layers − i) for block i, decay^(layers + 1) for the embeddings, 1 for
    /// the pooler, head and n-gram branch; 0 for the embeddings and the blocks below <see cref="TransformerClassifierOptions.FrozenLayers"/>.
    /// </summary>
    private float[] LearningRateScales(TransformerClassifier model)
    {
        var o = Options;
        int layers = model.Config.Layers;
        if (o.FrozenLayers > layers) throw new ArgumentException($"FrozenLayers is {o.FrozenLayers} but the encoder has {layers} blocks.");
        if (model.Config.SharesLayers)
            throw new ArgumentException($"FrozenLayers and LayerwiseLearningRateDecay act block by block, and this encoder's {layers} blocks share {model.Config.LayerGroups} set(s) of weights (ALBERT); leave them at 0 and 1.");
        return model.Parameters.Tensors.Select(t =>
        {
            string name = Regex.Replace(t.Name, @"^members\.\d+\.", "");
            var block = Regex.Match(name, @"^layers\.(\d+)\.");
            bool embedding = name.StartsWith("tok.", StringComparison.Ordinal) || name.StartsWith("pos.", StringComparison.Ordinal)
                || name.StartsWith("tok_type.", StringComparison.Ordinal) || name.StartsWith("emb_norm.", StringComparison.Ordinal)
                || name.StartsWith("emb_proj.", StringComparison.Ordinal);
            if (block.Success)
            {
                int i = int.Parse(block.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                return i < o.FrozenLayers ? 0f : MathF.Pow(o.LayerwiseLearningRateDecay, layers - i);
            }
            if (embedding) return o.FrozenLayers > 0 ? 0f : MathF.Pow(o.LayerwiseLearningRateDecay, layers + 1);
            return 1f;
        }).ToArray();
    }

    /// <summary>Word dropout: replaces each real token between [CLS] and the final [SEP] by [MASK] with probability <paramref name="p"/>.</summary>
    private static void DropTokens(TokenBatch batch, float p, int maskId, ref DeterministicRandom rng)
    {
        var mask = batch.AttentionMask!;
        for (int b = 0; b < batch.BatchSize; b++)
        {
            int row = b * batch.SeqLen, len = 0;
            while (len < batch.SeqLen && mask[row + len] != 0) len++;
            for (int t = 1; t < len - 1; t++)
                if (rng.NextFloat() < p) batch.Ids[row + t] = maskId;
        }
    }

    /// <summary>
    /// Accuracy and mean cross-entropy of <paramref name="model"/> on encoded data (inference mode); for a regressor,
    /// Pearson's r and the mean squared error. With <paramref name="chooseMixture"/> and an n-gram branch, first sets the
    /// model's mixture weights (α, β) to those of a grid with the lowest cross-entropy on this data.
    /// </summary>
    internal static (double Accuracy, double Loss) Evaluate(TransformerClassifier model, EncodedTexts data, LabeledText rows, bool chooseMixture = false)
    {
        var labels = rows.Labels;
        int n = data.Count, classes = model.Config.NumClasses;
        var transformer = new float[n * classes];
        var ngrams = model.NGrams is null ? null : new float[n * classes];
        const int bs = 64;
        var ids = new int[bs * data.MaxTokens];
        var mask = new int[bs * data.MaxTokens];
        for (int start = 0; start < n; start += bs)
        {
            int b = Math.Min(bs, n - start);
            var batch = Batcher.Pack(data, Enumerable.Range(start, b), ids, mask, null);
            var (t, g) = model.BranchLogits(batch);
            t.AsSpan(0, b * classes).CopyTo(transformer.AsSpan(start * classes));
            g?.AsSpan(0, b * classes).CopyTo(ngrams.AsSpan(start * classes));
        }
        if (model.IsRegressor) return RegressionScore(transformer, rows.Targets!);
        if (chooseMixture && ngrams is not null)
        {
            // Grid over α (transformer, 0…1 in steps of 0.05) and β (n-grams, 0…3 in steps of 0.1: a table trained
            // for a few epochs is often under-confident): the lowest cross-entropy wins; ties keep the earlier point.
            (float A, float B) best = (1f, 0f); double bestLoss = double.PositiveInfinity;
            for (int i = 20; i >= 0; i--)
                for (int j = 0; j <= 30; j++)
                {
                    if (i == 0 && j == 0) continue;
                    double l = Score(transformer, ngrams, (i / 20f, j / 10f), labels, classes).Loss;
                    if (l < bestLoss - 1e-9) (best, bestLoss) = ((i / 20f, j / 10f), l);
                }
            model.SetMixture(best.A, best.B);
        }
        return Score(transformer, ngrams, model.Mixture, labels, classes);
    }

    // Pearson's r (0 when either side is constant) and the mean squared error of predictions against targets.
    private static (double Pearson, double Mse) RegressionScore(float[] predictions, List<float> targets)
    {
        var p = predictions.AsSpan(0, targets.Count).ToArray();
        return (Metrics.Correlation.Pearson(p, targets), p.Select((v, i) => (v - targets[i]) * (double)(v - targets[i])).Average());
    }

    // Accuracy and mean cross-entropy of the logits α·transformer + β·ngrams.
    private static (double Accuracy, double Loss) Score(float[] transformer, float[]? ngrams, (float A, float B) mix, List<int> labels, int classes)
    {
        int n = labels.Count, correct = 0;
        double loss = 0;
        Span<double> z = stackalloc double[classes];
        for (int i = 0; i < n; i++)
        {
            double max = double.NegativeInfinity;
            int arg = 0;
            for (int c = 0; c < classes; c++)
            {
                z[c] = ngrams is null ? transformer[i * classes + c] : mix.A * transformer[i * classes + c] + mix.B * ngrams[i * classes + c];
                if (z[c] > max) (max, arg) = (z[c], c);
            }
            double sum = 0;
            for (int c = 0; c < classes; c++) sum += Math.Exp(z[c] - max);
            int label = labels[i];
            if (arg == label) correct++;
            loss += Math.Log(sum) - (z[label] - max);
        }
        return ((double)correct / n, loss / n);
    }
}
