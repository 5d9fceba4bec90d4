namespace MLNetTransformers.Core.Layers;

/// <summary>
/// A padded batch [B, T] with its padding taken out (PyTorch's <c>pack_padded_sequence</c>, the "remove padding" of
/// FasterTransformer, FlashAttention's varlen): the real tokens of sequence b are rows
/// <see cref="Starts"/>[b] .. + <see cref="Lengths"/>[b] of an [N, d] matrix. Every per-token layer (projections, FFN,
/// LayerNorm, dropout) then runs on N rows instead of B·T, and attention runs per sequence at its own length, so no
/// FLOP is spent on padding. Packs only right-padded batches (each row's real tokens first), every sequence non-empty.
/// </summary>
public sealed class PackedSequences
{
    private int[]? _lengths, _starts, _source, _positions;

    /// <summary>Sequences (B).</summary>
    public int Batch { get; private set; }
    /// <summary>Padded length (T).</summary>
    public int SeqLen { get; private set; }
    /// <summary>Real tokens in all (N).</summary>
    public int Rows { get; private set; }
    /// <summary>Real tokens of each sequence, [B].</summary>
    public ReadOnlySpan<int> Lengths => _lengths.AsSpan(0, Batch);
    /// <summary>First packed row of each sequence, [B].</summary>
    public ReadOnlySpan<int> Starts => _starts.AsSpan(0, Batch);
    /// <summary>Position of each packed row inside its sequence, [N].</summary>
    public ReadOnlySpan<int> Positions => _positions.AsSpan(0, Rows);

    internal int[] LengthArray => _lengths!;
    internal int[] StartArray => _starts!;

    /// <summary>
    /// Lays out the packing of a padded batch; false (and nothing packed) when there is no padding, when a row's padding
    /// is not all at its end, or when a row is all padding.
    /// </summary>
    /// <param name="keyPadding">[B, T] flags, true where a position is padding; null = none.</param>
    /// <param name="batch">Sequences (B).</param>
    /// <param name="seqLen">Padded length (T).</param>
    public bool TryPack(bool[]? keyPadding, int batch, int seqLen)
    {
        if (keyPadding is null) return false;
        var lengths = Workspace.Ensure(ref _lengths, batch);
        var starts = Workspace.Ensure(ref _starts, batch);
        int rows = 0;
        for (int b = 0; b < batch; b++)
        {
            var row = keyPadding.AsSpan(b * seqLen, seqLen);
            int length = row.IndexOf(true);
            if (length < 0) length = seqLen;
            if (length == 0 || row[length..].Contains(false)) return false;
            (lengths[b], starts[b]) = (length, rows);
            rows += length;
        }
        if (rows == batch * seqLen) return false;
        (Batch, SeqLen, Rows) = (batch, seqLen, rows);
        var source = Workspace.Ensure(ref _source, rows);
        var positions = Workspace.Ensure(ref _positions, rows);
        for (int b = 0, r = 0; b < batch; b++)
            for (int t = 0; t < lengths[b]; t++, r++) (source[r], positions[r]) = (b * seqLen + t, t);
        return true;
    }

    /// <summary>[B, T] per-token values → [N] packed (ids, token types).</summary>
    /// <param name="padded">Values [B, T].</param>
    /// <param name="packed">Receives [N].</param>
    public void Gather(int[] padded, int[] packed)
    {
        for (int r = 0; r < Rows; r++) packed[r] = padded[_source![r]];
    }

    /// <summary>[B, T, d] → [N, d] packed rows.</summary>
    /// <param name="padded">Rows [B, T, d].</param>
    /// <param name="packed">Receives [N, d].</param>
    /// <param name="dim">d.</param>
    public void Gather(float[] padded, float[] packed, int dim)
    {
        for (int r = 0; r < Rows; r++) padded.AsSpan(_source![r] * dim, dim).CopyTo(packed.AsSpan(r * dim, dim));
    }

    /// <summary>[N, d] packed rows → [B, T, d], padding rows zero.</summary>
    /// <param name="packed">Rows [N, d].</param>
    /// <param name="padded">Receives [B, T, d].</param>
    /// <param name="dim">d.</param>
    public void Scatter(float[] packed, float[] padded, int dim)
    {
        for (int b = 0; b < Batch; b++)
        {
            int len = _lengths![b];
            packed.AsSpan(_starts![b] * dim, len * dim).CopyTo(padded.AsSpan(b * SeqLen * dim, len * dim));
            padded.AsSpan((b * SeqLen + len) * dim, (SeqLen - len) * dim).Clear();
        }
    }
}
