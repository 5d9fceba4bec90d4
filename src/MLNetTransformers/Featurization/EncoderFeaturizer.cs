using System.Collections.Concurrent;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetTransformers.Classification;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Data;
using MLNetTransformers.Tokenization;

namespace MLNetTransformers.Featurization;

/// <summary>Estimator of <see cref="EncoderFeaturizerTransformer"/> (nothing to learn: Fit checks the schema).</summary>
public sealed class EncoderFeaturizerEstimator : IEstimator<EncoderFeaturizerTransformer>
{
    private readonly EncoderFeaturizerTransformer _transformer;

    /// <summary>Featurizes with a trained encoder.</summary>
    public EncoderFeaturizerEstimator(TextTokenizer tokenizer, TransformerClassifier encoder, string inputColumnName = "Text", string outputColumnName = "Features")
        => _transformer = new EncoderFeaturizerTransformer(tokenizer, encoder, inputColumnName, outputColumnName);

    /// <inheritdoc/>
    public EncoderFeaturizerTransformer Fit(IDataView input)
    {
        _transformer.GetOutputSchema(input.Schema);
        return _transformer;
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        var text = inputSchema.FirstOrDefault(c => c.Name == _transformer.InputColumnName);
        if (text.Name is null) throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Text column '{_transformer.InputColumnName}' was not found in the input.");
        if (text.Kind != SchemaShape.Column.VectorKind.Scalar || text.ItemType is not TextDataViewType)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Text column '{_transformer.InputColumnName}' has type {text.ItemType}; expected String (text).");
        return SchemaShapeColumns.Extend(inputSchema, new[] { _transformer.OutputColumn });
    }
}

/// <summary>
/// Text → sentence embedding ([d_model] floats, CLS or mean pooling as the encoder was trained) from a trained
/// transformer encoder, for stock trainers such as SdcaLogisticRegression or LightGbm.
/// </summary>
public sealed class EncoderFeaturizerTransformer : LazyRowTransformer
{
    private readonly ConcurrentBag<TransformerClassifier> _replicas = new();

    /// <summary>Featurizes with <paramref name="encoder"/> (its weights are copied per thread, never changed).</summary>
    public EncoderFeaturizerTransformer(TextTokenizer tokenizer, TransformerClassifier encoder, string inputColumnName = "Text", string outputColumnName = "Features")
    {
        Tokenizer = tokenizer;
        Encoder = encoder;
        InputColumnName = inputColumnName;
        OutputColumnName = outputColumnName;
        if (tokenizer.VocabularySize != encoder.Config.VocabSize)
            throw new ArgumentException($"The tokenizer's vocabulary ({tokenizer.VocabularySize}) does not match the encoder's ({encoder.Config.VocabSize}).");
    }

    /// <summary>Tokenizer of the encoder.</summary>
    public TextTokenizer Tokenizer { get; }
    /// <summary>The encoder (its classification head is not used).</summary>
    public TransformerClassifier Encoder { get; }
    /// <summary>Text column read.</summary>
    public string InputColumnName { get; }
    /// <summary>Embedding column written.</summary>
    public string OutputColumnName { get; }
    /// <summary>Embedding size.</summary>
    public int Dimension => Encoder.Config.ModelDim;

    internal DataViewSchema.DetachedColumn OutputColumn => new(OutputColumnName, new VectorDataViewType(NumberDataViewType.Single, Dimension));

    /// <summary>The embedding of one text (thread-safe).</summary>
    public float[] Embed(string? text)
    {
        var result = new float[Dimension];
        Embed(new[] { text }, result);
        return result;
    }

    /// <summary>Embeddings of <paramref name="texts"/> into <paramref name="result"/> ([n, d]; thread-safe).</summary>
    public void Embed(IReadOnlyList<string?> texts, Span<float> result)
    {
        var model = Rent();
        try
        {
            var encoded = new EncodedTexts(Tokenizer, texts);
            int n = texts.Count, max = Tokenizer.MaxTokens;
            var batch = Batcher.Pack(encoded, Enumerable.Range(0, n), new int[n * max], new int[n * max], null);
            model.Embed(batch).AsSpan(0, n * Dimension).CopyTo(result);
        }
        finally { _replicas.Add(model); }
    }

    private TransformerClassifier Rent()
    {
        if (_replicas.TryTake(out var m)) return m;
        var replica = new TransformerClassifier(Encoder.Config);
        Encoder.Parameters.Data.CopyTo(replica.Parameters.Data, 0);
        return replica;
    }

    /// <inheritdoc/>
    protected override ColumnMapper CreateMapper(DataViewSchema inputSchema) => new Mapper(this, inputSchema);

    private sealed class Mapper : ColumnMapper
    {
        private readonly EncoderFeaturizerTransformer _p;
        private readonly DataViewSchema.Column _text;

        public Mapper(EncoderFeaturizerTransformer p, DataViewSchema input) : base(input)
        {
            _p = p;
            _text = TokenizerTransformer.RequireText(input, p.InputColumnName);
        }

        public override IReadOnlyList<DataViewSchema.DetachedColumn> Outputs => new[] { _p.OutputColumn };
        public override IEnumerable<DataViewSchema.Column> Dependencies => new[] { _text };

        public override Delegate?[] CreateGetters(RowContext row, bool[] active)
        {
            int d = _p.Dimension;
            var rows = new BatchedTextRows(row, _text, d, (texts, results) => _p.Embed(texts, results));
            ValueGetter<VBuffer<float>> getter = (ref VBuffer<float> v) =>
            {
                var e = VBufferEditor.Create(ref v, d);
                rows.Current().CopyTo(e.Values);
                v = e.Commit();
            };
            return new Delegate?[] { getter };
        }
    }
}
