namespace MLNetTransformers.Core.Layers;

/// <summary>
/// Attention of one new query per row over that row's own keys and values (a decoding step of many hypotheses that
/// each have their own cache and their own source): out[r, h] = Σ_j softmax_j(scale·q[r,h]·K_r[j,h])·V_r[j,h].
/// Rows have different key counts, so there is no padding and no mask. Pieces (row, head) run in parallel.
/// Key j of row r is <c>keys[r][offset + j·stride + h·hd ..]</c>, its value <c>values[r][valueOffset + j·stride + h·hd ..]</c>.
/// </summary>
internal sealed class StepAttention : IParallelWork
{
    private float[] _q = Array.Empty<float>(), _out = Array.Empty<float>();
    private float[]? _scores;
    private float[][] _keys = Array.Empty<float[]>(), _values = Array.Empty<float[]>();
    private int[] _lengths = Array.Empty<int>();
    private int _qStride, _keyOffset, _valueOffset, _stride, _heads, _hd, _maxKeys;
    private float _scale;

    /// <summary>q: [rows, qStride] (head h at columns h·hd), output: [rows, heads·hd].</summary>
    public void Forward(float[] q, int qStride, float[][] keys, float[][] values, int keyOffset, int valueOffset, int stride,
        int[] lengths, float[] output, int rows, int heads, int headDim)
    {
        (_q, _qStride, _keys, _values, _keyOffset, _valueOffset, _stride, _lengths, _out, _heads, _hd) =
            (q, qStride, keys, values, keyOffset, valueOffset, stride, lengths, output, heads, headDim);
        _scale = 1f / MathF.Sqrt(headDim);
        _maxKeys = 0;
        for (int r = 0; r < rows; r++) _maxKeys = Math.Max(_maxKeys, lengths[r]);
        Workspace.Ensure(ref _scores, rows * heads * _maxKeys);
        WorkerPool.For(rows * heads, this);
    }

    void IParallelWork.Run(int piece)
    {
        int r = piece / _heads, h = piece % _heads, hd = _hd, n = _lengths[r];
        var q = _q.AsSpan(r * _qStride + h * hd, hd);
        var scores = _scores!.AsSpan(piece * _maxKeys, n);
        float[] k = _keys[r], v = _values[r];
        for (int j = 0; j < n; j++) scores[j] = _scale * TensorPrimitives.Dot(q, k.AsSpan(_keyOffset + j * _stride + h * hd, hd));
        Softmax.InPlace(scores, n);
        var o = _out.AsSpan(r * _heads * hd + h * hd, hd);
        o.Clear();
        for (int j = 0; j < n; j++) TensorPrimitives.MultiplyAdd(v.AsSpan(_valueOffset + j * _stride + h * hd, hd), scores[j], o, o);
    }
}
