using System.Runtime.InteropServices;
using Google.Protobuf;
using MLNetTransformers.Onnx.Proto;

namespace MLNetTransformers.Onnx.Tests;

/// <summary>
/// Writes what onnxconverter-common's <c>convert_float_to_float16(model, keep_io_types=True)</c> writes (transformers.js's
/// <c>model_fp16.onnx</c>), since it cannot be installed here: every float32 initializer and constant (Constant, ConstantOfShape)
/// as float16, values clamped into [10⁻⁷, 10⁴] in magnitude as its min_positive_val and max_finite_val do (zero stays
/// zero), Casts to float32 made Casts to float16, and each float32 output of the graph produced through a Cast back to
/// float32 (<c>graph_output_cast_i</c>). Its block list's operators (Range, CumSum, Min, Max among those an encoder has) run in
/// float32: a constant or cast they read is cast to float32 before them and their result back to float16 (GTE's rotary
/// frequencies come from a float Range); the other tensors they read are integers in these graphs.
/// </summary>
internal static class HalfPrecision
{
    public static byte[] Convert(byte[] onnx)
    {
        var model = ModelProto.Parser.ParseFrom(onnx);
        var g = model.Graph;
        var narrowed = new HashSet<string>();
        foreach (var t in g.Initializer) if (Narrow(t)) narrowed.Add(t.Name);
        foreach (var n in g.Node)
            foreach (var a in n.Attribute)
            {
                if (a.T is { } t && Narrow(t) && n.OpType == "Constant") narrowed.Add(n.Output[0]);
                if (n.OpType == "Cast" && a.Name == "to" && a.I == (long)TensorProto.Types.DataType.Float)
                {
                    a.I = (long)TensorProto.Types.DataType.Float16;
                    narrowed.Add(n.Output[0]);
                }
            }
        var nodes = new List<NodeProto>();
        foreach (var n in g.Node)
        {
            if (n.OpType is not ("Range" or "CumSum" or "Min" or "Max") || !n.Input.Any(narrowed.Contains)) { nodes.Add(n); continue; }
            for (int i = 0; i < n.Input.Count; i++)
                if (narrowed.Contains(n.Input[i]))
                {
                    nodes.Add(CastNode($"{n.Name}_input_cast{i}", n.Input[i], $"{n.Name}_input_cast_{i}", TensorProto.Types.DataType.Float));
                    n.Input[i] = $"{n.Name}_input_cast_{i}";
                }
            string y = n.Output[0];
            n.Output[0] = $"{n.Name}_output_cast_0";
            nodes.Add(n);
            nodes.Add(CastNode($"{n.Name}_output_cast0", n.Output[0], y, TensorProto.Types.DataType.Float16));
        }
        g.Node.Clear();
        g.Node.AddRange(nodes);
        int k = 0;
        foreach (var output in g.Output.Where(o => o.Type?.TensorType?.ElemType == (int)TensorProto.Types.DataType.Float))
        {
            string name = $"graph_output_cast_{k++}";
            foreach (var n in g.Node) // the producer and the graph's own readers of the output use the half-precision tensor
            {
                for (int i = 0; i < n.Output.Count; i++) if (n.Output[i] == output.Name) n.Output[i] = name;
                for (int i = 0; i < n.Input.Count; i++) if (n.Input[i] == output.Name) n.Input[i] = name;
            }
            g.Node.Add(CastNode(name, name, output.Name, TensorProto.Types.DataType.Float));
        }
        g.ValueInfo.Clear();
        return model.ToByteArray();
    }

    private static NodeProto CastNode(string name, string x, string y, TensorProto.Types.DataType to)
    {
        var cast = new NodeProto { OpType = "Cast", Name = name, Input = { x }, Output = { y } };
        cast.Attribute.Add(new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = (long)to });
        return cast;
    }

    // A float32 tensor as float16, clamped as the converter clamps; false for tensors of other types.
    private static bool Narrow(TensorProto t)
    {
        if (t.DataType != (int)TensorProto.Types.DataType.Float) return false;
        var values = t.RawData.IsEmpty ? t.FloatData.ToArray() : MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();
        var halves = values.Select(v => (Half)(v == 0f ? 0f : MathF.CopySign(Math.Clamp(MathF.Abs(v), 1e-7f, 1e4f), v))).ToArray();
        t.FloatData.Clear();
        t.DataType = (int)TensorProto.Types.DataType.Float16;
        t.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(halves.AsSpan()));
        return true;
    }
}
