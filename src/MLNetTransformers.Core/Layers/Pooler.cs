namespace MLNetTransformers.Core.Layers;

/// <summary>
/// BERT's pooler: pooled [B, d] → tanh(dense(pooled)) [B, d], weights <c>{prefix}dense.*</c>; with
/// <see cref="PoolerActivation.Relu"/>, DistilBERT's <c>pre_classifier</c> + ReLU; with <see cref="PoolerActivation.Gelu"/>,
/// ELECTRA's <c>classifier.dense</c> + GELU; with a norm after the activation (<c>{prefix}norm.*</c>), ModernBERT's
/// prediction head (<c>head.dense</c>, GELU, <c>head.norm</c>); of another width and with tanh or no activation,
/// sentence-transformers' Dense module after the pooling.
/// </summary>
public sealed class Pooler
{
    private readonly Linear _dense;
    private readonly PoolerActivation _activation;
    private readonly LayerNorm? _norm;
    private float[]? _y, _z, _dz;
    private int _batch;

    /// <summary>Declares <c>{prefix}dense.weight</c> [d, d] and <c>{prefix}dense.bias</c> [d].</summary>
    /// <param name="parameters">The parameter set the weights are declared in (and allocated by its owner).</param>
    /// <param name="prefix">Prefix of the parameter names.</param>
    /// <param name="dim">Width d of the pooled vectors.</param>
    /// <param name="activation">tanh (BERT), ReLU (DistilBERT's classifier) or GELU (ELECTRA's).</param>
    /// <param name="bias">Whether the dense layer has a bias.</param>
    /// <param name="normEps">With a positive value, a LayerNorm of that epsilon after the activation (ModernBERT's head); 0 = none.</param>
    /// <param name="normBias">Whether that norm has a shift β.</param>
    /// <param name="outDim">Width of the output; 0 = <paramref name="dim"/>.</param>
    public Pooler(ParameterSet parameters, string prefix, int dim, PoolerActivation activation = PoolerActivation.Tanh, bool bias = true, float normEps = 0f, bool normBias = true, int outDim = 0)
    {
        _dense = new Linear(parameters, prefix + "dense.", dim, outDim > 0 ? outDim : dim, bias);
        _activation = activation;
        if (normEps > 0f) _norm = new LayerNorm(parameters, prefix + "norm.", _dense.Out, normEps, normBias);
    }

    /// <summary>The LayerNorm after the activation, or null.</summary>
    public LayerNorm? Norm => _norm;

    /// <summary>The dense layer.</summary>
    public Linear Dense => _dense;

    /// <summary>x [B, d] → act(x·Wᵀ + b) [B, out] (a buffer reused by the next call).</summary>
    /// <param name="x">Pooled vectors [B, d].</param>
    /// <param name="batch">Rows (B).</param>
    public float[] Forward(float[] x, int batch)
    {
        int n = batch * _dense.Out;
        var y = Workspace.Ensure(ref _y, n);
        var z = _dense.Forward(x, batch).AsSpan(0, n);
        if (_activation == PoolerActivation.Relu) TensorPrimitives.Max(z, 0f, y.AsSpan(0, n));
        else if (_activation == PoolerActivation.Gelu)
        {
            z.CopyTo(Workspace.Ensure(ref _z, n)); // GELU's backward needs its input; the dense layer's buffer is reused
            Activations.Forward(Kernels.Activation.Gelu, z, y.AsSpan(0, n));
        }
        else if (_activation == PoolerActivation.Identity) z.CopyTo(y);
        else TensorPrimitives.Tanh(z, y.AsSpan(0, n));
        _batch = batch;
        return _norm is null ? y : _norm.Forward(y, batch);
    }

    /// <summary>dy [B, out] → dx [B, d] for the last Forward; adds the dense layer's gradients.</summary>
    /// <param name="dy">Gradient of the loss with respect to the output.</param>
    public float[] Backward(float[] dy)
    {
        int n = _batch * _dense.Out;
        if (_norm is not null) dy = _norm.Backward(dy, _batch);
        var dz = Workspace.Ensure(ref _dz, n);
        var y = _y.AsSpan(0, n);
        if (_activation == PoolerActivation.Relu)
            for (int i = 0; i < n; i++) dz[i] = y[i] > 0f ? dy[i] : 0f;
        else if (_activation == PoolerActivation.Gelu) Activations.Backward(Kernels.Activation.Gelu, _z.AsSpan(0, n), dy.AsSpan(0, n), dz.AsSpan(0, n));
        else if (_activation == PoolerActivation.Identity) dy.AsSpan(0, n).CopyTo(dz);
        else
            for (int i = 0; i < n; i++) dz[i] = dy[i] * (1f - y[i] * y[i]); // tanh' = 1 − tanh²
        return _dense.Backward(dz, _batch);
    }
}
