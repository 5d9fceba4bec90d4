namespace MLNetTransformers.Core.Layers;

/// <summary>Position-wise feed-forward: linear2(dropout(act(linear1(x)))), PyTorch's names <c>linear1</c>, <c>linear2</c>.</summary>
public sealed class FeedForward
{
    private readonly Linear _fc1, _fc2;
    private readonly Dropout _drop;
    private float[]? _act;
    [ThreadStatic] private static float[]? t_hidden;
    private float[] _h = Array.Empty<float>();

    /// <summary>Declares <c>{prefix}linear1.*</c> [ffn, d] and <c>{prefix}linear2.*</c> [d, ffn].</summary>
    /// <param name="parameters">The parameter set the weights are declared in (and allocated by its owner).</param>
    /// <param name="prefix">Prefix of the parameter names.</param>
    /// <param name="dim">Width d of each token vector.</param>
    /// <param name="hidden">Hidden width of the block.</param>
    /// <param name="activation">The non-linearity.</param>
    /// <param name="dropout">Dropout probability after the block.</param>
    /// <param name="seed">Seed of the dropout masks.</param>
    public FeedForward(ParameterSet parameters, string prefix, int dim, int hidden, Activation activation, float dropout, ulong seed)
    {
        _fc1 = new Linear(parameters, prefix + "linear1.", dim, hidden);
        _fc2 = new Linear(parameters, prefix + "linear2.", hidden, dim);
        _drop = new Dropout(dropout, seed);
        Activation = activation;
    }

    /// <summary>The non-linearity.</summary>
    public Activation Activation { get; }
    /// <summary>Expansion layer.</summary>
    public Linear Linear1 => _fc1;
    /// <summary>Projection back to d.</summary>
    public Linear Linear2 => _fc2;

    /// <summary>x: [n, d] → [n, d].</summary>
    /// <param name="x">Input activations (shapes as in the summary).</param>
    /// <param name="n">Rows (tokens) in the call.</param>
    /// <param name="training">Whether dropout is active.</param>
    public float[] Forward(float[] x, int n, bool training) => Forward(x, n, training, inference: false);

    /// <summary>With <paramref name="inference"/> (no backward will follow), the activation is fused into the first GEMM.</summary>
    internal float[] Forward(float[] x, int n, bool training, bool inference)
    {
        if (inference && !training) return _fc2.Forward(_fc1.ForwardActivated(x, n, Activation), n);
        _h = _fc1.Forward(x, n);                       // [n, ffn]
        int len = n * _fc1.Out;
        var a = Workspace.Ensure(ref _act, len);
        Activations.Forward(Activation, _h, a, len);
        return _fc2.Forward(_drop.Forward(a, len, training), n);
    }

    /// <summary>dy: [n, d] → dx: [n, d].</summary>
    /// <param name="dy">Gradient of the loss with respect to the output.</param>
    /// <param name="n">Rows (tokens) in the call.</param>
    public float[] Backward(float[] dy, int n)
    {
        int len = n * _fc1.Out;
        // The hidden-width gradient lives only until fc1's backward: one scratch shared by every FFN trained on this
        // thread, with dropout and the activation's backward applied in place.
        var da = _drop.Backward(_fc2.Backward(dy, n, inputGrad: true, into: Workspace.Ensure(ref t_hidden, len)), len, inPlace: true);
        Activations.Backward(Activation, _h, da, da, len); // in place
        return _fc1.Backward(da, n);
    }
}
