namespace MLNetTransformers.Onnx;

public static partial class OnnxExporter
{
    internal const string Int8Key = "mlnettransformers.int8";

    /// <summary>
    /// x [B, T, k] → x·Wᵀ + b with W int8 per output channel and x quantized per row, in standard operators and the same
    /// arithmetic as <see cref="Int8Gemm"/>: s_r = (max(x_r, 0) − min(x_r, 0))/255 (1 when 0), z_r = round(−min/s_r),
    /// x_q = clip(round(x/s_r) + z_r, 0, 255) as uint8; <c>MatMulInteger</c>(x_q, W_qᵀ) in int32, minus z_r·Σ_i w_q in int32;
    /// then · s_o · s_r + b in float.
    /// </summary>
    private static string QuantizedLinear(OnnxGraphBuilder g, string input, ReadOnlySpan<float> weight, int outputs, int inputs, string name, string? bias)
    {
        string wq = name + ".int8", ws = name + ".scale", sums = name + ".sums";
        if (!g.HasInitializer(wq)) // blocks sharing weights (ALBERT) share the quantized ones too
        {
            var q = new QuantizedMatrix(weight, outputs, inputs);
            var transposed = new sbyte[inputs * outputs];                                // [k, n]: MatMulInteger's B
            for (int o = 0; o < outputs; o++)
            for (int i = 0; i < inputs; i++) transposed[i * outputs + o] = q.Values[o * inputs + i];
            g.Initializer(wq, transposed, DataType.Int8, inputs, outputs);
            g.Initializer(ws, q.Scales.AsSpan(0, outputs), outputs);
            g.Initializer(sums, q.ColumnSums.AsSpan(0, outputs), DataType.Int32, outputs);
        }

        var zero = g.FloatScalar(0f);
        var min = g.Node("Min", new[] { g.Node("ReduceMin", new[] { input }, Ints("axes", -1), Int("keepdims", 1)), zero });   // [B, T, 1]
        var max = g.Node("Max", new[] { g.Node("ReduceMax", new[] { input }, Ints("axes", -1), Int("keepdims", 1)), zero });
        var range = g.Node("Div", new[] { g.Node("Sub", new[] { max, min }), g.FloatScalar(255f) });
        var scale = g.Node("Where", new[] { g.Node("Equal", new[] { range, zero }), g.FloatScalar(1f), range });
        var zeroPoint = g.Node("Clip", new[] { g.Node("Round", new[] { g.Node("Div", new[] { g.Node("Neg", new[] { min }), scale }) }), zero, g.FloatScalar(255f) });
        var xq = g.Node("Cast", new[] { g.Node("Clip", new[] { g.Node("Add", new[] { g.Node("Round", new[] { g.Node("Div", new[] { input, scale }) }), zeroPoint }),
            zero, g.FloatScalar(255f) }) }, Int("to", (long)DataType.Uint8));
        var acc = g.Node("MatMulInteger", new[] { xq, wq });                                                                  // int32 [B, T, n]
        var correction = g.Node("Mul", new[] { g.Node("Cast", new[] { zeroPoint }, Int("to", (long)DataType.Int32)), sums });
        var y = g.Node("Mul", new[] { g.Node("Mul", new[] { g.Node("Cast", new[] { g.Node("Sub", new[] { acc, correction }) }, Int("to", (long)DataType.Float)), ws }), scale });
        return bias is null ? y : g.Node("Add", new[] { y, bias });
    }
}
