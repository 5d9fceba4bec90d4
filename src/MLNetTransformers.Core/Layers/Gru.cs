namespace MLNetTransformers.Core.Layers;

/// <summary>
/// A one-layer GRU over whole sequences, as PyTorch's <c>nn.GRU(batch_first=True)</c> with packed sequences: x [B, T, I]
/// and each row's length in; outputs [B, T, D·H] (D = 2 when bidirectional: forward states, then backward states),
/// zeros at padded positions, and the final states [D, B, H] — each row's state after its own last token (the backward
/// direction starts there), so padding never changes a hidden state. Forward and backward (through time).
/// </summary>
public sealed class Gru
{
    private readonly GruCell[] _cells;
    private float[]? _out, _final, _dx, _dh0, _xproj, _dxproj, _stepX, _stepDx, _h, _h2, _dh, _dh2;
    private float[] _x = Array.Empty<float>();
    private int[] _lengths = Array.Empty<int>();
    private bool[]? _active;
    private int _batch, _seqLen;

    /// <summary>Declares the layer's parameters under <paramref name="prefix"/> (PyTorch's names: <c>weight_ih_l0</c>, …, <c>_reverse</c>).</summary>
    /// <param name="parameters">The parameter set the weights are declared in (and allocated by its owner).</param>
    /// <param name="prefix">Prefix of the parameter names.</param>
    /// <param name="inputSize">Width I of each input vector.</param>
    /// <param name="hiddenSize">Width H of each direction's state.</param>
    /// <param name="bidirectional">Whether a second cell reads the sequence backwards.</param>
    public Gru(ParameterSet parameters, string prefix, int inputSize, int hiddenSize, bool bidirectional = false)
    {
        _cells = bidirectional
            ? new[] { new GruCell(parameters, prefix, inputSize, hiddenSize), new GruCell(parameters, prefix, inputSize, hiddenSize, "_reverse") }
            : new[] { new GruCell(parameters, prefix, inputSize, hiddenSize) };
        (InputSize, HiddenSize) = (inputSize, hiddenSize);
    }

    /// <summary>Input width I.</summary>
    public int InputSize { get; }
    /// <summary>Hidden width H of each direction.</summary>
    public int HiddenSize { get; }
    /// <summary>Directions (1 or 2).</summary>
    public int Directions => _cells.Length;
    /// <summary>Width of each output vector, Directions·H.</summary>
    public int OutputSize => _cells.Length * HiddenSize;
    /// <summary>The cells: forward, then backward when bidirectional.</summary>
    public IReadOnlyList<GruCell> Cells => _cells;
    /// <summary>Final states [D, B, H] of the last Forward.</summary>
    public float[] FinalState => _final ?? throw new InvalidOperationException("Forward has not run.");
    /// <summary>Gradient with respect to the initial states [D, B, H] after the last Backward.</summary>
    public float[] InitialStateGrad => _dh0 ?? throw new InvalidOperationException("Backward has not run.");

    /// <summary>x [B, T, I] → outputs [B, T, D·H]; <see cref="FinalState"/> holds [D, B, H].</summary>
    /// <param name="x">Inputs [B, T, I].</param>
    /// <param name="batch">Sequences (B).</param>
    /// <param name="seqLen">Time steps per sequence (T).</param>
    /// <param name="lengths">Each sequence's real length, 1..T (null = all T).</param>
    /// <param name="h0">Initial states [D, B, H] (null = zeros).</param>
    public float[] Forward(float[] x, int batch, int seqLen, int[]? lengths = null, float[]? h0 = null)
    {
        int h = HiddenSize, o = OutputSize, g = 3 * h, d = Directions;
        (_x, _batch, _seqLen) = (x, batch, seqLen);
        _lengths = lengths ?? Enumerable.Repeat(seqLen, batch).ToArray();
        for (int b = 0; b < batch; b++)
            if (_lengths[b] < 1 || _lengths[b] > seqLen) throw new ArgumentOutOfRangeException(nameof(lengths), _lengths[b], $"Sequence {b} has length {_lengths[b]}; lengths must be 1 to {seqLen}.");
        var output = Workspace.Ensure(ref _out, batch * seqLen * o);
        output.AsSpan(0, batch * seqLen * o).Clear();
        var final = Workspace.Ensure(ref _final, d * batch * h);
        var xproj = Workspace.Ensure(ref _xproj, batch * seqLen * g);
        var stepX = Workspace.Ensure(ref _stepX, batch * g);
        var active = Workspace.Ensure(ref _active, batch);
        for (int dir = 0; dir < d; dir++)
        {
            var cell = _cells[dir];
            cell.Begin(batch, seqLen);
            cell.Project(x.AsSpan(0, batch * seqLen * InputSize), batch * seqLen, xproj);
            var state = Workspace.Ensure(ref _h, batch * h).AsSpan(0, batch * h);
            var next = Workspace.Ensure(ref _h2, batch * h).AsSpan(0, batch * h);
            if (h0 is null) state.Clear(); else h0.AsSpan(dir * batch * h, batch * h).CopyTo(state);
            for (int k = 0; k < seqLen; k++)
            {
                for (int b = 0; b < batch; b++)
                {
                    active[b] = k < _lengths[b];
                    if (active[b]) xproj.AsSpan((b * seqLen + Position(dir, b, k)) * g, g).CopyTo(stepX.AsSpan(b * g, g));
                }
                cell.Step(k, stepX, state, next, active.AsSpan(0, batch));
                for (int b = 0; b < batch; b++)
                    if (active[b]) next.Slice(b * h, h).CopyTo(output.AsSpan((b * seqLen + Position(dir, b, k)) * o + dir * h, h));
                var swap = state; state = next; next = swap;
            }
            state.CopyTo(final.AsSpan(dir * batch * h, batch * h));
        }
        return output;
    }

    // Time position of step k of row b: forward reads 0, 1, …; backward reads len − 1, len − 2, … .
    private int Position(int dir, int b, int k) => dir == 0 ? k : _lengths[b] - 1 - k;

    /// <summary>dOutput [B, T, D·H] (and optionally dFinal [D, B, H]) → dx [B, T, I]; adds every weight gradient; <see cref="InitialStateGrad"/> gets dh0.</summary>
    /// <param name="dOutput">Gradient with respect to the outputs (ignored at padded positions).</param>
    /// <param name="dFinal">Gradient with respect to the final states (null = none).</param>
    public float[] Backward(float[] dOutput, float[]? dFinal = null)
    {
        int batch = _batch, seqLen = _seqLen, h = HiddenSize, o = OutputSize, g = 3 * h, d = Directions;
        var dx = Workspace.Ensure(ref _dx, batch * seqLen * InputSize);
        var dh0 = Workspace.Ensure(ref _dh0, d * batch * h);
        var dxproj = Workspace.Ensure(ref _dxproj, batch * seqLen * g);
        var stepDx = Workspace.Ensure(ref _stepDx, batch * g);
        for (int dir = 0; dir < d; dir++)
        {
            var cell = _cells[dir];
            var dh = Workspace.Ensure(ref _dh, batch * h).AsSpan(0, batch * h);
            var dhPrev = Workspace.Ensure(ref _dh2, batch * h).AsSpan(0, batch * h);
            if (dFinal is null) dh.Clear(); else dFinal.AsSpan(dir * batch * h, batch * h).CopyTo(dh);
            dxproj.AsSpan(0, batch * seqLen * g).Clear();
            for (int k = seqLen - 1; k >= 0; k--)
            {
                for (int b = 0; b < batch; b++)
                    if (k < _lengths[b])
                    {
                        var row = dh.Slice(b * h, h);
                        TensorPrimitives.Add(row, dOutput.AsSpan((b * seqLen + Position(dir, b, k)) * o + dir * h, h), row);
                    }
                cell.StepBackward(k, dh, stepDx.AsSpan(0, batch * g), dhPrev);
                for (int b = 0; b < batch; b++)
                    if (k < _lengths[b]) stepDx.AsSpan(b * g, g).CopyTo(dxproj.AsSpan((b * seqLen + Position(dir, b, k)) * g, g));
                var swap = dh; dh = dhPrev; dhPrev = swap;
            }
            dh.CopyTo(dh0.AsSpan(dir * batch * h, batch * h));
            cell.ProjectBackward(dxproj.AsSpan(0, batch * seqLen * g), _x.AsSpan(0, batch * seqLen * InputSize), batch * seqLen,
                dx.AsSpan(0, batch * seqLen * InputSize), accumulate: dir > 0);
        }
        return dx;
    }
}
