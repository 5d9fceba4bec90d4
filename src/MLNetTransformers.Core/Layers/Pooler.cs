namespace MLNetTransformers.Core.Layers;

/// <summary>BERT's pooler: pooled [B, d] → tanh(dense(pooled)) [B, d], weights <c>{prefix}dense.*</c>.</summary>
public sealed class Pooler
{
    private readonly Linear _dense;
    private float[]? _y, _dz;
    private int _batch;

    /// <summary>Declares <c>{prefix}dense.weight</c> [d, d] and <c>{prefix}dense.bias</c> [d].</summary>
    /// <param name="parameters">The parameter set the weights are declared in (and allocated by its owner).</param>
    /// <param name="prefix">Prefix of the parameter names.</param>
    /// <param name="dim">Width d of the pooled vectors.</param>
    public Pooler(ParameterSet parameters, string prefix, int dim) => _dense = new Linear(parameters, prefix + "dense.", dim, dim);

    /// <summary>The dense layer.</summary>
    public Linear Dense => _dense;

    /// <summary>x [B, d] → tanh(x·Wᵀ + b) [B, d] (a buffer reused by the next call).</summary>
    /// <param name="x">Pooled vectors [B, d].</param>
    /// <param name="batch">Rows (B).</param>
    public float[] Forward(float[] x, int batch)
    {
        int n = batch * _dense.Out;
        var y = Workspace.Ensure(ref _y, n);
        TensorPrimitives.Tanh(_dense.Forward(x, batch).AsSpan(0, n), y.AsSpan(0, n));
        _batch = batch;
        return y;
    }

    /// <summary>dy [B, d] → dx [B, d] for the last Forward; adds the dense layer's gradients.</summary>
    /// <param name="dy">Gradient of the loss with respect to the output.</param>
    public float[] Backward(float[] dy)
    {
        int n = _batch * _dense.Out;
        var dz = Workspace.Ensure(ref _dz, n);
        var y = _y.AsSpan(0, n);
        for (int i = 0; i < n; i++) dz[i] = dy[i] * (1f - y[i] * y[i]); // tanh' = 1 − tanh²
        return _dense.Backward(dz, _batch);
    }
}
