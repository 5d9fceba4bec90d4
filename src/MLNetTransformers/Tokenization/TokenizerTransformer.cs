using MLNetTransformers.Persistence;

namespace MLNetTransformers.Tokenization;

/// <summary>
/// Maps a text column to token ids and an attention mask with a fitted <see cref="TextTokenizer"/>; given a second text
/// column, maps each row's pair to <c>[CLS] a [SEP] b [SEP]</c> (<see cref="TextTokenizer.EncodePair"/>) and adds a
/// token type column.
/// </summary>
public sealed class TokenizerTransformer : LazyRowTransformer, IModelPart, IModelPartLoader<TokenizerTransformer>
{
    static string IModelPartLoader<TokenizerTransformer>.Kind => "tokenizer";

    private sealed record TokenizerRecord(string Tokenizer, string Input, string Ids, string Mask, string? SecondInput = null, string? TokenTypes = null);

    object IModelPart.SavePart(ModelPartWriter w) => new TokenizerRecord(w.Tokenizer(Tokenizer), InputColumnName, TokenIdsColumnName, AttentionMaskColumnName,
        SecondInputColumnName, SecondInputColumnName is null ? null : TokenTypeIdsColumnName);

    static ITransformer IModelPartLoader<TokenizerTransformer>.LoadPart(ModelPartReader r)
    {
        var rec = r.Record<TokenizerRecord>();
        return new TokenizerTransformer(r.Tokenizer(rec.Tokenizer), rec.Input, rec.Ids, rec.Mask, rec.SecondInput, rec.TokenTypes ?? DefaultColumnNames.TokenTypeIds);
    }

    /// <summary>Wraps a tokenizer.</summary>
    /// <param name="tokenizer">The fitted tokenizer.</param>
    /// <param name="inputColumnName">Input text column.</param>
    /// <param name="tokenIdsColumnName">Output column of token ids (int64 vector).</param>
    /// <param name="attentionMaskColumnName">Output column of the attention mask (1 = real token, 0 = padding).</param>
    /// <param name="secondInputColumnName">Second text of a sentence pair (segment B), or null for single texts.</param>
    /// <param name="tokenTypeIdsColumnName">Output column of token type ids (pairs only).</param>
    public TokenizerTransformer(TextTokenizer tokenizer, string inputColumnName = DefaultColumnNames.Text, string tokenIdsColumnName = DefaultColumnNames.TokenIds,
        string attentionMaskColumnName = DefaultColumnNames.AttentionMask, string? secondInputColumnName = null, string tokenTypeIdsColumnName = DefaultColumnNames.TokenTypeIds)
        => (Tokenizer, InputColumnName, TokenIdsColumnName, AttentionMaskColumnName, SecondInputColumnName, TokenTypeIdsColumnName) =
            (tokenizer, inputColumnName, tokenIdsColumnName, attentionMaskColumnName, secondInputColumnName, tokenTypeIdsColumnName);

    /// <summary>The fitted tokenizer.</summary>
    public TextTokenizer Tokenizer { get; }
    /// <summary>Text column read.</summary>
    public string InputColumnName { get; }
    /// <summary>Output column of token ids.</summary>
    public string TokenIdsColumnName { get; }
    /// <summary>Output column of the attention mask.</summary>
    public string AttentionMaskColumnName { get; }
    /// <summary>Second text column of sentence pairs, or null.</summary>
    public string? SecondInputColumnName { get; }
    /// <summary>Output column of token type ids (written for sentence pairs only).</summary>
    public string TokenTypeIdsColumnName { get; }

    internal static DataViewSchema.DetachedColumn[] OutputColumns(string ids, string mask, int maxTokens, string? types = null)
    {
        var vector = new VectorDataViewType(NumberDataViewType.Int64, maxTokens);
        var columns = new List<DataViewSchema.DetachedColumn> { new(ids, vector), new(mask, vector) };
        if (types is not null) columns.Add(new(types, vector));
        return columns.ToArray();
    }

    internal static DataViewSchema.Column RequireText(DataViewSchema schema, string name)
    {
        var col = schema.GetColumnOrNull(name) ?? throw new ArgumentOutOfRangeException(nameof(name),
            $"Text column '{name}' was not found in the input (columns: {string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => c.Name))}).");
        if (col.Type is not TextDataViewType) throw new ArgumentOutOfRangeException(nameof(name), $"Text column '{name}' has type {col.Type}; expected String (text).");
        return col;
    }

    /// <inheritdoc/>
    private protected override ColumnMapper CreateMapper(DataViewSchema inputSchema) => new Mapper(this, inputSchema);

    private protected override string SavedState => "a tokenizer (its vocabulary)";

    private sealed class Mapper(TokenizerTransformer parent, DataViewSchema input)
        : TextColumnMapper(input, parent.InputColumnName, OutputColumns(parent.TokenIdsColumnName, parent.AttentionMaskColumnName, parent.Tokenizer.MaxTokens,
            parent.SecondInputColumnName is null ? null : parent.TokenTypeIdsColumnName), parent.SecondInputColumnName)
    {
        private readonly TokenizerTransformer _parent = parent;

        public override Delegate?[] CreateGetters(RowContext row, bool[] active)
        {
            var tokenizer = _parent.Tokenizer;
            int max = tokenizer.MaxTokens;
            var textGetter = row.Input.GetGetter<ReadOnlyMemory<char>>(Text);
            var secondGetter = SecondText is { } b ? row.Input.GetGetter<ReadOnlyMemory<char>>(b) : null;
            var ids = new int[max];
            var mask = new int[max];
            var types = new int[max];
            long cached = -1;
            ReadOnlyMemory<char> text = default, second = default;
            void Compute()
            {
                if (cached == row.Input.Position) return;
                textGetter(ref text);
                if (secondGetter is null) tokenizer.Encode(text.Span, ids, mask);
                else
                {
                    secondGetter(ref second);
                    tokenizer.EncodePair(text.Span, second.Span, ids, mask, types, out _);
                }
                cached = row.Input.Position;
            }
            ValueGetter<VBuffer<long>> Vector(int[] source) => (ref VBuffer<long> dst) =>
            {
                Compute();
                var editor = VBufferEditor.Create(ref dst, max);
                for (int i = 0; i < max; i++) editor.Values[i] = source[i];
                dst = editor.Commit();
            };
            var getters = new List<Delegate?> { active[0] ? Vector(ids) : null, active[1] ? Vector(mask) : null };
            if (secondGetter is not null) getters.Add(active[2] ? Vector(types) : null);
            return getters.ToArray();
        }
    }
}
