using MLNetTransformers.Persistence;

namespace MLNetTransformers.Tokenization;

/// <summary>Maps a text column to token ids and an attention mask with a fitted <see cref="TextTokenizer"/>.</summary>
public sealed class TokenizerTransformer : LazyRowTransformer, IModelPart, IModelPartLoader<TokenizerTransformer>
{
    static string IModelPartLoader<TokenizerTransformer>.Kind => "tokenizer";

    private sealed record TokenizerRecord(string Tokenizer, string Input, string Ids, string Mask);

    object IModelPart.SavePart(ModelPartWriter w) => new TokenizerRecord(w.Tokenizer(Tokenizer), InputColumnName, TokenIdsColumnName, AttentionMaskColumnName);

    static ITransformer IModelPartLoader<TokenizerTransformer>.LoadPart(ModelPartReader r)
    {
        var rec = r.Record<TokenizerRecord>();
        return new TokenizerTransformer(r.Tokenizer(rec.Tokenizer), rec.Input, rec.Ids, rec.Mask);
    }

    /// <summary>Wraps a tokenizer.</summary>
    /// <param name="tokenizer">The fitted tokenizer.</param>
    /// <param name="inputColumnName">Input text column.</param>
    /// <param name="tokenIdsColumnName">Output column of token ids (int64 vector).</param>
    /// <param name="attentionMaskColumnName">Output column of the attention mask (1 = real token, 0 = padding).</param>
    public TokenizerTransformer(TextTokenizer tokenizer, string inputColumnName = DefaultColumnNames.Text, string tokenIdsColumnName = DefaultColumnNames.TokenIds, string attentionMaskColumnName = DefaultColumnNames.AttentionMask)
        => (Tokenizer, InputColumnName, TokenIdsColumnName, AttentionMaskColumnName) = (tokenizer, inputColumnName, tokenIdsColumnName, attentionMaskColumnName);

    /// <summary>The fitted tokenizer.</summary>
    public TextTokenizer Tokenizer { get; }
    /// <summary>Text column read.</summary>
    public string InputColumnName { get; }
    /// <summary>Output column of token ids.</summary>
    public string TokenIdsColumnName { get; }
    /// <summary>Output column of the attention mask.</summary>
    public string AttentionMaskColumnName { get; }

    internal static DataViewSchema.DetachedColumn[] OutputColumns(string ids, string mask, int maxTokens) => new[]
    {
        new DataViewSchema.DetachedColumn(ids, new VectorDataViewType(NumberDataViewType.Int64, maxTokens)),
        new DataViewSchema.DetachedColumn(mask, new VectorDataViewType(NumberDataViewType.Int64, maxTokens)),
    };

    internal static DataViewSchema.Column RequireText(DataViewSchema schema, string name)
    {
        var col = schema.GetColumnOrNull(name) ?? throw new ArgumentOutOfRangeException(nameof(name),
            $"Text column '{name}' was not found in the input (columns: {string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => c.Name))}).");
        if (col.Type is not TextDataViewType) throw new ArgumentOutOfRangeException(nameof(name), $"Text column '{name}' has type {col.Type}; expected String (text).");
        return col;
    }

    /// <inheritdoc/>
    private protected override ColumnMapper CreateMapper(DataViewSchema inputSchema) => new Mapper(this, inputSchema);

    private sealed class Mapper(TokenizerTransformer parent, DataViewSchema input)
        : TextColumnMapper(input, parent.InputColumnName, OutputColumns(parent.TokenIdsColumnName, parent.AttentionMaskColumnName, parent.Tokenizer.MaxTokens))
    {
        private readonly TokenizerTransformer _parent = parent;

        public override Delegate?[] CreateGetters(RowContext row, bool[] active)
        {
            var tokenizer = _parent.Tokenizer;
            int max = tokenizer.MaxTokens;
            var textGetter = row.Input.GetGetter<ReadOnlyMemory<char>>(Text);
            var ids = new int[max];
            var mask = new int[max];
            long cached = -1;
            ReadOnlyMemory<char> text = default;
            void Compute()
            {
                if (cached == row.Input.Position) return;
                textGetter(ref text);
                tokenizer.Encode(text.Span, ids, mask);
                cached = row.Input.Position;
            }
            ValueGetter<VBuffer<long>> Vector(int[] source) => (ref VBuffer<long> dst) =>
            {
                Compute();
                var editor = VBufferEditor.Create(ref dst, max);
                for (int i = 0; i < max; i++) editor.Values[i] = source[i];
                dst = editor.Commit();
            };
            return new Delegate?[] { active[0] ? Vector(ids) : null, active[1] ? Vector(mask) : null };
        }
    }
}
