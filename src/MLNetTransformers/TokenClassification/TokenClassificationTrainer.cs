using MLNetTransformers.Classification;

namespace MLNetTransformers.TokenClassification;

/// <summary>
/// Trains a token classifier (named entities, parts of speech) as Hugging Face's <c>*ForTokenClassification</c> is
/// fine-tuned: a text column whose words are its whitespace-separated pieces (give punctuation its own word, as
/// CoNLL-style data does) and a label column holding one tag per word (a vector of text, e.g. <c>B-PER</c>, <c>O</c>);
/// each word's tag is learned at its first token, the encoder's states through dropout and a linear layer at every
/// position, cross-entropy over the tagged positions. Created by
/// <c>mlContext.MulticlassClassification.Trainers.TokenClassifier</c>. Uses the classifier's options: columns
/// (<see cref="TransformerTrainingOptions.TextColumnName"/>, <see cref="TransformerClassifierOptions.LabelColumnName"/>,
/// <see cref="TransformerClassifierOptions.PredictedLabelColumnName"/>), <see cref="TransformerClassifierOptions.Pretrained"/>
/// or a shape from scratch, schedule, validation (tag accuracy over words) and early stopping.
/// </summary>
public sealed class TokenClassificationTrainer : TransformerTrainer<TransformerClassifierOptions, TokenClassificationTransformer>
{
    internal TokenClassificationTrainer(TransformerClassifierOptions options, IChannelProvider? log) : base(options, log)
    {
        options.RefuseSequenceClassifierOptions("A token classifier");
    }

    private protected override SchemaShape OutputSchema(SchemaShape inputSchema)
    {
        var label = inputSchema.FirstOrDefault(c => c.Name == Options.LabelColumnName);
        if (label.Name is null) throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Label column '{Options.LabelColumnName}' was not found in the input.");
        if (label.Kind == SchemaShape.Column.VectorKind.Scalar || label.ItemType is not TextDataViewType)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Label column '{label.Name}' has type {label.ItemType}{(label.Kind == SchemaShape.Column.VectorKind.Scalar ? "" : " vector")}; a token classifier needs a vector of text, one tag per word.");
        return SchemaShapeColumns.Extend(inputSchema, [new DataViewSchema.DetachedColumn(Options.PredictedLabelColumnName, new VectorDataViewType(TextDataViewType.Instance))]);
    }

    /// <summary>Reads the tagged texts, trains, and returns the tagging transformer.</summary>
    /// <param name="input">Training data with the text column and a label column of one tag per word.</param>
    public override TokenClassificationTransformer Fit(IDataView input)
    {
        var o = Options;
        using var ch = Log?.Start("TokenClassifier");
        var train = Read(input, "training data");
        var tags = train.SelectMany(r => r.Tags).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (tags.Count < 2) throw new ArgumentException($"Label column '{o.LabelColumnName}' holds {(tags.Count == 0 ? "no tags" : $"one tag ('{tags[0]}')")} in the training data; a token classifier needs at least two.");
        var valid = o.ValidationSet is { } vs ? Read(vs, "validation data") : o.ValidationFraction > 0 ? LabeledText.SplitOff(train, o.ValidationFraction, minimumRows: 20, (ulong)o.Seed) : null;
        if (valid?.SelectMany(r => r.Tags).FirstOrDefault(t => !tags.Contains(t)) is { } unseen)
            throw new ArgumentException($"The validation data's tag '{unseen}' (column '{o.LabelColumnName}') is not among the training data's: {string.Join(", ", tags)}.");

        var sw = Stopwatch.StartNew();
        var tokenizer = o.Pretrained?.Tokenizer ?? o.PretrainedTokenizer ?? o.Tokenizer.Build(() => train.Select(r => string.Join(' ', r.Words)));
        if (o.Pretrained is { } pre) ch?.Info(MessageSensitivity.None, $"Fine-tuning {pre.Name}: {pre.Encoder.Config.Layers} layers, d_model {pre.Encoder.Config.ModelDim}, {pre.Encoder.Parameters.Count:N0} parameters.");
        var tagIds = tags.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i, StringComparer.Ordinal);
        var trainTokens = new WordTokens(tokenizer, train.Select(r => r.Words).ToList());
        if (trainTokens.Windowed > 0)
            ch?.Info(MessageSensitivity.None, $"Training texts longer than MaxTokens ({tokenizer.MaxTokens}) are read in windows of whole words: {trainTokens.Windowed} more sequences than texts.");
        var validTokens = valid is null ? null : new WordTokens(tokenizer, valid.Select(r => r.Words).ToList());
        var model = o.PositionModel(tokenizer, tags.Count, ModelKind.TokenClassifier, (c, seed) => new TransformerTokenClassifier(c, seed));

        int n = trainTokens.Windows.Count, bs = Math.Min(o.BatchSize, n);
        var loop = o.Loop(model, (n + bs - 1) / bs, sw.Elapsed);
        var ids = new int[bs * tokenizer.MaxTokens];
        var mask = new int[bs * tokenizer.MaxTokens];
        IEnumerable<TrainingBatch> Batches(int epoch)
        {
            foreach (var rows in Batcher.GroupedByLength(n, r => trainTokens.Encoded.Lengths[r], bs, (ulong)o.Seed, epoch))
                yield return new TrainingBatch(Tagged(trainTokens, train, rows, tagIds, ids, mask), rows.Sum(r => trainTokens.Encoded.Lengths[r]));
        }
        Func<ValidationScore>? validate = valid is null ? null : () =>
        {
            var (accuracy, loss) = Evaluate(model, validTokens!, valid, tagIds);
            return new ValidationScore(loss, accuracy);
        };
        var progress = TrainingReports.To(o.Progress, ch, r => TrainingProgress.From(r, "tag accuracy"));
        var outcome = loop.Run(Batches, validate, progress);
        if (outcome.Steps == 0 && outcome.StopReason == TrainingLoop.OutOfTime)
            throw new InvalidOperationException($"The time budget ({o.TimeBudget!.Value.TotalSeconds:G4} s) ran out before the first training step: nothing was trained.");
        ch?.Info(MessageSensitivity.None, $"Training finished after {outcome.Steps} steps in {sw.Elapsed.TotalSeconds:F1} s ({outcome.StopReason}).");
        return new TokenClassificationTransformer(tokenizer, model, tags, o.TextColumnName, o.PredictedLabelColumnName)
        {
            LabelColumnName = o.LabelColumnName, TrainingSummary = new TrainingSummary(outcome.Steps, outcome.StopReason, outcome.Best?.Metric, sw.Elapsed),
        };
    }

    /// <summary>A text's words and their tags.</summary>
    internal sealed record TaggedText(string[] Words, string[] Tags);

    private List<TaggedText> Read(IDataView data, string dataName) => Read(data, Options.TextColumnName, Options.LabelColumnName, dataName);

    // The text and label columns' rows; every row must hold as many tags as words.
    internal static List<TaggedText> Read(IDataView data, string textColumnName, string labelColumnName, string dataName)
    {
        var text = TokenizerTransformer.RequireText(data.Schema, textColumnName);
        DataViewSchema.Column label = data.Schema.GetColumnOrNull(labelColumnName) ?? throw new ArgumentOutOfRangeException(nameof(data),
            $"Label column '{labelColumnName}' was not found in the {dataName} (columns: {string.Join(", ", data.Schema.Where(c => !c.IsHidden).Select(c => c.Name))}).");
        if (label.Type is not VectorDataViewType { ItemType: TextDataViewType })
            throw new ArgumentOutOfRangeException(nameof(data), $"Label column '{label.Name}' of the {dataName} has type {label.Type}; a token classifier needs a vector of text, one tag per word.");
        var rows = new List<TaggedText>();
        using var cursor = data.GetRowCursor([text, label]);
        var getText = cursor.GetGetter<ReadOnlyMemory<char>>(text);
        var getTags = cursor.GetGetter<VBuffer<ReadOnlyMemory<char>>>(label);
        ReadOnlyMemory<char> t = default;
        VBuffer<ReadOnlyMemory<char>> tags = default;
        while (cursor.MoveNext())
        {
            getText(ref t);
            getTags(ref tags);
            var (words, _) = WordTokens.Split(t.ToString());
            var row = tags.DenseValues().Select(v => v.ToString().Trim()).ToArray();
            if (row.Length != words.Length)
                throw new ArgumentException($"Row {cursor.Position} of the {dataName} has {words.Length} words in '{text.Name}' and {row.Length} tags in '{label.Name}'; each word needs one tag ('{Shorten(t.ToString())}').");
            if (Array.FindIndex(row, string.IsNullOrEmpty) is var empty and >= 0)
                throw new ArgumentException($"Row {cursor.Position} of the {dataName}: the tag of word {empty + 1} ('{words[empty]}') in '{label.Name}' is empty.");
            rows.Add(new TaggedText(words, row));
        }
        if (rows.Count == 0) throw new ArgumentException($"The {dataName} has no rows.");
        return rows;
    }

    private static string Shorten(string s) => s.Length > 60 ? s[..60] + "…" : s;

    // The windows packed [b, T] with each word's tag at its first piece and −100 elsewhere.
    internal static TokenBatch Tagged(WordTokens tokens, IReadOnlyList<TaggedText> rows, IReadOnlyList<int> batch, Dictionary<string, int> tagIds, int[] ids, int[] mask)
    {
        var packed = Batcher.Pack(tokens.Encoded, batch, ids, mask, null);
        int t = packed.SeqLen;
        var targets = new int[batch.Count * t];
        Array.Fill(targets, CrossEntropy.DefaultIgnoreIndex);
        for (int i = 0; i < batch.Count; i++)
        {
            var (row, firstWord, _) = tokens.Windows[batch[i]];
            var first = tokens.FirstPieces[batch[i]];
            for (int w = 0; w < first.Length; w++) targets[i * t + first[w]] = tagIds[rows[row].Tags[firstWord + w]];
        }
        return new TokenBatch(packed.BatchSize, t, packed.Ids, packed.AttentionMask, targets);
    }

    // Tag accuracy over the words, and the mean cross-entropy of their tags.
    private static (double Accuracy, double Loss) Evaluate(TransformerTokenClassifier model, WordTokens tokens, List<TaggedText> rows, Dictionary<string, int> tagIds)
    {
        const int bs = 32;
        int classes = model.Outputs, correct = 0, total = 0;
        double loss = 0;
        var crossEntropy = new CrossEntropy();
        var ids = new int[bs * tokens.Encoded.MaxTokens];
        var mask = new int[bs * tokens.Encoded.MaxTokens];
        for (int start = 0; start < tokens.Windows.Count; start += bs)
        {
            var batch = Enumerable.Range(start, Math.Min(bs, tokens.Windows.Count - start)).ToArray();
            var tagged = Tagged(tokens, rows, batch, tagIds, ids, mask);
            int n = tagged.BatchSize * tagged.SeqLen, words = 0;
            var logits = model.Forward(tagged);
            for (int p = 0; p < n; p++)
            {
                int target = tagged.Labels![p];
                if (target < 0) continue;
                if (System.Numerics.Tensors.TensorPrimitives.IndexOfMax(logits.AsSpan(p * classes, classes)) == target) correct++;
                words++;
            }
            loss += (double)crossEntropy.Compute(logits, tagged.Labels!, n, classes) * words; // the batch's mean, weighted by its words
            total += words;
        }
        return total == 0 ? (0, 0) : ((double)correct / total, loss / total);
    }
}
