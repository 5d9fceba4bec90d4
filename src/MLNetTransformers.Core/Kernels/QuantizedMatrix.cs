namespace MLNetTransformers.Core.Kernels;

/// <summary>
/// A weight matrix W [n, k] (a linear layer's [out, in]) quantized for int8 inference: symmetric per output channel,
/// w_q[o, i] = round(W[o, i] / s_o) with s_o = max|W[o, :]| / 127, packed for <see cref="Int8Gemm"/>'s kernel: panels of 8
/// outputs, each a run of k/4 groups of [8 outputs × 4 consecutive inputs] (32 bytes, one 256-bit vector for
/// <c>vpdpbusd</c>). n is padded to a multiple of 16 and k to a multiple of 4 with zero weights.
/// </summary>
internal sealed class QuantizedMatrix
{
    /// <summary>Quantizes <paramref name="weight"/> [<paramref name="rows"/>, <paramref name="cols"/>] row-major.</summary>
    public QuantizedMatrix(ReadOnlySpan<float> weight, int rows, int cols)
    {
        if (weight.Length < rows * cols) throw new ArgumentException($"A [{rows}, {cols}] weight needs {rows * cols} values; got {weight.Length}.", nameof(weight));
        (Outputs, Inputs) = (rows, cols);
        PaddedOutputs = (rows + 15) / 16 * 16;
        Groups = (cols + 3) / 4;
        Scales = new float[PaddedOutputs];
        ColumnSums = new int[PaddedOutputs];
        Values = new sbyte[rows * cols];
        Packed = new sbyte[(long)PaddedOutputs * Groups * 4];
        for (int o = 0; o < rows; o++)
        {
            var w = weight.Slice(o * cols, cols);
            float max = Math.Abs(TensorPrimitives.MaxMagnitude(w)); // the element of largest magnitude, with its sign
            float s = max > 0 ? max / 127f : 1f;
            Scales[o] = s;
            int sum = 0;
            for (int i = 0; i < cols; i++)
            {
                int q = (int)Math.Clamp(MathF.Round(w[i] / s, MidpointRounding.ToEven), -127, 127);
                Values[o * cols + i] = (sbyte)q;
                sum += q;
                // panel o/8, group i/4: 32 bytes; within it output o%8 holds 4 bytes, input i%4 one of them.
                Packed[((long)(o / 8) * Groups + i / 4) * 32 + (o % 8) * 4 + i % 4] = (sbyte)q;
            }
            ColumnSums[o] = sum;
        }
    }

    /// <summary>Output channels n.</summary>
    public int Outputs { get; }
    /// <summary>Inputs k.</summary>
    public int Inputs { get; }
    /// <summary>n rounded up to 16 (two panels).</summary>
    public int PaddedOutputs { get; }
    /// <summary>k/4 rounded up.</summary>
    public int Groups { get; }
    /// <summary>s_o per output channel (padding: 1).</summary>
    public float[] Scales { get; }
    /// <summary>Σ_i w_q[o, i] per output, for the activation zero point's correction.</summary>
    public int[] ColumnSums { get; }
    /// <summary>w_q [n, k] row-major (for export and the reference path).</summary>
    public sbyte[] Values { get; }
    /// <summary>The kernel's layout.</summary>
    public sbyte[] Packed { get; }

    /// <summary>The dequantized weights s_o·w_q, [n, k] (what the int8 model computes with, for tests).</summary>
    public float[] Dequantized()
    {
        var w = new float[Outputs * Inputs];
        for (int o = 0; o < Outputs; o++)
        for (int i = 0; i < Inputs; i++) w[o * Inputs + i] = Scales[o] * Values[o * Inputs + i];
        return w;
    }
}
