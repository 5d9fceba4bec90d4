namespace MLNetTransformers.Core.Layers;

/// <summary>
/// One direction of a GRU as PyTorch's <c>nn.GRU</c> computes it (gates r, z, n in that order):
/// r = σ(W_ir·x + b_ir + W_hr·h + b_hr), z = σ(W_iz·x + b_iz + W_hz·h + b_hz),
/// n = tanh(W_in·x + b_in + r ⊙ (W_hn·h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h.
/// The input projection x·W_ihᵀ + b_ih is its own call (<see cref="Project"/>: one GEMM over every time step when the
/// inputs are known in advance, as in an encoder); <see cref="Step"/> runs the recurrence for one time step of B rows
/// and keeps what backward needs in slot t. Inactive rows keep their state: padding never changes a hidden state.
/// Parameters <c>{prefix}weight_ih_l0{suffix}</c> [3H, I], <c>weight_hh_l0{suffix}</c> [3H, H], <c>bias_ih_l0{suffix}</c>
/// and <c>bias_hh_l0{suffix}</c> [3H], initialised U(−1/√H, 1/√H) as PyTorch does.
/// </summary>
public sealed class GruCell
{
    private float[]? _hPrev, _gates, _hn, _hproj, _dhproj; // per step: hPrev [B, H], r|z|n [B, 3H], W_hn·h + b_hn [B, H]
    private bool[]? _active;
    private int _rows, _steps;

    /// <summary>Declares the cell's parameters.</summary>
    /// <param name="parameters">The parameter set the weights are declared in (and allocated by its owner).</param>
    /// <param name="prefix">Prefix of the parameter names.</param>
    /// <param name="inputSize">Width I of each input vector.</param>
    /// <param name="hiddenSize">Width H of the hidden state.</param>
    /// <param name="suffix">"" for the forward direction, "_reverse" for the backward one (PyTorch's names).</param>
    public GruCell(ParameterSet parameters, string prefix, int inputSize, int hiddenSize, string suffix = "")
    {
        if (inputSize <= 0 || hiddenSize <= 0) throw new ArgumentOutOfRangeException(nameof(hiddenSize), $"GRU '{prefix}' needs positive sizes, got input {inputSize}, hidden {hiddenSize}.");
        (InputSize, HiddenSize) = (inputSize, hiddenSize);
        var init = Init.Uniform(1f / MathF.Sqrt(hiddenSize));
        WeightIh = parameters.Add($"{prefix}weight_ih_l0{suffix}", new[] { 3 * hiddenSize, inputSize }, init, decay: true);
        WeightHh = parameters.Add($"{prefix}weight_hh_l0{suffix}", new[] { 3 * hiddenSize, hiddenSize }, init, decay: true);
        BiasIh = parameters.Add($"{prefix}bias_ih_l0{suffix}", new[] { 3 * hiddenSize }, init, decay: false);
        BiasHh = parameters.Add($"{prefix}bias_hh_l0{suffix}", new[] { 3 * hiddenSize }, init, decay: false);
    }

    /// <summary>Input width I.</summary>
    public int InputSize { get; }
    /// <summary>Hidden width H.</summary>
    public int HiddenSize { get; }
    /// <summary>W_ir;W_iz;W_in, [3H, I].</summary>
    public ParameterTensor WeightIh { get; }
    /// <summary>W_hr;W_hz;W_hn, [3H, H].</summary>
    public ParameterTensor WeightHh { get; }
    /// <summary>b_ir;b_iz;b_in, [3H].</summary>
    public ParameterTensor BiasIh { get; }
    /// <summary>b_hr;b_hz;b_hn, [3H].</summary>
    public ParameterTensor BiasHh { get; }

    /// <summary>xproj [n, 3H] = x [n, I]·W_ihᵀ + b_ih.</summary>
    /// <param name="x">Inputs [n, I].</param>
    /// <param name="n">Rows.</param>
    /// <param name="xproj">Receives [n, 3H].</param>
    public void Project(ReadOnlySpan<float> x, int n, Span<float> xproj)
    {
        int g = 3 * HiddenSize;
        Gemm.MatMulTransB(x[..(n * InputSize)], WeightIh.Value, xproj[..(n * g)], n, g, InputSize);
        Linear.AddBias(xproj, n, g, BiasIh.Value);
    }

    /// <summary>Backward of <see cref="Project"/>: adds the W_ih and b_ih gradients; dx [n, I] = dxproj·W_ih (added when <paramref name="accumulate"/>).</summary>
    /// <param name="dxproj">Gradient with respect to the projections, [n, 3H].</param>
    /// <param name="x">The inputs of the forward pass, [n, I].</param>
    /// <param name="n">Rows.</param>
    /// <param name="dx">Receives the input gradient (empty = not needed).</param>
    /// <param name="accumulate">Add into <paramref name="dx"/> instead of overwriting it.</param>
    public void ProjectBackward(ReadOnlySpan<float> dxproj, ReadOnlySpan<float> x, int n, Span<float> dx, bool accumulate = false)
    {
        int g = 3 * HiddenSize;
        Gemm.MatMulTransA(dxproj[..(n * g)], x[..(n * InputSize)], WeightIh.Grad, g, InputSize, n, accumulate: true);
        ColumnSum.Run(dxproj, n, g, BiasIh.Grad);
        if (!dx.IsEmpty) Gemm.MatMul(dxproj[..(n * g)], WeightIh.Value, dx[..(n * InputSize)], n, InputSize, g, accumulate);
    }

    /// <summary>Prepares storage for a forward pass of <paramref name="steps"/> steps of <paramref name="rows"/> rows.</summary>
    /// <param name="rows">Rows (B) per step.</param>
    /// <param name="steps">Time steps.</param>
    public void Begin(int rows, int steps)
    {
        int h = HiddenSize;
        (_rows, _steps) = (rows, steps);
        Workspace.Ensure(ref _hPrev, steps * rows * h);
        Workspace.Ensure(ref _gates, steps * rows * 3 * h);
        Workspace.Ensure(ref _hn, steps * rows * h);
        Workspace.Ensure(ref _active, steps * rows);
        Workspace.Ensure(ref _hproj, rows * 3 * h);
        Workspace.Ensure(ref _dhproj, rows * 3 * h);
    }

    /// <summary>
    /// Step <paramref name="t"/> (after <see cref="Begin"/>): hNext[b] = GRU(xproj[b], hPrev[b]) for active rows,
    /// hPrev[b] for the others; what backward needs is kept in slot t.
    /// </summary>
    /// <param name="t">Slot (time step) index, below the steps given to Begin.</param>
    /// <param name="xproj">This step's input projections [B, 3H].</param>
    /// <param name="hPrev">States before the step [B, H].</param>
    /// <param name="hNext">Receives the states after it [B, H] (not the same memory as <paramref name="hPrev"/>).</param>
    /// <param name="active">Per row, whether it takes this step (empty = all).</param>
    public void Step(int t, ReadOnlySpan<float> xproj, ReadOnlySpan<float> hPrev, Span<float> hNext, ReadOnlySpan<bool> active = default)
    {
        if ((uint)t >= (uint)_steps) throw new ArgumentOutOfRangeException(nameof(t), t, $"Slot {t} is outside the {_steps} steps given to Begin.");
        int b = _rows, h = HiddenSize;
        hPrev[..(b * h)].CopyTo(_hPrev.AsSpan(t * b * h, b * h));
        for (int r = 0; r < b; r++) _active![t * b + r] = active.IsEmpty || active[r];
        Run(xproj, hPrev, hNext, b, _gates.AsSpan(t * b * 3 * h, b * 3 * h), _hn.AsSpan(t * b * h, b * h), _active.AsSpan(t * b, b));
    }

    /// <summary>One step for inference (nothing is kept): every row takes it.</summary>
    /// <param name="xproj">Input projections [rows, 3H].</param>
    /// <param name="rows">Rows.</param>
    /// <param name="hPrev">States before the step [rows, H].</param>
    /// <param name="hNext">Receives the states after it [rows, H].</param>
    public void StepInference(ReadOnlySpan<float> xproj, int rows, ReadOnlySpan<float> hPrev, Span<float> hNext)
    {
        int h = HiddenSize;
        var gates = Workspace.Ensure(ref _gates, rows * 3 * h);
        var hn = Workspace.Ensure(ref _hn, rows * h);
        Workspace.Ensure(ref _hproj, rows * 3 * h);
        Run(xproj, hPrev, hNext, rows, gates.AsSpan(0, rows * 3 * h), hn.AsSpan(0, rows * h), default);
    }

    private void Run(ReadOnlySpan<float> xproj, ReadOnlySpan<float> hPrev, Span<float> hNext, int b, Span<float> gates, Span<float> hnOut, ReadOnlySpan<bool> active)
    {
        int h = HiddenSize, g = 3 * h;
        var hproj = _hproj.AsSpan(0, b * g);
        Gemm.MatMulTransB(hPrev[..(b * h)], WeightHh.Value, hproj, b, g, h);
        Linear.AddBias(hproj, b, g, BiasHh.Value);
        for (int r = 0; r < b; r++)
        {
            var hp = hPrev.Slice(r * h, h);
            var hn1 = hNext.Slice(r * h, h);
            if (!active.IsEmpty && !active[r]) { hp.CopyTo(hn1); continue; }
            var x = xproj.Slice(r * g, g);
            var hq = hproj.Slice(r * g, g);
            var gr = gates.Slice(r * g, h); var gz = gates.Slice(r * g + h, h); var gn = gates.Slice(r * g + 2 * h, h);
            var hn = hnOut.Slice(r * h, h);
            TensorPrimitives.Add(x[..h], hq[..h], gr);
            TensorPrimitives.Sigmoid(gr, gr);
            TensorPrimitives.Add(x.Slice(h, h), hq.Slice(h, h), gz);
            TensorPrimitives.Sigmoid(gz, gz);
            hq.Slice(2 * h, h).CopyTo(hn);
            TensorPrimitives.MultiplyAdd(gr, hn, x.Slice(2 * h, h), gn); // x_n + r ⊙ (W_hn·h + b_hn)
            TensorPrimitives.Tanh(gn, gn);
            // h' = n + z ⊙ (h − n)
            TensorPrimitives.Subtract(hp, gn, hn1);
            TensorPrimitives.MultiplyAdd(gz, hn1, gn, hn1);
        }
    }

    /// <summary>
    /// Backward of step <paramref name="t"/>: from dh (gradient with respect to that step's output states) writes
    /// dxproj [B, 3H] (zeros for inactive rows) and dhPrev [B, H]; adds the W_hh and b_hh gradients.
    /// </summary>
    /// <param name="t">The slot of the step.</param>
    /// <param name="dh">Gradient with respect to the step's output states [B, H].</param>
    /// <param name="dxproj">Receives the gradient with respect to the step's input projections [B, 3H].</param>
    /// <param name="dhPrev">Receives the gradient with respect to the states before the step [B, H] (not the same memory as <paramref name="dh"/>).</param>
    public void StepBackward(int t, ReadOnlySpan<float> dh, Span<float> dxproj, Span<float> dhPrev)
    {
        int b = _rows, h = HiddenSize, g = 3 * h;
        var hPrevAll = _hPrev.AsSpan(t * b * h, b * h);
        var gates = _gates.AsSpan(t * b * g, b * g);
        var hnAll = _hn.AsSpan(t * b * h, b * h);
        var dhproj = _dhproj.AsSpan(0, b * g);
        for (int r = 0; r < b; r++)
        {
            var dhr = dh.Slice(r * h, h);
            var dx = dxproj.Slice(r * g, g);
            var dq = dhproj.Slice(r * g, g);
            var dhp = dhPrev.Slice(r * h, h);
            if (!_active![t * b + r]) { dx.Clear(); dq.Clear(); dhr.CopyTo(dhp); continue; }
            var hp = hPrevAll.Slice(r * h, h);
            var gr = gates.Slice(r * g, h); var gz = gates.Slice(r * g + h, h); var gn = gates.Slice(r * g + 2 * h, h);
            var hn = hnAll.Slice(r * h, h);
            var dar = dx[..h]; var daz = dx.Slice(h, h); var dan = dx.Slice(2 * h, h);
            for (int i = 0; i < h; i++)
            {
                float z = gz[i], n = gn[i], rr = gr[i], d = dhr[i];
                float an = d * (1f - z) * (1f - n * n);  // through n = tanh(·)
                dan[i] = an;
                dq[2 * h + i] = an * rr;                  // W_hn·h + b_hn is scaled by r
                dar[i] = an * hn[i] * rr * (1f - rr);
                daz[i] = d * (hp[i] - n) * z * (1f - z);
                dhp[i] = d * z;
            }
            dar.CopyTo(dq[..h]);
            daz.CopyTo(dq.Slice(h, h));
        }
        Gemm.MatMulTransA(dhproj, hPrevAll, WeightHh.Grad, g, h, b, accumulate: true);
        ColumnSum.Run(dhproj, b, g, BiasHh.Grad);
        Gemm.MatMul(dhproj, WeightHh.Value, dhPrev[..(b * h)], b, h, g, accumulate: true);
    }
}
