using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MLNetTransformers.Core.Layers;

/// <summary>
/// Attention of one query per row over that row's own keys and values (a decoding step of many hypotheses that each
/// have their own cache and their own source; or the positions of prompts being read, each over its cache up to
/// itself): out[r, h] = Σ_j softmax_j(scale·q[r,h]·K_r[j,h])·V_r[j,h]. Rows have different key counts, so there is no
/// padding and no mask; a row's result does not depend on the other rows. Rows run in parallel.
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
        // A piece is a row's heads: a (row, head) piece is a few dozen keys, less work than claiming it.
        WorkerPool.For(rows, this);
    }

    void IParallelWork.Run(int piece)
    {
        if (Vector512.IsHardwareAccelerated && _hd % 16 == 0) { RowHeads512(piece); return; }
        for (int h = 0; h < _heads; h++) Run(piece, h);
    }

    private void Run(int r, int h)
    {
        int hd = _hd, n = _lengths[r];
        var scores = _scores!.AsSpan((r * _heads + h) * _maxKeys, n);
        var q = _q.AsSpan(r * _qStride + h * hd, hd);
        float[] k = _keys[r], v = _values[r];
        for (int j = 0; j < n; j++) scores[j] = _scale * TensorPrimitives.Dot(q, k.AsSpan(_keyOffset + j * _stride + h * hd, hd));
        Softmax.InPlace(scores, n);
        var o = _out.AsSpan(r * _heads * hd + h * hd, hd);
        o.Clear();
        for (int j = 0; j < n; j++) TensorPrimitives.MultiplyAdd(v.AsSpan(_valueOffset + j * _stride + h * hd, hd), scores[j], o, o);
    }

    // Row r's heads together on 512-bit vectors: each cached key and value row is read once, front to back, for all
    // heads (a head at a time reads a quarter of every row per pass, and a step's caches are not in cache: the weights
    // streamed through since the last step), and there is no library call per key.
    private unsafe void RowHeads512(int r)
    {
        int hd = _hd, heads = _heads, n = _lengths[r], width = heads * hd, maxKeys = _maxKeys;
        fixed (float* q = &_q[r * _qStride], k = _keys[r], v = _values[r], s = &_scores![r * heads * maxKeys], o = &_out[r * width])
        {
            float* key = k + _keyOffset;
            for (int j = 0; j < n; j++, key += _stride)
            {
                // Two rows ahead: a row's cache is out of cache by its turn (the weights streamed through since), and one
                // row of a few dozen keys is too short for the hardware prefetcher to get going.
                if (Sse.IsSupported && j + 2 < n)
                    for (int e = 0; e < width; e += 16) Sse.Prefetch0(key + 2 * _stride + e);
                for (int h = 0; h < heads; h++)
                {
                    var acc = Vector512<float>.Zero;
                    for (int e = h * hd; e < (h + 1) * hd; e += 16) acc = Vector512.FusedMultiplyAdd(Vector512.Load(q + e), Vector512.Load(key + e), acc);
                    s[h * maxKeys + j] = _scale * Vector512.Sum(acc);
                }
            }
            for (int h = 0; h < heads; h++) Softmax.InPlace(new Span<float>(s + h * maxKeys, n), n);
            new Span<float>(o, width).Clear();
            float* value = v + _valueOffset;
            for (int e = 0; e < width && Sse.IsSupported; e += 16) { Sse.Prefetch0(value + e); Sse.Prefetch0(value + _stride + e); }
            for (int j = 0; j < n; j++, value += _stride)
            {
                if (Sse.IsSupported && j + 2 < n)
                    for (int e = 0; e < width; e += 16) Sse.Prefetch0(value + 2 * _stride + e);
                for (int h = 0; h < heads; h++)
                {
                    var w = Vector512.Create(s[h * maxKeys + j]);
                    for (int e = h * hd; e < (h + 1) * hd; e += 16) Vector512.FusedMultiplyAdd(Vector512.Load(value + e), w, Vector512.Load(o + e)).Store(o + e);
                }
            }
        }
    }
}
