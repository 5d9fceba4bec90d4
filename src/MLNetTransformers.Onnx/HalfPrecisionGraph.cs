using System.Runtime.InteropServices;

namespace MLNetTransformers.Onnx;

/// <summary>
/// A half-precision encoder graph (as onnxconverter-common's <c>convert_float_to_float16</c> writes it: the
/// <c>model_fp16.onnx</c> of transformers.js repositories) turned into the float graph of the same weights, so that the
/// PyTorch-export reader reads it as any other: every float16 tensor (initializers, constants, a ConstantOfShape's value)
/// becomes float32, exactly (each half is a float), every Cast to float16 a Cast to float32, and the graph's inputs and
/// outputs float32. The converter clamped constants into half's range (the attention mask's fill value to −10⁴, a
/// LayerNorm epsilon of 10⁻¹² to 10⁻⁷): those clamped values are what the graph computes with, and what is read; where a
/// clamped constant changes the model (ModernBERT's rotary base of 160,000 computed in the graph becomes 10⁴, unlike its
/// config.json), the encoder read from the config no longer computes what the graph does, and the probe refuses it.
/// </summary>
internal static class HalfPrecisionGraph
{
    /// <summary>What the probe's refusal of a half-precision graph adds.</summary>
    public const string ClampHint = " (it is a half-precision graph: its converter may have clamped a constant into half's range, such as a rotary base above 10,000; read the float export)";

    /// <summary>Whether the graph holds float16 weights.</summary>
    public static bool IsHalfPrecision(GraphProto graph) => graph.Initializer.Any(t => t.DataType == (int)DataType.Float16);

    /// <summary>The float32 graph of a float16 one (a copy; <paramref name="model"/> is not changed).</summary>
    /// <param name="model">The half-precision model.</param>
    /// <param name="src">Names the model in errors.</param>
    public static ModelProto ToFloat(ModelProto model, string src)
    {
        var m = model.Clone();
        var g = m.Graph;
        foreach (var t in g.Initializer) Widen(t, src);
        foreach (var n in g.Node)
            foreach (var a in n.Attribute)
            {
                if (a.T is { } t) Widen(t, src);
                if (n.OpType == "Cast" && a.Name == "to" && a.I == (long)DataType.Float16) a.I = (long)DataType.Float;
            }
        foreach (var v in g.Input.Concat(g.Output))
            if (v.Type?.TensorType is { ElemType: (int)DataType.Float16 } tensor) tensor.ElemType = (int)DataType.Float;
        g.ValueInfo.Clear(); // types inferred again by ONNX Runtime
        return m;
    }

    // A float16 tensor as float32, in place: raw little-endian halves, or int32_data holding their bits.
    private static void Widen(TensorProto t, string src)
    {
        if (t.DataType != (int)DataType.Float16) return;
        long count = t.Dims.Aggregate(1L, (p, d) => d < 0 ? -1 : p * d);
        if (count < 0 || count > Array.MaxLength) throw new InvalidDataException($"{src}: half-precision tensor '{t.Name}' has shape [{string.Join(", ", t.Dims)}].");
        var values = new float[count];
        if (!t.RawData.IsEmpty)
        {
            if (t.RawData.Length != count * 2) throw new InvalidDataException($"{src}: half-precision tensor '{t.Name}' holds {t.RawData.Length} bytes for {count} values.");
            var halves = MemoryMarshal.Cast<byte, Half>(t.RawData.Span);
            for (int i = 0; i < values.Length; i++) values[i] = (float)halves[i];
        }
        else if (t.Int32Data.Count == count)
            for (int i = 0; i < values.Length; i++) values[i] = (float)BitConverter.UInt16BitsToHalf((ushort)t.Int32Data[i]);
        else throw new InvalidDataException($"{src}: half-precision tensor '{t.Name}' holds {t.Int32Data.Count} values for {count}.");
        t.Int32Data.Clear();
        t.DataType = (int)DataType.Float;
        t.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));
    }
}
