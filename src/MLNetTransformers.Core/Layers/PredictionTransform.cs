namespace MLNetTransformers.Core.Layers;

/// <summary>
/// BERT's masked-LM head transform (Hugging Face's <c>BertPredictionHeadTransform</c>, RoBERTa's <c>lm_head.dense</c> +
/// <c>layer_norm</c>, DistilBERT's <c>vocab_transform</c> + <c>vocab_layer_norm</c>): hidden [n, d] →
/// LayerNorm(act(dense(hidden))) [n, d], before the decoder to the vocabulary. Weights <c>{prefix}dense.*</c>, <c>{prefix}norm.*</c>.
/// </summary>
public sealed class PredictionTransform
{
    private readonly Linear _dense;
    private readonly LayerNorm _norm;
    private readonly Activation _act;
    private float[]? _z, _a, _da;
    private int _rows;

    /// <summary>Declares the dense layer [d, d] and the LayerNorm.</summary>
    /// <param name="parameters">The parameter set the weights are declared in (and allocated by its owner).</param>
    /// <param name="prefix">Prefix of the parameter names.</param>
    /// <param name="dim">Width d.</param>
    /// <param name="activation">The encoder's activation (<c>hidden_act</c>).</param>
    /// <param name="eps">The LayerNorm's epsilon.</param>
    public PredictionTransform(ParameterSet parameters, string prefix, int dim, Activation activation, float eps)
    {
        _dense = new Linear(parameters, prefix + "dense.", dim, dim);
        _norm = new LayerNorm(parameters, prefix + "norm.", dim, eps);
        _act = activation;
    }

    /// <summary>x [n, d] → LayerNorm(act(x·Wᵀ + b)) [n, d] (a buffer reused by the next call).</summary>
    /// <param name="x">Hidden states [n, d].</param>
    /// <param name="rows">Rows (n).</param>
    public float[] Forward(float[] x, int rows)
    {
        _rows = rows;
        int n = rows * _dense.Out;
        var z = _z = _dense.Forward(x, rows); // the dense layer's buffer, unchanged until its next Forward
        var a = Workspace.Ensure(ref _a, n);
        Activations.Forward(_act, z, a, n);
        return _norm.Forward(a, rows);
    }

    /// <summary>dy [n, d] → dx [n, d] for the last Forward; adds the dense layer's and the LayerNorm's gradients.</summary>
    /// <param name="dy">Gradient of the loss with respect to the output.</param>
    public float[] Backward(float[] dy)
    {
        int n = _rows * _dense.Out;
        var da = Workspace.Ensure(ref _da, n);
        _norm.Backward(dy, _rows).AsSpan(0, n).CopyTo(da);
        Activations.Backward(_act, _z!, da, da, n);
        return _dense.Backward(da, _rows);
    }
}
