namespace MLNetTransformers.Core.Models;

/// <summary>
/// The embedding block a stack starts with: token <c>tok</c> [× ESM's token-dropout scale] + position <c>pos</c> (ids from
/// <see cref="TransformerConfig.PositionOffset"/>) [+ token type <c>tok_type</c>] [→ LayerNorm <c>emb_norm</c>] →
/// dropout [→ projection <c>emb_proj</c>]. The library's own models use token + position; BERT adds token types and the
/// LayerNorm, RoBERTa the position offset, ELECTRA narrower tables and the projection to d_model. A family chooses the
/// parts through its config.
/// </summary>
public sealed class InputEmbeddings
{
    private readonly Dropout _drop;
    private readonly int _dim, _offset; // _dim: the tables' width (EmbeddingWidth)
    private int[]? _zeroTypes;
    private PackedSequences? _packed;
    private readonly int _maskDropout; // ESM's token dropout: the mask token's id, or −1
    private float[]? _rowScale;        // [n]: each token row's token-dropout scale (0 for mask tokens)

    /// <summary>Declares the block's parameters under <paramref name="prefix"/>.</summary>
    /// <param name="parameters">The parameter set the weights are declared in (and allocated by its owner).</param>
    /// <param name="prefix">Prefix of the parameter names.</param>
    /// <param name="config">The model's shape: which parts there are.</param>
    /// <param name="seed">Seed of the dropout masks.</param>
    /// <param name="tokens">Another stack's token embedding used instead of a new one (tied embeddings), or null.</param>
    public InputEmbeddings(ParameterSet parameters, string prefix, TransformerConfig config, ulong seed, Embedding? tokens = null)
    {
        _dim = config.EmbeddingWidth;
        _offset = config.PositionOffset;
        _maskDropout = config.MaskTokenDropout;
        Tok = tokens is null ? new Embedding(parameters, prefix + "tok.", config.VocabSize, _dim) : new Embedding(tokens.Weight);
        Pos = PositionalEncoding.Create(config.PositionalEncoding, parameters, prefix + "pos.", config.MaxLength + config.PositionOffset, _dim);
        TokenType = config.TypeVocabSize > 0 ? new Embedding(parameters, prefix + "tok_type.", config.TypeVocabSize, _dim) : null;
        Norm = config.EmbeddingNorm ? new LayerNorm(parameters, prefix + "emb_norm.", _dim, config.LayerNormEps, config.NormBiases) : null;
        _drop = new Dropout(config.Dropout, seed);
        Projection = config.ProjectsEmbeddings ? new Linear(parameters, prefix + "emb_proj.", _dim, config.ModelDim) : null;
    }

    /// <summary>Token embedding [vocab, d].</summary>
    public Embedding Tok { get; }
    /// <summary>Positional encoding ([MaxLength + PositionOffset, d] when learned); null without absolute positions.</summary>
    public PositionalEncoding? Pos { get; }
    /// <summary>Token-type (segment) embedding [types, d], or null.</summary>
    public Embedding? TokenType { get; }
    /// <summary>LayerNorm after the sum, or null.</summary>
    public LayerNorm? Norm { get; }
    /// <summary>Linear map from the tables' width to d_model after dropout (ELECTRA's <c>embeddings_project</c>), or null.</summary>
    public Linear? Projection { get; }

    /// <summary>ids [B, T] (and token types [B, T], null = all type 0) → embeddings [B, T, d] after dropout (and the projection).</summary>
    /// <param name="ids">Token ids [B, T].</param>
    /// <param name="tokenTypes">Token type ids [B, T] (segment A = 0, B = 1); null = all 0. Ignored without a type embedding.</param>
    /// <param name="batch">Sequences in the batch (B).</param>
    /// <param name="seqLen">Tokens per sequence (T).</param>
    /// <param name="training">Whether dropout is active.</param>
    public float[] Forward(int[] ids, int[]? tokenTypes, int batch, int seqLen, bool training) => Forward(ids, tokenTypes, batch, seqLen, null, training);

    /// <summary>
    /// As <see cref="Forward(int[], int[], int, int, bool)"/>, with the batch's padding, which ESM's token dropout needs
    /// (each sequence's share of mask tokens is of its real tokens).
    /// </summary>
    /// <param name="ids">Token ids [B, T].</param>
    /// <param name="tokenTypes">Token type ids [B, T]; null = all 0.</param>
    /// <param name="batch">Sequences in the batch (B).</param>
    /// <param name="seqLen">Tokens per sequence (T).</param>
    /// <param name="keyPadding">[B, T] flags, true where a position is padding; null = none.</param>
    /// <param name="training">Whether dropout is active.</param>
    public float[] Forward(int[] ids, int[]? tokenTypes, int batch, int seqLen, bool[]? keyPadding, bool training)
    {
        int n = batch * seqLen;
        if (tokenTypes is not null && TokenType is not null && tokenTypes.Length < n)
            throw new ArgumentException($"Token type ids hold {tokenTypes.Length} values; a [{batch}, {seqLen}] batch needs {n}.", nameof(tokenTypes));
        _packed = null;
        var x = Tok.Forward(ids, n);
        if (_maskDropout >= 0)
            for (int b = 0; b < batch; b++)
            {
                int length = keyPadding is null ? seqLen : seqLen - keyPadding.AsSpan(b * seqLen, seqLen).Count(true);
                ScaleTokens(x, ids, b * seqLen, seqLen, length);
            }
        Pos?.AddTo(x, batch, seqLen, _offset);
        return AddTypesNormDrop(x, tokenTypes, n, training);
    }

    /// <summary>
    /// Packed sequences: ids [N] (and token types [N], null = all 0) of the rows <paramref name="packed"/> lays out,
    /// each at its position in its sequence → embeddings [N, d] after dropout.
    /// </summary>
    /// <param name="ids">Token ids [N].</param>
    /// <param name="tokenTypes">Token type ids [N]; null = all 0.</param>
    /// <param name="packed">Where each row's sequence and position are.</param>
    /// <param name="training">Whether dropout is active.</param>
    internal float[] Forward(int[] ids, int[]? tokenTypes, PackedSequences packed, bool training)
    {
        _packed = packed;
        var x = Tok.Forward(ids, packed.Rows);
        if (_maskDropout >= 0)
            for (int b = 0; b < packed.Batch; b++) ScaleTokens(x, ids, packed.Starts[b], packed.Lengths[b], packed.Lengths[b]);
        Pos?.AddTo(x, packed.Positions, _offset);
        return AddTypesNormDrop(x, tokenTypes, packed.Rows, training);
    }

    // ESM's token dropout on one sequence's rows [start, start + rows) of x [n, e], `length` of them real tokens: mask
    // tokens zeroed, the rest scaled by (1 − 0.12) / (1 − masks / length), as EsmEmbeddings computes it in float32.
    private void ScaleTokens(float[] x, int[] ids, int start, int rows, int length)
    {
        var scale = Workspace.Ensure(ref _rowScale, ids.Length);
        int masks = 0;
        for (int t = 0; t < rows; t++) if (ids[start + t] == _maskDropout) masks++;
        float observed = length > 0 ? (float)masks / length : 0f;
        float s = (float)(1 - TransformerConfig.MaskTokenDropoutTrainRatio) / (1f - observed);
        for (int t = 0; t < rows; t++)
        {
            int r = start + t;
            scale[r] = ids[r] == _maskDropout ? 0f : s;
            TensorPrimitives.Multiply(x.AsSpan(r * _dim, _dim), scale[r], x.AsSpan(r * _dim, _dim));
        }
    }

    // x [n, e] (tokens + positions) + token types → LayerNorm → dropout [→ projection, n × d]: what both layouts share.
    private float[] AddTypesNormDrop(float[] x, int[]? tokenTypes, int n, bool training)
    {
        if (TokenType is not null)
        {
            var types = TokenType.Forward(tokenTypes ?? Workspace.Ensure(ref _zeroTypes, n), n); // all type 0: a fresh array, never written
            TensorPrimitives.Add(x.AsSpan(0, n * _dim), types.AsSpan(0, n * _dim), x.AsSpan(0, n * _dim));
        }
        if (Norm is not null) x = Norm.Forward(x, n);
        x = _drop.Forward(x, n * _dim, training);
        return Projection is null ? x : Projection.Forward(x, n);
    }

    /// <summary>Backward of the last <see cref="Forward(int[], int[], int, int, bool)"/>: adds the gradients of every table (and of the LayerNorm).</summary>
    /// <param name="dx">Gradient of the loss with respect to the output, [B, T, d].</param>
    /// <param name="batch">Sequences in the batch (B).</param>
    /// <param name="seqLen">Tokens per sequence (T).</param>
    public void Backward(float[] dx, int batch, int seqLen)
    {
        int n = batch * seqLen;
        var d = NormDropBackward(dx, n);
        Pos?.Backward(d, batch, seqLen, _offset);
        ScaleTokensBackward(d, n);
        Tok.Backward(d, n);
    }

    /// <summary>Backward of the last packed <see cref="Forward(int[], int[], PackedSequences, bool)"/>, dx [N, d].</summary>
    internal void Backward(float[] dx)
    {
        var packed = _packed ?? throw new InvalidOperationException("The last embedding forward was not packed.");
        var d = NormDropBackward(dx, packed.Rows);
        Pos?.Backward(d, packed.Positions, _offset);
        ScaleTokensBackward(d, packed.Rows);
        Tok.Backward(d, packed.Rows);
    }

    // The token table's gradient through the token-dropout scale (in place: the position and type tables have taken theirs).
    private void ScaleTokensBackward(float[] d, int n)
    {
        if (_maskDropout < 0) return;
        for (int r = 0; r < n; r++) TensorPrimitives.Multiply(d.AsSpan(r * _dim, _dim), _rowScale![r], d.AsSpan(r * _dim, _dim));
    }

    // Backward of AddTypesNormDrop: the gradient reaching the token and position tables; adds the type table's (and the projection's).
    private float[] NormDropBackward(float[] dx, int n)
    {
        if (Projection is not null) dx = Projection.Backward(dx, n);
        var d = _drop.Backward(dx, n * _dim);
        if (Norm is not null) d = Norm.Backward(d, n);
        TokenType?.Backward(d, n);
        return d;
    }
}
