namespace MLNetTransformers.Core.Layers;

/// <summary>
/// Position-wise feed-forward: linear2(dropout(act(linear1(x)))), PyTorch's names <c>linear1</c>, <c>linear2</c>; or,
/// gated (a GLU: ModernBERT's GeGLU, NomicBERT's SwiGLU), linear1 twice as wide, the activation applied to the first half
/// and multiplied by the second: linear2(dropout(act(u)·g)) for [u, g] = linear1(x); or, when the activated half comes
/// second (GTE's <c>up_gate_proj</c>: up, then gate), for [g, u] = linear1(x).
/// </summary>
public sealed class FeedForward
{
    private readonly Linear _fc1, _fc2;
    private readonly Dropout _drop;
    private readonly int _hidden;
    private float[]? _act, _activated;
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
    /// <param name="gated">Whether the block is a GLU (linear1 [2·hidden, d], the activated first half times the second).</param>
    /// <param name="bias">Whether the second layer (and, unless <paramref name="expansionBias"/> says otherwise, the first) has a bias.</param>
    /// <param name="expansionBias">Whether the first layer has a bias (JinaBERT's gated layer has none, its output layer has one); null = <paramref name="bias"/>.</param>
    /// <param name="activatedHalfFirst">Gated: whether the activated half is linear1's first (ModernBERT's, JinaBERT's) or second (GTE's).</param>
    public FeedForward(ParameterSet parameters, string prefix, int dim, int hidden, Activation activation, float dropout, ulong seed, bool gated = false, bool bias = true,
        bool? expansionBias = null, bool activatedHalfFirst = true)
    {
        ActivatedHalfFirst = activatedHalfFirst;
        _fc1 = new Linear(parameters, prefix + "linear1.", dim, gated ? 2 * hidden : hidden, expansionBias ?? bias);
        _fc2 = new Linear(parameters, prefix + "linear2.", hidden, dim, bias);
        _drop = new Dropout(dropout, seed);
        (Activation, Gated, _hidden) = (activation, gated, hidden);
    }

    /// <summary>Whether the block is gated (a GLU).</summary>
    public bool Gated { get; }

    /// <summary>Gated: whether the activated half comes first in linear1's output.</summary>
    public bool ActivatedHalfFirst { get; }

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
        if (Gated) return _fc2.Forward(_drop.Forward(Glu(_fc1.Forward(x, n), n), n * _hidden, training), n);
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
        if (Gated) return GluBackward(dy, n);
        int len = n * _fc1.Out;
        // The hidden-width gradient lives only until fc1's backward: one scratch shared by every FFN trained on this
        // thread, with dropout and the activation's backward applied in place.
        var da = _drop.Backward(_fc2.Backward(dy, n, inputGrad: true, into: Workspace.Ensure(ref t_hidden, len)), len, inPlace: true);
        Activations.Backward(Activation, _h, da, da, len); // in place
        return _fc1.Backward(da, n);
    }

    // [n, 2H] → act(u)·g [n, H], read in place from linear1's output (kept, as _h, for the backward) with act(u) kept
    // beside it; rows in pieces across cores.
    private float[] Glu(float[] h, int n)
    {
        int len = n * _hidden;
        _h = h;
        _glu.Forward(h, Workspace.Ensure(ref _activated, len), Workspace.Ensure(ref _act, len), n, _hidden, Activation, ActivatedHalfFirst);
        return _act!;
    }

    // d(act(u)·g): du = dy·g·act'(u), dg = dy·act(u), written as linear1's output is laid out, [n, 2H].
    private float[] GluBackward(float[] dy, int n)
    {
        int len = n * _hidden;
        var dp = _drop.Backward(_fc2.Backward(dy, n, inputGrad: true), len, inPlace: true);
        var dh = Workspace.Ensure(ref t_hidden, 2 * len);
        _glu.Backward(_h, _activated!, dp, dh, n, _hidden, Activation, ActivatedHalfFirst);
        return _fc1.Backward(dh, n);
    }

    private readonly GatedUnit _glu = new();

    /// <summary>The GLU's element-wise part over rows [u | g] (or [g | u]) of width 2H, in pieces of rows across cores.</summary>
    private sealed class GatedUnit : IParallelWork
    {
        private const int RowsPerPiece = 32;
        private float[] _h = [], _a = [], _y = [], _dy = [];
        private int _n, _hidden, _u, _g; // the activated and the gating half's offsets in a row
        private Activation _act;
        private bool _backward;

        // a = act(u), y = a·g
        public void Forward(float[] h, float[] a, float[] y, int n, int hidden, Activation act, bool activatedFirst) => Run(h, a, y, [], n, hidden, act, activatedFirst, backward: false);

        // dh = [dy·g·act'(u) | dy·a] (the halves where u and g are)
        public void Backward(float[] h, float[] a, float[] dy, float[] dh, int n, int hidden, Activation act, bool activatedFirst) => Run(h, a, dh, dy, n, hidden, act, activatedFirst, backward: true);

        private void Run(float[] h, float[] a, float[] y, float[] dy, int n, int hidden, Activation act, bool activatedFirst, bool backward)
        {
            (_h, _a, _y, _dy, _n, _hidden, _act, _backward) = (h, a, y, dy, n, hidden, act, backward);
            (_u, _g) = activatedFirst ? (0, hidden) : (hidden, 0);
            try { WorkerPool.For((n + RowsPerPiece - 1) / RowsPerPiece, this); }
            finally { (_h, _a, _y, _dy) = ([], [], [], []); }
        }

        void IParallelWork.Run(int piece)
        {
            int hidden = _hidden, r1 = Math.Min(_n, (piece + 1) * RowsPerPiece);
            for (int r = piece * RowsPerPiece; r < r1; r++)
            {
                ReadOnlySpan<float> u = _h.AsSpan(r * 2 * hidden + _u, hidden), g = _h.AsSpan(r * 2 * hidden + _g, hidden);
                var a = _a.AsSpan(r * hidden, hidden);
                if (!_backward)
                {
                    Activations.Forward(_act, u, a);
                    TensorPrimitives.Multiply(a, g, _y.AsSpan(r * hidden, hidden));
                    continue;
                }
                ReadOnlySpan<float> dy = _dy.AsSpan(r * hidden, hidden);
                Span<float> du = _y.AsSpan(r * 2 * hidden + _u, hidden), dg = _y.AsSpan(r * 2 * hidden + _g, hidden);
                TensorPrimitives.Multiply(dy, a, dg);
                TensorPrimitives.Multiply(dy, g, du);
                Activations.Backward(_act, u, du, du);
            }
        }
    }
}
