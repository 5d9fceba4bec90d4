using MLNetTransformers.Core.Pretrained;
using MLNetTransformers.Persistence;

namespace MLNetTransformers.Classification;

/// <summary>
/// Scores a text column (or a pair of them) with a trained transformer classifier: binary → <c>Score</c> (logit difference),
/// <c>Probability</c>, <c>PredictedLabel</c> (Boolean); multiclass → <c>Score</c> (class probabilities, with slot
/// names) and <c>PredictedLabel</c> (the label's key type); regression → <c>Score</c> (the prediction). Lazy; cursors over a whole view score 64 rows at a
/// time, PredictionEngine one row; safe to use from several threads (each borrows its own model replica).
/// </summary>
public sealed class TransformerClassificationTransformer : LazyRowTransformer, IModelPart, IModelPartLoader<TransformerClassificationTransformer>, IDisposable
{
    static string IModelPartLoader<TransformerClassificationTransformer>.Kind => "classifier";

    private sealed record ClassifierRecord(string Tokenizer, string Checkpoint, bool Binary, string[] Classes, string Text, string Score, string Probability, string Predicted,
        string? Label = null, string? SecondText = null);

    object IModelPart.SavePart(ModelPartWriter w) => new ClassifierRecord(w.Tokenizer(Tokenizer), w.Checkpoint(Model), IsBinary, ClassNames.ToArray(),
        TextColumnName, ScoreColumnName, ProbabilityColumnName, PredictedLabelColumnName, LabelColumnName, SecondTextColumnName);

    static ITransformer IModelPartLoader<TransformerClassificationTransformer>.LoadPart(ModelPartReader r)
    {
        var rec = r.Record<ClassifierRecord>();
        var model = r.Checkpoint<TransformerClassifier>(rec.Checkpoint);
        if (rec.Classes.Length != model.Config.NumClasses)
            throw new InvalidDataException($"Model file '{r.Path}' names {rec.Classes.Length} classes for a classifier of {model.Config.NumClasses}.");
        var (keyType, annotations) = LabelKey(rec.Binary || model.IsRegressor ? null : rec.Classes);
        return new TransformerClassificationTransformer(r.Tokenizer(rec.Tokenizer), model, rec.Binary, rec.Classes, keyType, annotations,
            rec.Text, rec.Score, rec.Probability, rec.Predicted) { LabelColumnName = rec.Label, SecondTextColumnName = rec.SecondText };
    }

    /// <summary>
    /// Writes this classifier as a Hugging Face <c>*ForSequenceClassification</c> folder of its encoder's family (the
    /// inverse of <see cref="FromHuggingFaceFolder"/>): config.json with its class names as <c>id2label</c>, the weights,
    /// the tokenizer's files. It needs the family's head: the first token through a dense layer (BERT's pooler, as a
    /// classifier fine-tuned from a BERT checkpoint with a pooler has), one member, no n-gram branch; otherwise it throws
    /// <see cref="NotSupportedException"/> naming what differs, before anything is written (mean-pooled classifiers such as a
    /// fine-tuned all-MiniLM-L6-v2 have no Hugging Face class: write their encoder with <see cref="PretrainedEncoder.SaveHuggingFaceFolder"/>).
    /// </summary>
    /// <param name="folder">The folder to write (created if needed; files of the same names are replaced).</param>
    public void SaveHuggingFaceFolder(string folder)
    {
        var tokenizerFiles = Tokenizer.HuggingFaceFiles(); // refuses a tokenizer Hugging Face cannot read before anything is written
        PretrainedCheckpoint.SaveSequenceClassifierFolder(Model, ClassNames, folder);
        foreach (var (name, contents) in tokenizerFiles) Core.Training.Checkpoint.WriteAtomically(Path.Combine(folder, name), contents);
    }

    // A multiclass label's key type, with the class names as its KeyValues; none for binary and regression (null classes).
    private static (KeyDataViewType?, DataViewSchema.Annotations?) LabelKey(string[]? classes)
    {
        if (classes is null) return (null, null);
        var b = new DataViewSchema.Annotations.Builder();
        var values = new VBuffer<ReadOnlyMemory<char>>(classes.Length, classes.Select(n => n.AsMemory()).ToArray());
        b.Add("KeyValues", new VectorDataViewType(TextDataViewType.Instance, classes.Length),
            (ValueGetter<VBuffer<ReadOnlyMemory<char>>>)((ref VBuffer<ReadOnlyMemory<char>> v) => values.CopyTo(ref v)));
        return (new KeyDataViewType(typeof(uint), classes.Length), b.ToAnnotations());
    }

    /// <summary>
    /// A classifier ready to use from a Hugging Face folder of a BERT, RoBERTa, DistilBERT, ELECTRA, MPNet, ALBERT or DeBERTa-v2/v3 <c>*ForSequenceClassification</c>
    /// checkpoint (e.g. one already fine-tuned for sentiment), with its tokenizer: two labels score as a binary
    /// classifier (<c>PredictedLabel</c> true for the label of id 1), more as multiclass with config.json's labels as the
    /// key's values, one as a regressor. It saves, loads and exports like a classifier trained here, and fine-tunes
    /// further as <c>InitialModel</c>'s encoder would.
    /// </summary>
    /// <param name="folder">The model folder (config.json with id2label, model.safetensors or pytorch_model.bin, the tokenizer's files).</param>
    /// <param name="maxTokens">Tokens per text; null = <see cref="PretrainedEncoder.DefaultMaxTokens"/>, or the encoder's positions if fewer.</param>
    /// <param name="textColumnName">The text column.</param>
    /// <param name="secondTextColumnName">A second text column for sentence pairs (scored as [CLS] a [SEP] b [SEP]); null = none.</param>
    /// <example><code>
    /// var sentiment = TransformerClassificationTransformer.FromHuggingFaceFolder("models/bert-sst2");
    /// var scored = sentiment.Transform(reviews); // Score, Probability, PredictedLabel
    /// </code></example>
    public static TransformerClassificationTransformer FromHuggingFaceFolder(string folder, int? maxTokens = null, string textColumnName = DefaultColumnNames.Text,
        string? secondTextColumnName = null)
    {
        return FromLoaded(PretrainedCheckpoint.LoadSequenceClassifierFolder(folder), folder, maxTokens, textColumnName, secondTextColumnName);
    }

    // A classifier read elsewhere (a folder's weights, an ONNX export) with the tokenizer of the folder beside it.
    internal static TransformerClassificationTransformer FromLoaded(LoadedClassifier loaded, string folder, int? maxTokens, string textColumnName, string? secondTextColumnName)
    {
        var tokenizer = PretrainedEncoder.TokenizerOf(folder, PretrainedEncoder.MaxTokens(maxTokens, loaded.Model.Encoder));
        var classes = loaded.Labels.ToArray();
        bool binary = classes.Length == 2;
        var (keyType, annotations) = LabelKey(binary || loaded.Model.IsRegressor ? null : classes);
        return new TransformerClassificationTransformer(tokenizer, loaded.Model, binary, classes, keyType, annotations,
            textColumnName, DefaultColumnNames.Score, DefaultColumnNames.Probability, DefaultColumnNames.PredictedLabel)
        { SecondTextColumnName = secondTextColumnName, LabelColumnName = DefaultColumnNames.Label };
    }

    /// <summary>Releases the <see cref="Backend"/> (an ONNX Runtime session) when it holds one.</summary>
    public void Dispose() => (Backend as IDisposable)?.Dispose();

    private readonly ReplicaPool<TransformerClassifier> _replicas;
    private readonly KeyDataViewType? _labelType;
    private readonly DataViewSchema.Annotations? _labelAnnotations;

    internal TransformerClassificationTransformer(TextTokenizer tokenizer, TransformerClassifier model, bool binary, string[] classNames,
        KeyDataViewType? labelType, DataViewSchema.Annotations? labelAnnotations,
        string textColumn, string scoreColumn, string probabilityColumn, string predictedLabelColumn)
    {
        Tokenizer = tokenizer;
        Model = model;
        _replicas = new ReplicaPool<TransformerClassifier>(() =>
        {
            var copy = model.Copy();
            foreach (var encoder in copy.Members) InferencePanels.AttachForGood(encoder); // a replica's weights never change
            return copy;
        });
        IsBinary = binary;
        ClassNames = classNames;
        _labelType = labelType;
        _labelAnnotations = labelAnnotations;
        (TextColumnName, ScoreColumnName, ProbabilityColumnName, PredictedLabelColumnName) = (textColumn, scoreColumn, probabilityColumn, predictedLabelColumn);
    }

    /// <summary>The tokenizer the model was trained with.</summary>
    public TextTokenizer Tokenizer { get; }
    /// <summary>The trained network (treat as read-only: scoring uses copies of its weights).</summary>
    public TransformerClassifier Model { get; }
    /// <summary>Binary (Boolean label) or multiclass (key label); false for a regressor too.</summary>
    public bool IsBinary { get; }
    /// <summary>Whether the model is a regressor: one <c>Score</c> column, the prediction itself.</summary>
    public bool IsRegression => Model.IsRegressor;
    /// <summary>Class names in score order.</summary>
    public IReadOnlyList<string> ClassNames { get; }
    /// <summary>Text column read.</summary>
    public string TextColumnName { get; }
    /// <summary>The second text column of sentence pairs, or null.</summary>
    public string? SecondTextColumnName { get; internal init; }
    /// <summary>Score column written.</summary>
    public string ScoreColumnName { get; }
    /// <summary>Probability column written (binary only).</summary>
    public string ProbabilityColumnName { get; }
    /// <summary>Predicted label column written.</summary>
    public string PredictedLabelColumnName { get; }
    /// <summary>The label column the model was trained on (null for models saved before it was recorded).</summary>
    public string? LabelColumnName { get; internal init; }
    /// <summary>How training went (null for a loaded model).</summary>
    public TrainingSummary? TrainingSummary { get; internal init; }
    internal KeyDataViewType? LabelType => _labelType;
    internal DataViewSchema.Annotations? LabelAnnotations => _labelAnnotations;

    /// <summary>
    /// Scores batches instead of the managed engine when set (for example ONNX Runtime, through
    /// <c>UseOnnxRuntime</c> in MLNetTransformers.Onnx). Null = the managed engine.
    /// </summary>
    public IClassifierBackend? Backend { get; private init; }

    /// <summary>The same transformer scoring through <paramref name="backend"/> (null = back to the managed engine).</summary>
    /// <param name="backend">The backend to score with; null = the managed engine.</param>
    public TransformerClassificationTransformer WithBackend(IClassifierBackend? backend) =>
        new(Tokenizer, Model, IsBinary, ClassNames.ToArray(), _labelType, _labelAnnotations, TextColumnName, ScoreColumnName, ProbabilityColumnName, PredictedLabelColumnName)
        { Backend = backend, TrainingSummary = TrainingSummary, LabelColumnName = LabelColumnName, SecondTextColumnName = SecondTextColumnName };

    /// <summary>
    /// The same transformer scoring with int8 linear layers (<see cref="Int8Quantization"/>: weights per output channel,
    /// activations per row at run time; AVX-VNNI where the CPU has it). A serving choice, like <c>UseOnnxRuntime</c>: the
    /// model file keeps the float weights and loads as float.
    /// </summary>
    public TransformerClassificationTransformer WithInt8Inference() => WithBackend(new Int8Backend(Model));

    /// <summary>Int8 copies of the classifier, one per concurrent caller.</summary>
    private sealed class Int8Backend(TransformerClassifier model) : IClassifierBackend
    {
        private readonly ReplicaPool<TransformerClassifier> _replicas = new(() =>
        {
            var copy = model.Copy();
            Int8Quantization.Quantize(copy);
            return copy;
        });

        public void Probabilities(TokenBatch batch, Span<float> probabilities)
        {
            int n = batch.BatchSize * model.Config.NumClasses;
            _replicas.Use(m => m.PredictProbabilities(batch).AsSpan(0, n).ToArray()).CopyTo(probabilities);
        }
    }

    /// <summary>
    /// The self-attention weights the classifier computes for <paramref name="text"/>: one map per layer and head of its
    /// encoder (member 0 of an ensemble), tokens on both axes. Thread-safe (runs on a copy of the model).
    /// </summary>
    /// <param name="text">The text to look at.</param>
    public IReadOnlyList<Interpretability.AttentionMap> AttentionMaps(string? text)
    {
        var model = Model.Copy();
        int max = Tokenizer.MaxTokens;
        var ids = new int[max];
        int n = Tokenizer.Encode(text, ids, new int[max]);
        foreach (var b in model.Encoder.Blocks) b.SelfAttention.RecordWeights = true; // a copy: the serving model stays tiled
        model.Forward(new TokenBatch(1, n, ids[..n]));
        var tokens = ids.Take(n).Select(Tokenizer.TokenText).ToArray();
        return model.Encoder.Blocks.SelectMany((b, i) => Interpretability.AttentionMap.PerHead("self-attention", i, b.SelfAttention.Weights, model.Config.Heads, tokens, tokens)).ToArray();
    }

    /// <summary>Class probabilities for one text (thread-safe); a regressor's prediction as one value.</summary>
    /// <param name="text">The text to classify.</param>
    public float[] PredictProbabilities(string? text)
    {
        if (SecondTextColumnName is not null) throw new InvalidOperationException($"This model reads sentence pairs (columns '{TextColumnName}' and '{SecondTextColumnName}'): call PredictProbabilities(text, second).");
        var result = new float[Model.Config.NumClasses];
        ScoreTexts(new[] { text }, null, result);
        return result;
    }

    /// <summary>Class probabilities (a regressor's prediction) for one sentence pair (thread-safe).</summary>
    /// <param name="text">The first text.</param>
    /// <param name="second">The second text.</param>
    public float[] PredictProbabilities(string? text, string? second)
    {
        if (SecondTextColumnName is null) throw new InvalidOperationException($"This model reads single texts (column '{TextColumnName}'), not pairs.");
        var result = new float[Model.Config.NumClasses];
        ScoreTexts(new[] { text }, new[] { second }, result);
        return result;
    }

    internal static DataViewSchema.DetachedColumn[] RegressionOutputColumns(string score) => [new DataViewSchema.DetachedColumn(score, NumberDataViewType.Single)];

    internal static DataViewSchema.DetachedColumn[] OutputColumns(TransformerClassifierOptions o, bool binary, int classes, string[]? names, KeyDataViewType? labelType)
        => OutputColumns(o.ScoreColumnName, o.ProbabilityColumnName, o.PredictedLabelColumnName, binary, classes, names, labelType, null);

    private static DataViewSchema.DetachedColumn[] OutputColumns(string score, string prob, string predicted, bool binary, int classes, string[]? names,
        KeyDataViewType? labelType, DataViewSchema.Annotations? labelAnnotations)
    {
        if (binary)
            return new[]
            {
                new DataViewSchema.DetachedColumn(score, NumberDataViewType.Single),
                new DataViewSchema.DetachedColumn(prob, NumberDataViewType.Single),
                new DataViewSchema.DetachedColumn(predicted, BooleanDataViewType.Instance),
            };
        var slots = new DataViewSchema.Annotations.Builder();
        if (names is not null)
        {
            var buffer = new VBuffer<ReadOnlyMemory<char>>(names.Length, names.Select(n => n.AsMemory()).ToArray());
            slots.Add("SlotNames", new VectorDataViewType(TextDataViewType.Instance, names.Length), (ValueGetter<VBuffer<ReadOnlyMemory<char>>>)((ref VBuffer<ReadOnlyMemory<char>> v) => buffer.CopyTo(ref v)));
        }
        return new[]
        {
            new DataViewSchema.DetachedColumn(score, new VectorDataViewType(NumberDataViewType.Single, classes), slots.ToAnnotations()),
            new DataViewSchema.DetachedColumn(predicted, labelType!, labelAnnotations ?? new DataViewSchema.Annotations.Builder().ToAnnotations()),
        };
    }

    /// <inheritdoc/>
    private protected override ColumnMapper CreateMapper(DataViewSchema inputSchema) => new Mapper(this, inputSchema);

    /// <summary>Writes class probabilities (a regressor's predictions) of <paramref name="texts"/> (paired with <paramref name="seconds"/>) into <paramref name="probs"/> ([n, classes]).</summary>
    internal void ScoreTexts(IReadOnlyList<string?> texts, IReadOnlyList<string?>? seconds, Span<float> probs)
    {
        int n = texts.Count * Model.Config.NumClasses;
        var encoded = new EncodedTexts(Tokenizer, texts, seconds);
        var batch = Batcher.Pack(encoded, Enumerable.Range(0, texts.Count), new int[texts.Count * Tokenizer.MaxTokens], new int[texts.Count * Tokenizer.MaxTokens], null);
        if (Backend is { } backend) backend.Probabilities(batch, probs[..n]);
        else _replicas.Use(model => model.PredictProbabilities(batch).AsSpan(0, n).ToArray()).CopyTo(probs);
    }

    private sealed class Mapper(TransformerClassificationTransformer p, DataViewSchema input) : TextColumnMapper(input, p.TextColumnName,
        p.IsRegression ? RegressionOutputColumns(p.ScoreColumnName)
            : OutputColumns(p.ScoreColumnName, p.ProbabilityColumnName, p.PredictedLabelColumnName, p.IsBinary, p.Model.Config.NumClasses, p.ClassNames.ToArray(), p._labelType, p._labelAnnotations),
        p.SecondTextColumnName)
    {
        private readonly TransformerClassificationTransformer _p = p;
        private delegate ReadOnlySpan<float> Scores();

        public override Delegate?[] CreateGetters(RowContext row, bool[] active)
        {
            int classes = _p.Model.Config.NumClasses;
            Scores cache = SecondText is { } second
                ? new BatchedRows<(string?, string?), float>(row, new[] { Text, second }, classes, BatchedRows<string?, float>.Pair(Text, second),
                    (pairs, results) => _p.ScoreTexts(pairs.Select(x => x.Item1).ToArray(), pairs.Select(x => x.Item2).ToArray(), results)).Current
                : new BatchedRows<string?, float>(row, new[] { Text }, classes, BatchedRows<string?, float>.Text(Text), (texts, results) => _p.ScoreTexts(texts, null, results)).Current;
            if (_p.IsRegression) return new Delegate?[] { active[0] ? (ValueGetter<float>)((ref float v) => v = cache()[0]) : null };
            if (_p.IsBinary)
            {
                return new Delegate?[]
                {
                    active[0] ? (ValueGetter<float>)((ref float v) => { var p = cache(); v = MathF.Log(p[1]) - MathF.Log(p[0]); }) : null,
                    active[1] ? (ValueGetter<float>)((ref float v) => v = cache()[1]) : null,
                    active[2] ? (ValueGetter<bool>)((ref bool v) => { var p = cache(); v = p[1] > p[0]; }) : null,
                };
            }
            return new Delegate?[]
            {
                active[0] ? (ValueGetter<VBuffer<float>>)((ref VBuffer<float> v) =>
                {
                    var p = cache();
                    var e = VBufferEditor.Create(ref v, classes);
                    p.CopyTo(e.Values);
                    v = e.Commit();
                }) : null,
                active[1] ? (ValueGetter<uint>)((ref uint v) =>
                {
                    var p = cache();
                    int arg = 0;
                    for (int c = 1; c < classes; c++) if (p[c] > p[arg]) arg = c;
                    v = (uint)arg + 1;
                }) : null,
            };
        }
    }
}
