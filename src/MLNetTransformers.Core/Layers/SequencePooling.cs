namespace MLNetTransformers.Core.Layers;

/// <summary>Token states [B, T, d] → one vector per sequence [B, d]: the first token's (BERT's [CLS]) or the mean over real tokens.</summary>
public sealed class SequencePooling
{
    private float[]? _pooled, _dhidden;
    private bool[]? _padding;
    private int _batch, _seq;

    /// <summary>A pooling layer (no weights).</summary>
    /// <param name="dim">d, the width of a token state.</param>
    /// <param name="pooling">CLS or mean.</param>
    public SequencePooling(int dim, Pooling pooling) => (Dim, Pooling) = (dim, pooling);

    /// <summary>Pooling mode.</summary>
    public Pooling Pooling { get; }
    /// <summary>d.</summary>
    public int Dim { get; }
    /// <summary>Sequences of the last Forward.</summary>
    public int Batch => _batch;
    /// <summary>Pooled vectors of the last Forward, [B, d].</summary>
    public ReadOnlySpan<float> Pooled => _pooled.AsSpan(0, _batch * Dim);

    /// <summary>hidden [B, T, d] → pooled [B, d] (a buffer reused by the next call). <paramref name="padding"/>: [B, T], true = padded.</summary>
    /// <param name="hidden">Token states [B, T, d].</param>
    /// <param name="batch">Sequences in the batch (B).</param>
    /// <param name="seqLen">Tokens per sequence (T).</param>
    /// <param name="padding">[B, T] flags, true where a position is padding; null = none.</param>
    public float[] Forward(float[] hidden, int batch, int seqLen, bool[]? padding)
    {
        int d = Dim;
        (_batch, _seq, _padding) = (batch, seqLen, padding);
        var pooled = Workspace.Ensure(ref _pooled, batch * d);
        for (int b = 0; b < batch; b++)
        {
            var dst = pooled.AsSpan(b * d, d);
            if (Pooling == Pooling.Cls)
            {
                hidden.AsSpan(b * seqLen * d, d).CopyTo(dst);
                continue;
            }
            dst.Clear();
            int count = 0;
            for (int t = 0; t < seqLen; t++)
            {
                if (padding is not null && padding[b * seqLen + t]) continue;
                TensorPrimitives.Add(dst, hidden.AsSpan((b * seqLen + t) * d, d), dst);
                count++;
            }
            if (count > 0) TensorPrimitives.Multiply(dst, 1f / count, dst); // an all-padding row pools to zeros
        }
        return pooled;
    }

    /// <summary>dpooled [B, d] → dhidden [B, T, d] of the last Forward.</summary>
    /// <param name="dpooled">Gradient of the loss with respect to the pooled vectors, [B, d].</param>
    public float[] Backward(float[] dpooled)
    {
        int d = Dim, n = _batch * _seq;
        var dh = Workspace.Ensure(ref _dhidden, n * d);
        dh.AsSpan(0, n * d).Clear();
        for (int b = 0; b < _batch; b++)
        {
            var g = dpooled.AsSpan(b * d, d);
            if (Pooling == Pooling.Cls)
            {
                g.CopyTo(dh.AsSpan(b * _seq * d, d));
                continue;
            }
            int count = 0;
            for (int t = 0; t < _seq; t++) if (_padding is null || !_padding[b * _seq + t]) count++;
            if (count == 0) continue;
            float w = 1f / count;
            for (int t = 0; t < _seq; t++)
            {
                if (_padding is not null && _padding[b * _seq + t]) continue;
                TensorPrimitives.Multiply(g, w, dh.AsSpan((b * _seq + t) * d, d));
            }
        }
        return dh;
    }
}
