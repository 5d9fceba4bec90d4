namespace MLNetTransformers.Core.Layers;

/// <summary>
/// Rotary position embedding (RoFormer's RoPE): in every head, pairs of query and key components are rotated by the angle
/// p·θ_i, p the token's position in its sequence and θ_i = base^(−2i/hd), so a score depends on the distance between query
/// and key, not on where they are. The pairs are components i and i + hd/2 in the "rotate half" layout of Hugging Face's
/// Llama and ModernBERT (angles formed in float32, as transformers forms them), or 2i and 2i + 1 in RoFormer's own
/// (interleaved; angles p / base^(2i/hd) formed in double precision, as its sinusoidal table is, then rounded).
/// No parameters: it rotates the projected q and k of a self-attention layer in place, and its backward rotates their
/// gradients back (a rotation's transpose is its inverse).
/// </summary>
public sealed class RotaryPositions : IParallelWork
{
    private readonly int _half;
    private readonly float[] _invFreq;
    private float[] _cos = [], _sin = [];
    private int _positions;
    // The call in progress: rows of sequence b are _starts[b]..+_lengths[b] (packed) or b·T..+T (padded).
    private float[] _qkv = [];
    private int _stride, _width, _seqLen, _heads;
    private PackedSequences? _packed;
    private bool _inverse;
    private readonly bool _interleaved;

    /// <summary>Rotations for heads of <paramref name="headDim"/> with base <paramref name="theta"/>.</summary>
    /// <param name="headDim">Size of one head (even).</param>
    /// <param name="theta">The frequencies' base (<c>rope_theta</c>: 10,000 in RoFormer, 160,000 in ModernBERT's global layers).</param>
    /// <param name="ntkFactor">
    /// NTK scaling by a factor s (GTE's <c>rope_scaling</c> of type ntk, which applies it at every length): the frequencies
    /// of base·s, each divided by s^(2/hd); 1 = none.
    /// </param>
    /// <param name="interleaved">RoFormer's layout: components 2i and 2i + 1 rotate together, angles formed in double precision.</param>
    public RotaryPositions(int headDim, float theta, float ntkFactor = 1f, bool interleaved = false)
    {
        if (interleaved && ntkFactor != 1f) throw new ArgumentException("RoFormer's interleaved rotary positions are not NTK-scaled.", nameof(ntkFactor));
        _interleaved = interleaved;
        if (headDim <= 0 || headDim % 2 != 0) throw new ArgumentException($"Rotary positions need an even head size, got {headDim}.", nameof(headDim));
        if (!(theta > 1f) || float.IsInfinity(theta)) throw new ArgumentException($"The rotary base must be a finite number above 1, got {theta}.", nameof(theta));
        if (!(ntkFactor >= 1f) || float.IsInfinity(ntkFactor)) throw new ArgumentException($"The NTK factor must be a finite number of at least 1, got {ntkFactor}.", nameof(ntkFactor));
        (HeadDim, Theta, NtkFactor, _half) = (headDim, theta, ntkFactor, headDim / 2);
        // As transformers (and GTE's NTKScalingRotaryEmbedding) compute them, in float32: 1 / (base·s)^(2i / hd) / s^(2/hd).
        _invFreq = new float[_half];
        float scaledBase = (float)((double)theta * ntkFactor), divisor = (float)Math.Pow(ntkFactor, 2.0 / headDim);
        for (int i = 0; i < _half; i++)
        {
            _invFreq[i] = 1f / (float)Math.Pow(scaledBase, (float)(2 * i) / headDim);
            if (ntkFactor != 1f) _invFreq[i] /= divisor;
        }
    }

    /// <summary>Whether components 2i and 2i + 1 rotate together (RoFormer's layout) rather than i and i + hd/2.</summary>
    public bool Interleaved => _interleaved;

    /// <summary>The NTK scaling factor (1 = none).</summary>
    public float NtkFactor { get; }

    /// <summary>Size of one head.</summary>
    public int HeadDim { get; }
    /// <summary>The frequencies' base.</summary>
    public float Theta { get; }
    /// <summary>θ_i = 1 / base^(2i / hd), [hd/2], in float32 as transformers computes them.</summary>
    public ReadOnlySpan<float> InverseFrequencies => _invFreq;

    /// <summary>cos and sin of position <paramref name="position"/>'s angles, [hd/2] each, as the layout forms them (the ONNX export's tables).</summary>
    /// <param name="position">The token's position in its sequence.</param>
    public (float[] Cos, float[] Sin) Angles(int position)
    {
        var (cos, sin) = (new float[_half], new float[_half]);
        for (int i = 0; i < _half; i++)
        {
            // RoFormer's table: pos / 10000^(2i / hd) in numpy's doubles; transformers' rotate-half: float32 products.
            double angle = _interleaved ? position / Math.Pow(Theta, 2.0 * i / HeadDim) : (float)position * _invFreq[i];
            (cos[i], sin[i]) = ((float)Math.Cos(angle), (float)Math.Sin(angle));
        }
        return (cos, sin);
    }

    /// <summary>cos and sin of the angles of positions 0 … <paramref name="positions"/> − 1, [positions, hd/2] each (<see cref="Angles"/> row by row).</summary>
    /// <param name="positions">Positions in the tables.</param>
    public (float[] Cos, float[] Sin) Tables(int positions)
    {
        var (cos, sin) = (new float[positions * _half], new float[positions * _half]);
        for (int p = 0; p < positions; p++)
        {
            var (c, s) = Angles(p);
            c.CopyTo(cos, p * _half);
            s.CopyTo(sin, p * _half);
        }
        return (cos, sin);
    }

    // The tables [positions, hd/2] grow to the longest sequence seen.
    private void Ensure(int positions)
    {
        if (positions <= _positions) return;
        (_cos, _sin) = Tables(positions);
        _positions = positions;
    }

    /// <summary>
    /// Rotates the first <paramref name="width"/>·2 columns of every row of <paramref name="qkv"/> (queries then keys,
    /// heads of <see cref="HeadDim"/> side by side), rows of <paramref name="stride"/> floats: B padded sequences of T, or
    /// <paramref name="packed"/> ones. With <paramref name="inverse"/> the rotation is undone (the backward pass).
    /// </summary>
    /// <param name="qkv">The projected queries, keys (and values, untouched), [rows, stride].</param>
    /// <param name="stride">Floats per row.</param>
    /// <param name="width">Queries' width (heads · head size); the keys follow them.</param>
    /// <param name="batch">Sequences (B).</param>
    /// <param name="seqLen">Tokens per padded sequence (T).</param>
    /// <param name="packed">The packing when the rows are packed sequences, else null.</param>
    /// <param name="inverse">Whether to rotate back.</param>
    public void Rotate(float[] qkv, int stride, int width, int batch, int seqLen, PackedSequences? packed, bool inverse)
    {
        if (width % HeadDim != 0 || 2 * width > stride) throw new ArgumentException($"Rows of {stride} floats do not hold queries and keys of {width} in heads of {HeadDim}.", nameof(width));
        Ensure(seqLen);
        (_qkv, _stride, _width, _seqLen, _heads, _packed, _inverse) = (qkv, stride, width, seqLen, width / HeadDim, packed, inverse);
        try { WorkerPool.For(batch, this); }
        finally { (_qkv, _packed) = ([], null); }
    }

    void IParallelWork.Run(int b)
    {
        int start = _packed is null ? b * _seqLen : _packed.StartArray[b], length = _packed is null ? _seqLen : _packed.LengthArray[b];
        int half = _half;
        Span<float> x1 = stackalloc float[half], x2 = stackalloc float[half], t = stackalloc float[half];
        Span<float> evens = _interleaved ? stackalloc float[half] : default, odds = _interleaved ? stackalloc float[half] : default;
        for (int p = 0; p < length; p++)
        {
            ReadOnlySpan<float> cos = _cos.AsSpan(p * half, half), sin = _sin.AsSpan(p * half, half);
            var row = _qkv.AsSpan((start + p) * _stride, 2 * _width);
            for (int h = 0; h < 2 * _heads; h++)
            {
                // (x1, x2) → (x1·cos − x2·sin, x2·cos + x1·sin); inverse: (x1·cos + x2·sin, x2·cos − x1·sin)
                var head = row.Slice(h * HeadDim, HeadDim);
                scoped Span<float> lo = head[..half], hi = head[half..];
                if (_interleaved)
                {
                    // Pairs (2i, 2i + 1): rotated as the halves below, in scratch space, then put back in place.
                    lo = evens;
                    hi = odds;
                    for (int i = 0; i < half; i++) (lo[i], hi[i]) = (head[2 * i], head[2 * i + 1]);
                }
                lo.CopyTo(x1);
                hi.CopyTo(x2);
                TensorPrimitives.Multiply(x2, sin, t);
                if (_inverse) TensorPrimitives.MultiplyAdd(x1, cos, t, lo);
                else { TensorPrimitives.Multiply(x1, cos, lo); TensorPrimitives.Subtract(lo, t, lo); }
                TensorPrimitives.Multiply(x1, sin, t);
                if (_inverse) { TensorPrimitives.Multiply(x2, cos, hi); TensorPrimitives.Subtract(hi, t, hi); }
                else TensorPrimitives.MultiplyAdd(x2, cos, t, hi);
                if (_interleaved)
                    for (int i = 0; i < half; i++) (head[2 * i], head[2 * i + 1]) = (lo[i], hi[i]);
            }
        }
    }
}
