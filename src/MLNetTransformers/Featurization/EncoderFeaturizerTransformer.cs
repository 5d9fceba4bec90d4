using MLNetTransformers.Classification;
using MLNetTransformers.Persistence;

namespace MLNetTransformers.Featurization;

/// <summary>
/// Text or token ids → sentence embedding ([d_model] floats, CLS or mean pooling as the encoder was trained) from a
/// trained transformer encoder, for stock trainers such as SdcaLogisticRegression or LightGbm. A token-id input
/// (Int64 or Int32 vector, e.g. the TokenIds column of <c>TokenizeForTransformer</c> with the encoder's tokenizer)
/// is read up to its first [PAD].
/// </summary>
public sealed class EncoderFeaturizerTransformer : LazyRowTransformer, IModelPart, IModelPartLoader<EncoderFeaturizerTransformer>
{
    static string IModelPartLoader<EncoderFeaturizerTransformer>.Kind => "featurizer";

    private sealed record FeaturizerRecord(string Tokenizer, string Checkpoint, string Input, string Output);

    object IModelPart.SavePart(ModelPartWriter w) => new FeaturizerRecord(w.Tokenizer(Tokenizer), w.Checkpoint(Encoder), InputColumnName, OutputColumnName);

    static ITransformer IModelPartLoader<EncoderFeaturizerTransformer>.LoadPart(ModelPartReader r)
    {
        var rec = r.Record<FeaturizerRecord>();
        // Files written before the encoder was a model of its own hold a classifier whose head is unused.
        var model = r.Checkpoint<ITransformerModel>(rec.Checkpoint);
        var encoder = model as TransformerEncoder ?? (model as TransformerClassifier)?.Encoder
            ?? throw new InvalidDataException($"Model file '{r.Path}': entry '{rec.Checkpoint}' holds a {model.Kind} model where an encoder belongs.");
        return new EncoderFeaturizerTransformer(r.Tokenizer(rec.Tokenizer), encoder, rec.Input, rec.Output);
    }

    private readonly ReplicaPool<TransformerEncoder> _replicas;

    /// <summary>Featurizes with <paramref name="encoder"/> (its weights are copied, never changed).</summary>
    /// <param name="tokenizer">The encoder's tokenizer.</param>
    /// <param name="encoder">A trained encoder (e.g. a classifier's <see cref="TransformerClassifier.Encoder"/> or masked-LM pretraining's).</param>
    /// <param name="inputColumnName">Text column, or token ids from <paramref name="tokenizer"/>.</param>
    /// <param name="outputColumnName">Embedding column written.</param>
    public EncoderFeaturizerTransformer(TextTokenizer tokenizer, TransformerEncoder encoder, string inputColumnName = DefaultColumnNames.Text, string outputColumnName = DefaultColumnNames.Features)
    {
        Tokenizer = tokenizer;
        Encoder = encoder.OwnsParameters ? encoder : encoder.Copy();
        _replicas = new ReplicaPool<TransformerEncoder>(Replica);
        InputColumnName = inputColumnName;
        OutputColumnName = outputColumnName;
        if (!tokenizer.FitsEmbedding(encoder.Config.VocabSize, encoder.Config.VocabularyMultiple))
            throw new ArgumentException($"The tokenizer's vocabulary ({tokenizer.VocabularySize}) does not match the encoder's ({encoder.Config.VocabSize}).");
    }

    /// <summary>
    /// Whether embeddings are computed with int8 linear layers (<see cref="Int8Quantization"/>: weights per output channel,
    /// activations per row at run time). A serving choice, like an ONNX Runtime backend: the model file keeps the float
    /// weights and loads as float.
    /// </summary>
    public bool Int8Inference { get; private init; }

    /// <summary>The same featurizer computing with int8 linear layers (or back to float).</summary>
    /// <param name="enabled">True for int8, false for float.</param>
    public EncoderFeaturizerTransformer WithInt8Inference(bool enabled = true) =>
        new(Tokenizer, Encoder, InputColumnName, OutputColumnName) { Int8Inference = enabled, PretrainingSummary = PretrainingSummary };

    private TransformerEncoder Replica()
    {
        var copy = Encoder.Copy();
        if (Int8Inference) Int8Quantization.Quantize(copy);
        else InferencePanels.AttachForGood(copy); // a replica's weights never change
        return copy;
    }

    /// <summary>Tokenizer of the encoder.</summary>
    public TextTokenizer Tokenizer { get; }
    /// <summary>The encoder: a starting point for a classifier (<see cref="TransformerClassifierOptions.InitialModel"/>).</summary>
    public TransformerEncoder Encoder { get; }
    /// <summary>
    /// The whole masked language model, when this featurizer came from masked-LM pretraining (null otherwise, and for a
    /// loaded model): fill masks with it (<see cref="LanguageModeling.FillMaskTransformer"/>).
    /// </summary>
    public MaskedLanguageModel? MaskedLanguageModel { get; internal init; }
    /// <summary>How masked-LM pretraining went, when this featurizer came from it (null otherwise, and for a loaded model).</summary>
    public LanguageModeling.LanguageModelSummary? PretrainingSummary { get; internal init; }
    /// <summary>Text column read.</summary>
    public string InputColumnName { get; }
    /// <summary>Embedding column written.</summary>
    public string OutputColumnName { get; }
    /// <summary>Embedding size.</summary>
    public int Dimension => Encoder.Config.SentenceDim;

    internal DataViewSchema.DetachedColumn OutputColumn => new(OutputColumnName, new VectorDataViewType(NumberDataViewType.Single, Dimension));

    /// <summary>The encoder's self-attention weights for <paramref name="text"/>: one map per layer and head. Thread-safe (runs on a copy of the encoder).</summary>
    /// <param name="text">The text to look at.</param>
    public IReadOnlyList<Interpretability.AttentionMap> AttentionMaps(string? text)
    {
        var encoder = Encoder.Copy();
        int max = Tokenizer.MaxTokens;
        var ids = new int[max];
        int n = Tokenizer.Encode(text, ids, new int[max]);
        foreach (var b in encoder.Blocks) b.SelfAttention.RecordWeights = true; // a copy: the serving encoder stays tiled
        encoder.Forward(ids[..n], 1, n, null, training: false);
        var tokens = ids.Take(n).Select(Tokenizer.TokenText).ToArray();
        return encoder.Blocks.SelectMany((b, i) => Interpretability.AttentionMap.PerHead("self-attention", i, b.SelfAttention.Weights, encoder.Config.Heads, tokens, tokens)).ToArray();
    }

    /// <summary>The embedding of one text (thread-safe).</summary>
    /// <param name="text">The text (null or empty gives the embedding of an empty text).</param>
    public float[] Embed(string? text)
    {
        var result = new float[Dimension];
        Embed(new[] { text }, result);
        return result;
    }

    /// <summary>Embeddings of <paramref name="texts"/> into <paramref name="result"/> ([n, d]; thread-safe).</summary>
    /// <param name="texts">The texts.</param>
    /// <param name="result">Receives the embeddings, [n, d] row-major.</param>
    public void Embed(IReadOnlyList<string?> texts, Span<float> result) => EmbedCountingTokens(texts, result);

    /// <summary>
    /// <see cref="Embed(IReadOnlyList{string}, Span{float})"/>, returning the tokens the encoder read (special tokens
    /// included, after truncation) and how many texts were cut to the tokenizer's length.
    /// </summary>
    internal (long Tokens, int Truncated) EmbedCountingTokens(IReadOnlyList<string?> texts, Span<float> result)
    {
        var encoded = new EncodedTexts(Tokenizer, texts);
        EmbedEncoded(encoded, texts.Count, result);
        long tokens = 0;
        for (int i = 0; i < texts.Count; i++) tokens += encoded.Lengths[i];
        return (tokens, encoded.Truncated);
    }

    /// <summary>Embeddings of rows of token ids into <paramref name="result"/> ([n, d]; thread-safe).</summary>
    /// <param name="ids">Rows of token ids from the encoder's tokenizer, each read up to its first [PAD] (through its end token when padding is the end token).</param>
    /// <param name="result">Receives the embeddings, [n, d] row-major.</param>
    public void EmbedIds(IReadOnlyList<long[]> ids, Span<float> result)
    {
        var encoded = new EncodedTexts(Encoder.Config.MaxLength, ids, Tokenizer.PadId, Encoder.Config.VocabSize, Tokenizer.SepId);
        EmbedEncoded(encoded, ids.Count, result);
    }

    private void EmbedEncoded(EncodedTexts encoded, int n, Span<float> result)
    {
        int max = encoded.MaxTokens;
        var batch = Batcher.Pack(encoded, Enumerable.Range(0, n), new int[n * max], new int[n * max], null);
        _replicas.Use(model => model.Embed(batch).AsSpan(0, n * Dimension).ToArray()).CopyTo(result);
    }

    /// <inheritdoc/>
    private protected override ColumnMapper CreateMapper(DataViewSchema inputSchema) => new Mapper(this, inputSchema);

    private sealed class Mapper : ColumnMapper
    {
        private readonly EncoderFeaturizerTransformer _p;
        private readonly DataViewSchema.Column _text;

        private readonly bool _ids;

        public Mapper(EncoderFeaturizerTransformer p, DataViewSchema input) : base(input)
        {
            _p = p;
            var col = input.GetColumnOrNull(p.InputColumnName) ?? throw new ArgumentOutOfRangeException(nameof(input),
                $"Input column '{p.InputColumnName}' was not found in the input (columns: {string.Join(", ", input.Where(c => !c.IsHidden).Select(c => c.Name))}).");
            _ids = col.Type is VectorDataViewType v && (v.ItemType == NumberDataViewType.Int64 || v.ItemType == NumberDataViewType.Int32);
            if (!_ids && col.Type is not TextDataViewType)
                throw new ArgumentOutOfRangeException(nameof(input), $"Input column '{p.InputColumnName}' has type {col.Type}; expected String (text) or a vector of Int64/Int32 token ids.");
            _text = col;
        }

        public override IReadOnlyList<DataViewSchema.DetachedColumn> Outputs => new[] { _p.OutputColumn };
        public override IEnumerable<DataViewSchema.Column> Dependencies => new[] { _text };

        public override Delegate?[] CreateGetters(RowContext row, bool[] active)
        {
            int d = _p.Dimension;
            Func<ReadOnlySpan<float>> current = _ids
                ? new BatchedRows<long[], float>(row, new[] { _text }, d, TokenIdColumn.Reader(_text), (ids, results) => _p.EmbedIds(ids, results)).Current
                : new BatchedRows<string?, float>(row, new[] { _text }, d, BatchedRows<string?, float>.Text(_text), (texts, results) => _p.Embed(texts, results)).Current;
            ValueGetter<VBuffer<float>> getter = (ref VBuffer<float> v) =>
            {
                var e = VBufferEditor.Create(ref v, d);
                current().CopyTo(e.Values);
                v = e.Commit();
            };
            return new Delegate?[] { getter };
        }
    }
}
