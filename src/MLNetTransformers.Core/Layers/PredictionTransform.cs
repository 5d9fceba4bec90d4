namespace MLNetTransformers.Core.Layers;

/// <summary>
/// BERT's masked-LM head transform (Hugging Face's <c>BertPredictionHeadTransform</c>, RoBERTa's <c>lm_head.dense</c> +
/// <c>layer_norm</c>, DistilBERT's <c>vocab_transform</c> + <c>vocab_layer_norm</c>, ELECTRA's generator_predictions):
/// hidden [n, d] → LayerNorm(act(dense(hidden))) [n, e], before the decoder to the vocabulary, e the token embedding's
/// width (d but for ELECTRA). Weights <c>{prefix}dense.*</c>, <c>{prefix}norm.*</c>.
/// </summary>
public sealed class PredictionTransform
{
    private readonly Linear _dense;
    private readonly LayerNorm _norm;
    private readonly Activation _act;
    private float[]? _z, _a, _da;
    private int _rows;

    /// <summary>Declares the dense layer [e, d] and the LayerNorm over e.</summary>
    /// <param name="parameters">The parameter set the weights are declared in (and allocated by its owner).</param>
    /// <param name="prefix">Prefix of the parameter names.</param>
    /// <param name="dim">Width d of the hidden states.</param>
    /// <param name="activation">The encoder's activation (<c>hidden_act</c>).</param>
    /// <param name="eps">The LayerNorm's epsilon.</param>
    /// <param name="outDim">Width e of the output (the token embedding's); 0 = d.</param>
    /// <param name="bias">Whether the dense layer has a bias (ModernBERT's head has none).</param>
    /// <param name="normBias">Whether the norm has a shift β.</param>
    public PredictionTransform(ParameterSet parameters, string prefix, int dim, Activation activation, float eps, int outDim = 0, bool bias = true, bool normBias = true)
    {
        if (outDim <= 0) outDim = dim;
        _dense = new Linear(parameters, prefix + "dense.", dim, outDim, bias);
        _norm = new LayerNorm(parameters, prefix + "norm.", outDim, eps, normBias);
        _act = activation;
    }

    /// <summary>x [n, d] → LayerNorm(act(x·Wᵀ + b)) [n, e] (a buffer reused by the next call).</summary>
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

    /// <summary>dy [n, e] → dx [n, d] for the last Forward; adds the dense layer's and the LayerNorm's gradients.</summary>
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
