namespace MLNetTransformers.Core.Layers;

/// <summary>y = x·Wᵀ + b with W stored [out, in] as in PyTorch's <c>nn.Linear</c>.</summary>
public sealed class Linear
{
    private float[]? _y, _dx;
    private float[] _x = Array.Empty<float>();

    /// <summary>Declares <c>{prefix}weight</c> [out, in] and, when <paramref name="bias"/>, <c>{prefix}bias</c> [out].</summary>
    /// <param name="parameters">The parameter set the weights are declared in (and allocated by its owner).</param>
    /// <param name="prefix">Prefix of the parameter names.</param>
    /// <param name="inFeatures">Width of the input rows.</param>
    /// <param name="outFeatures">Width of the output rows.</param>
    /// <param name="bias">Whether the layer has a bias.</param>
    /// <param name="initStd">Standard deviation of the initial weights.</param>
    public Linear(ParameterSet parameters, string prefix, int inFeatures, int outFeatures, bool bias = true, float initStd = 0.02f)
    {
        if (inFeatures <= 0 || outFeatures <= 0)
            throw new ArgumentOutOfRangeException(nameof(inFeatures), $"Linear '{prefix}' needs positive sizes, got in={inFeatures}, out={outFeatures}.");
        In = inFeatures;
        Out = outFeatures;
        Weight = parameters.Add(prefix + "weight", new[] { outFeatures, inFeatures }, Init.Normal(initStd), decay: true);
        Bias = bias ? parameters.Add(prefix + "bias", new[] { outFeatures }, Init.Zeros, decay: false) : null;
    }

    /// <summary>
    /// A projection by an existing matrix [out, in] (an output layer tied to the token embedding), with its own bias
    /// <c>{prefix}bias</c> [out]; the shared matrix's gradients add up with its other users'.
    /// </summary>
    /// <param name="parameters">The parameter set the bias is declared in.</param>
    /// <param name="prefix">Prefix of the bias name.</param>
    /// <param name="weight">The shared matrix [out, in].</param>
    public Linear(ParameterSet parameters, string prefix, ParameterTensor weight)
    {
        if (weight.Shape.Length != 2) throw new ArgumentException($"A linear layer's weight is [out, in]; '{weight.Name}' has shape [{string.Join(", ", weight.Shape)}].", nameof(weight));
        (Weight, Out, In) = (weight, weight.Shape[0], weight.Shape[1]);
        Bias = parameters.Add(prefix + "bias", new[] { Out }, Init.Zeros, decay: false);
    }

    /// <summary>Input features.</summary>
    public int In { get; }
    /// <summary>Output features.</summary>
    public int Out { get; }
    /// <summary>[out, in]</summary>
    public ParameterTensor Weight { get; }
    /// <summary>[out], or null without bias.</summary>
    public ParameterTensor? Bias { get; }

    /// <summary>x: [n, in] → y: [n, out] (a buffer owned by the layer, valid until the next Forward).</summary>
    /// <param name="x">Input [n, inFeatures].</param>
    /// <param name="n">Rows (tokens) in the call.</param>
    public float[] Forward(float[] x, int n)
    {
        var y = Workspace.Ensure(ref _y, n * Out);
        if (Int8 is { } q) Int8Gemm.Multiply(x.AsSpan(0, n * In), n, q, y.AsSpan(0, n * Out), Bias is null ? default : Bias.Value);
        else if (Panels is { } p) p.Multiply(x.AsSpan(0, n * In), n, y.AsSpan(0, n * Out), Bias is null ? default : Bias.Value);
        else Gemm.MatMulTransB(x.AsSpan(0, n * In), Weight.Value, y.AsSpan(0, n * Out), n, Out, In, Bias is null ? default : Bias.Value);
        _x = x;
        return y;
    }

    /// <summary>
    /// The int8 copy of <see cref="Weight"/> forwards use once set (<see cref="Models.Int8Quantization"/>); the layer then
    /// serves inference only.
    /// </summary>
    internal QuantizedMatrix? Int8 { get; set; }

    /// <summary>
    /// <see cref="Weight"/> packed for inference, which forwards use while it is set (<see cref="Models.InferencePanels"/>
    /// sets it for one generation call and clears it after, or for good on a serving replica).
    /// </summary>
    internal PanelMatrix? Panels { get; set; }

    /// <summary>
    /// act(x·Wᵀ + b) into one buffer. Inference only: the pre-activation values a backward pass would need are not kept.
    /// </summary>
    internal float[] ForwardActivated(float[] x, int n, Activation activation)
    {
        // The activation as one parallel pass: fused into the GEMM's tile epilogue it measured slower (GELU's division
        // per element inside the register-tile loop).
        var y = Forward(x, n);
        Activations.Forward(activation, y, y, n * Out);
        return y;
    }

    /// <summary>dy: [n, out] → dx: [n, in]; adds to the weight and bias gradients.</summary>
    /// <param name="dy">Gradient of the loss with respect to the output.</param>
    /// <param name="n">Rows (tokens) in the call.</param>
    /// <param name="inputGrad">Whether to compute the gradient with respect to the input (false for a first layer saves the work).</param>
    public float[] Backward(float[] dy, int n, bool inputGrad = true) => Backward(dy, n, inputGrad, into: null);

    /// <summary>As <see cref="Backward(float[], int, bool)"/>, writing dx into <paramref name="into"/> when given (a caller's scratch).</summary>
    internal float[] Backward(float[] dy, int n, bool inputGrad, float[]? into)
    {
        if (Int8 is not null) throw new InvalidOperationException("This layer is quantized to int8 for inference; train the float model and quantize a copy.");
        Gemm.MatMulTransA(dy.AsSpan(0, n * Out), _x.AsSpan(0, n * In), Weight.Grad, Out, In, n, accumulate: true);
        if (Bias is not null) ColumnSum.Run(dy, n, Out, Bias.Owner.Grad, Bias.Offset);
        if (!inputGrad) return Array.Empty<float>();
        var dx = into ?? Workspace.Ensure(ref _dx, n * In);
        Gemm.MatMul(dy.AsSpan(0, n * Out), Weight.Value, dx.AsSpan(0, n * In), n, In, Out);
        return dx;
    }

    /// <summary>y[r, :] += b for every row.</summary>
    internal static void AddBias(Span<float> y, int rows, int cols, ReadOnlySpan<float> b)
    {
        for (int r = 0; r < rows; r++)
        {
            var row = y.Slice(r * cols, cols);
            TensorPrimitives.Add(row, b, row);
        }
    }
}
