namespace MLNetTransformers.Core.Layers;

/// <summary>
/// DeBERTa-v2's <c>ConvLayer</c> (deberta-v2-xlarge and -xxlarge): after the first block, a 1-D convolution over each
/// sequence of the embeddings x₀ (kernel k, zero beyond the sequence's ends and at padding), zero at padding rows, dropout,
/// tanh or GELU, added to the first block's output y, then LayerNorm: y' = LN(y + act(conv(x₀))). The convolution runs as
/// k products of shifted rows: conv(x₀)[t] = b + Σ_j W_j · x₀[t + j − (k−1)/2], W_j = <c>conv.weight</c>[:, :, j].
/// </summary>
public sealed class ConvLayer
{
    private readonly int _d, _k;
    private readonly PoolerActivation _activation;
    private readonly Dropout _dropout;
    private float[]? _taps;     // W_j [k][d_out, d_in], gathered from the [d_out, d_in, k] weight each forward
    private float[]? _shifted;  // x₀ shifted by each offset [k][rows, d] (zero where there is no source row)
    private float[]? _z, _pre, _a, _sum, _dact, _dtap, _dshift, _dx0;
    private int[]? _source;     // [k][rows]: the row offset j reads for each row, −1 for none
    private bool[]? _real;
    private int _rows;

    /// <summary>Declares <c>{prefix}conv.weight</c> [d, d, k], <c>{prefix}conv.bias</c> [d] and <c>{prefix}LayerNorm.*</c>.</summary>
    /// <param name="parameters">The parameter set to declare in.</param>
    /// <param name="prefix">Name prefix (<c>conv.</c> under the encoder).</param>
    /// <param name="dim">Model width d.</param>
    /// <param name="kernel">Kernel size k (odd: the output keeps the sequence's length).</param>
    /// <param name="activation">tanh (DeBERTa's default <c>conv_act</c>) or GELU.</param>
    /// <param name="eps">The LayerNorm's epsilon.</param>
    /// <param name="dropout">Dropout on the convolution's output in training.</param>
    /// <param name="seed">The dropout's seed.</param>
    public ConvLayer(ParameterSet parameters, string prefix, int dim, int kernel, PoolerActivation activation, float eps, float dropout, ulong seed)
    {
        if (kernel < 1 || kernel % 2 == 0) throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "The convolution's kernel must be odd and positive.");
        if (activation is not (PoolerActivation.Tanh or PoolerActivation.Gelu)) throw new ArgumentOutOfRangeException(nameof(activation), activation, "The convolution's activation is tanh or GELU.");
        (_d, _k, _activation) = (dim, kernel, activation);
        Weight = parameters.Add(prefix + "conv.weight", [dim, dim, kernel], Init.Normal(0.02f), decay: true);
        Bias = parameters.Add(prefix + "conv.bias", [dim], Init.Zeros, decay: false);
        Norm = new LayerNorm(parameters, prefix + "LayerNorm.", dim, eps);
        _dropout = new Dropout(dropout, seed);
    }

    /// <summary>The convolution's weight [d_out, d_in, k].</summary>
    public ParameterTensor Weight { get; }
    /// <summary>The convolution's bias [d].</summary>
    public ParameterTensor Bias { get; }
    /// <summary>The LayerNorm after the sum.</summary>
    public LayerNorm Norm { get; }

    /// <summary>LN(y + act(conv(x₀))) over padded rows [B·T, d] (padding: null = none).</summary>
    /// <param name="x0">The embeddings, the first block's input, [B·T, d].</param>
    /// <param name="y">The first block's output, [B·T, d].</param>
    /// <param name="batch">Sequences (B).</param>
    /// <param name="seqLen">Tokens per sequence (T).</param>
    /// <param name="padding">[B·T] flags, true at padding; null = none.</param>
    /// <param name="training">Whether dropout is active and activations are kept for the backward pass.</param>
    public float[] Forward(float[] x0, float[] y, int batch, int seqLen, bool[]? padding, bool training)
    {
        Prepare(batch * seqLen, padding);
        for (int b = 0; b < batch; b++) Sources(b * seqLen, seqLen);
        return Run(x0, y, training);
    }

    /// <summary>LN(y + act(conv(x₀))) over packed rows [N, d] (every row real; sequences as <paramref name="packed"/> lays them out).</summary>
    /// <param name="x0">The embeddings, [N, d].</param>
    /// <param name="y">The first block's output, [N, d].</param>
    /// <param name="packed">The packing.</param>
    /// <param name="training">Whether dropout is active and activations are kept for the backward pass.</param>
    public float[] Forward(float[] x0, float[] y, PackedSequences packed, bool training)
    {
        Prepare(packed.Rows, padding: null);
        for (int b = 0; b < packed.Batch; b++) Sources(packed.Starts[b], packed.Lengths[b]);
        return Run(x0, y, training);
    }

    // The rows of this call and which are real (not padding).
    private void Prepare(int rows, bool[]? padding)
    {
        _rows = rows;
        Workspace.Ensure(ref _source, _k * rows);
        var real = Workspace.Ensure(ref _real, rows);
        for (int r = 0; r < rows; r++) real[r] = padding is null || !padding[r];
    }

    // Each offset's source row for the rows of one sequence [start, start + length): inside it, real, for a real row; else −1.
    private void Sources(int start, int length)
    {
        int half = (_k - 1) / 2, end = start + length;
        for (int r = start; r < end; r++)
            for (int j = 0; j < _k; j++)
            {
                int s = r + j - half;
                _source![j * _rows + r] = _real![r] && s >= start && s < end && _real[s] ? s : -1;
            }
    }

    private float[] Run(float[] x0, float[] y, bool training)
    {
        int n = _rows, d = _d, dd = d * d;
        var taps = Workspace.Ensure(ref _taps, _k * dd);
        var w = Weight.Value;
        for (int o = 0; o < d; o++)
            for (int i = 0; i < d; i++)
                for (int j = 0; j < _k; j++) taps[j * dd + o * d + i] = w[(o * d + i) * _k + j];
        var all = Workspace.Ensure(ref _shifted, _k * n * d);
        var z = Workspace.Ensure(ref _z, n * d);
        for (int r = 0; r < n; r++) Bias.Value.CopyTo(z.AsSpan(r * d, d));
        for (int j = 0; j < _k; j++)
        {
            var shifted = all.AsSpan(j * n * d, n * d);
            for (int r = 0; r < n; r++)
            {
                int s = _source![j * n + r];
                if (s >= 0) x0.AsSpan(s * d, d).CopyTo(shifted.Slice(r * d, d));
                else shifted.Slice(r * d, d).Clear();
            }
            Gemm.MatMulTransB(shifted, taps.AsSpan(j * dd, dd), z.AsSpan(0, n * d), n, d, d, accumulate: true);
        }
        for (int r = 0; r < n; r++) if (!_real![r]) z.AsSpan(r * d, d).Clear(); // masked_fill at padding
        var dropped = _dropout.Forward(z, n * d, training);
        var a = Workspace.Ensure(ref _a, n * d);
        if (_activation == PoolerActivation.Gelu)
        {
            var pre = Workspace.Ensure(ref _pre, n * d); // GELU's input, for its backward
            dropped.AsSpan(0, n * d).CopyTo(pre);
            Activations.Forward(Activation.Gelu, pre.AsSpan(0, n * d), a.AsSpan(0, n * d));
        }
        else TensorPrimitives.Tanh(dropped.AsSpan(0, n * d), a.AsSpan(0, n * d));
        var sum = Workspace.Ensure(ref _sum, n * d);
        TensorPrimitives.Add(y.AsSpan(0, n * d), a.AsSpan(0, n * d), sum.AsSpan(0, n * d));
        return Norm.Forward(sum, n);
    }

    /// <summary>Backward from d(y'): returns d(y), the first block's output gradient; d(x₀) is <see cref="EmbeddingGradient"/>.</summary>
    /// <param name="dout">d(y') [rows, d].</param>
    public float[] Backward(float[] dout)
    {
        int n = _rows, d = _d, dd = d * d;
        var dsum = Norm.Backward(dout, n); // d(y) = d(sum)
        var dact = Workspace.Ensure(ref _dact, n * d);
        if (_activation == PoolerActivation.Gelu) Activations.Backward(Activation.Gelu, _pre.AsSpan(0, n * d), dsum.AsSpan(0, n * d), dact.AsSpan(0, n * d));
        else
            for (int i = 0; i < n * d; i++) dact[i] = dsum[i] * (1f - _a![i] * _a[i]); // tanh' = 1 − a²
        var dz = _dropout.Backward(dact, n * d);
        for (int r = 0; r < n; r++) if (!_real![r]) dz.AsSpan(r * d, d).Clear();
        for (int r = 0; r < n; r++) TensorPrimitives.Add(Bias.Grad, dz.AsSpan(r * d, d), Bias.Grad);
        var dx0 = Workspace.Ensure(ref _dx0, n * d);
        Array.Clear(dx0, 0, n * d);
        var dtap = Workspace.Ensure(ref _dtap, dd);
        var dshift = Workspace.Ensure(ref _dshift, n * d);
        for (int j = 0; j < _k; j++)
        {
            // dW_j = dzᵀ · shifted_j; d(shifted_j) = dz · W_j, added back to the rows it was read from.
            Gemm.MatMulTransA(dz.AsSpan(0, n * d), _shifted.AsSpan(j * n * d, n * d), dtap, d, d, n);
            var grad = Weight.Grad;
            for (int o = 0; o < d; o++)
                for (int i = 0; i < d; i++) grad[(o * d + i) * _k + j] += dtap[o * d + i];
            Gemm.MatMul(dz.AsSpan(0, n * d), _taps.AsSpan(j * dd, dd), dshift, n, d, d);
            for (int r = 0; r < n; r++)
            {
                int s = _source![j * n + r];
                if (s >= 0) TensorPrimitives.Add(dx0.AsSpan(s * d, d), dshift.AsSpan(r * d, d), dx0.AsSpan(s * d, d));
            }
        }
        return dsum;
    }

    /// <summary>d(x₀) from the last <see cref="Backward"/>, [rows, d]: add it to the first block's input gradient.</summary>
    public float[] EmbeddingGradient => _dx0 ?? [];
}
