using System.Runtime.InteropServices;
using Google.Protobuf;
using MLNetTransformers.Onnx.Proto;

namespace MLNetTransformers.Onnx.Tests;

/// <summary>
/// Writes what <c>onnxruntime.quantization.quantize_dynamic</c> writes (its MatMulInteger and GatherQuant operators,
/// onnx_quantizer's names and quant_utils' arithmetic), since ONNX Runtime's Python package cannot be installed here:
/// every MatMul by a stored weight becomes <c>DynamicQuantizeLinear</c>(x) → <c>MatMulInteger</c> (node <c>{name}_quant</c>) →
/// <c>Cast</c> → <c>Mul</c> by x_scale·w_scale; the weight <c>W</c> becomes <c>W_quantized</c>, <c>W_scale</c>,
/// <c>W_zero_point</c> (per tensor, or per column); with <see cref="Options.Tables"/>, each embedding table's
/// <c>Gather</c> reads the table quantized and a <c>DequantizeLinear</c> follows. In a graph fused by ONNX Runtime's transformer
/// optimizer, an <c>Attention</c> becomes <c>QAttention</c> (<c>{name}_quant</c>: its input through the DynamicQuantizeLinear, its
/// weight quantized with reduce_range, per column with per_channel) and an <c>EmbedLayerNormalization</c> whose five tensors are
/// stored becomes <c>QEmbedLayerNormalization</c> (each uint8 per tensor, as the quantizer quantizes activations).
/// </summary>
internal static class DynamicQuantization
{
    /// <summary>quantize_dynamic's choices: weight_type QInt8 (symmetric) or QUInt8, per_channel, reduce_range (7 bits), op_types_to_quantize with Gather.</summary>
    /// <remarks>
    /// With <c>Qdq</c>, quantize_static's QDQ format instead (quant_format QDQ): each weight stored quantized and read through a
    /// <c>DequantizeLinear</c> (per column: axis 1), each product's input through a <c>QuantizeLinear</c> → <c>DequantizeLinear</c>
    /// pair with a fixed scale of 0.1 and uint8 zero point 128 (calibration's part: ±12.8 holds an encoder's activations).
    /// </remarks>
    internal sealed record Options(bool SignedWeights = false, bool PerChannel = false, bool ReduceRange = false, bool Tables = true, bool Qdq = false)
    {
        public override string ToString() => $"{(Qdq ? "QDQ " : "")}{(SignedWeights ? "int8" : "uint8")}{(PerChannel ? " per channel" : "")}{(ReduceRange ? " reduced range" : "")}{(Tables ? " with tables" : "")}";
    }

    public static byte[] Quantize(byte[] onnx, Options options)
    {
        var model = ModelProto.Parser.ParseFrom(onnx);
        var g = model.Graph;
        var init = g.Initializer.ToDictionary(t => t.Name);
        // quantize_dynamic first lets ONNX Runtime's basic optimizations run, which drop Identity nodes: PyTorch's exporter
        // passes a weight shared by several modules (ALBERT's layers, DeBERTa's projections of the relative positions) through
        // them, and the products then read the stored weight itself.
        var identities = g.Node.Where(n => n.OpType == "Identity" && init.ContainsKey(n.Input[0])).ToList();
        foreach (var identity in identities)
        {
            foreach (var n in g.Node)
                for (int i = 0; i < n.Input.Count; i++) if (n.Input[i] == identity.Output[0]) n.Input[i] = identity.Input[0];
            g.Node.Remove(identity);
        }
        var quantizedInputs = new HashSet<string>();
        var quantizedWeights = new HashSet<string>();
        var nodes = new List<NodeProto>();
        foreach (var n in g.Node)
        {
            if (options.Qdq && n.OpType == "MatMul" && init.TryGetValue(n.Input[1], out var qw) && qw.DataType == (int)TensorProto.Types.DataType.Float && qw.Dims.Count == 2)
            {
                string x = n.Input[0];
                if (quantizedInputs.Add(x))
                {
                    var scale = new TensorProto { Name = x + "_scale", DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(BitConverter.GetBytes(0.1f)) };
                    var zero = new TensorProto { Name = x + "_zero_point", DataType = (int)TensorProto.Types.DataType.Uint8, RawData = ByteString.CopyFrom([(byte)128]) };
                    g.Initializer.Add(scale);
                    g.Initializer.Add(zero);
                    nodes.Add(Node("QuantizeLinear", x + "_QuantizeLinear", [x, scale.Name, zero.Name], [x + "_QuantizeLinear_Output"]));
                    nodes.Add(Node("DequantizeLinear", x + "_DequantizeLinear", [x + "_QuantizeLinear_Output", scale.Name, zero.Name], [x + "_DequantizeLinear_Output"]));
                }
                if (quantizedWeights.Add(qw.Name))
                {
                    g.Initializer.AddRange(QuantizeWeight(qw, options, perColumn: options.PerChannel));
                    var dequantize = Node("DequantizeLinear", qw.Name + "_DequantizeLinear", [qw.Name + "_quantized", qw.Name + "_scale", qw.Name + "_zero_point"], [qw.Name + "_DequantizeLinear_Output"]);
                    dequantize.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
                    nodes.Add(dequantize);
                }
                var product = n.Clone();
                product.Input[0] = x + "_DequantizeLinear_Output";
                product.Input[1] = qw.Name + "_DequantizeLinear_Output";
                nodes.Add(product);
            }
            else if (n.OpType == "MatMul" && init.TryGetValue(n.Input[1], out var w) && w.DataType == (int)TensorProto.Types.DataType.Float && w.Dims.Count == 2)
            {
                string x = n.Input[0], name = n.Name + "_quant", product = n.Output[0] + "_output_quantized";
                if (quantizedInputs.Add(x))
                    nodes.Add(Node("DynamicQuantizeLinear", x + "_QuantizeLinear", [x], [x + "_quantized", x + "_scale", x + "_zero_point"]));
                if (quantizedWeights.Add(w.Name)) g.Initializer.AddRange(QuantizeWeight(w, options, perColumn: options.PerChannel));
                nodes.Add(Node("MatMulInteger", name, [x + "_quantized", w.Name + "_quantized", x + "_zero_point", w.Name + "_zero_point"], [product]));
                var cast = Node("Cast", product + "_cast", [product], [product + "_cast_output"]);
                cast.Attribute.Add(new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = (long)TensorProto.Types.DataType.Float });
                nodes.Add(cast);
                nodes.Add(Node("Mul", name + "_scales_mul", [x + "_scale", w.Name + "_scale"], [name + "_scales_mul:0"]));
                nodes.Add(Node("Mul", name + "_output_scale_mul", [product + "_cast_output", name + "_scales_mul:0"], [n.Output[0]]));
            }
            else if (n.OpType == "Attention" && init.TryGetValue(n.Input[1], out var qkv))
            {
                string x = n.Input[0];
                if (quantizedInputs.Add(x))
                    nodes.Add(Node("DynamicQuantizeLinear", x + "_QuantizeLinear", [x], [x + "_quantized", x + "_scale", x + "_zero_point"]));
                if (quantizedWeights.Add(qkv.Name)) g.Initializer.AddRange(QuantizeWeight(qkv, options with { ReduceRange = true }, perColumn: options.PerChannel));
                var q = Node("QAttention", n.Name + "_quant", [x + "_quantized", qkv.Name + "_quantized", n.Input[2], x + "_scale", qkv.Name + "_scale",
                    n.Input.Count > 3 ? n.Input[3] : "", x + "_zero_point", qkv.Name + "_zero_point"], [.. n.Output]);
                q.Domain = n.Domain;
                q.Attribute.AddRange(n.Attribute);
                nodes.Add(q);
            }
            else if (n.OpType == "EmbedLayerNormalization" && n.Input.Count >= 7 && n.Input.Skip(2).Take(5).All(init.ContainsKey))
            {
                var tensors = n.Input.Skip(2).Take(5).Select(i => init[i]).ToList();
                foreach (var t in tensors)
                    if (quantizedWeights.Add(t.Name)) g.Initializer.AddRange(QuantizeWeight(t, new Options(), perColumn: false));
                var q = Node("QEmbedLayerNormalization", n.Name + "_quant", [n.Input[0], n.Input[1], .. tensors.Select(t => t.Name + "_quantized"),
                    n.Input.Count > 7 ? n.Input[7] : "", .. tensors.Select(t => t.Name + "_scale"), .. tensors.Select(t => t.Name + "_zero_point")], [.. n.Output]);
                q.Domain = n.Domain;
                q.Attribute.AddRange(n.Attribute);
                nodes.Add(q);
            }
            else if (options.Tables && n.OpType == "Gather" && init.TryGetValue(n.Input[0], out var table) && table.DataType == (int)TensorProto.Types.DataType.Float && table.Dims.Count == 2)
            {
                if (quantizedWeights.Add(table.Name)) g.Initializer.AddRange(QuantizeWeight(table, options, perColumn: false));
                string y = n.Output[0];
                var gather = n.Clone();
                gather.Input[0] = table.Name + "_quantized";
                gather.Output[0] = y + "_quantized";
                nodes.Add(gather);
                nodes.Add(Node("DequantizeLinear", y + "_DequantizeLinear", [y + "_quantized", table.Name + "_scale", table.Name + "_zero_point"], [y]));
            }
            else nodes.Add(n);
        }
        ReplaceNodes(g, nodes);
        return model.ToByteArray();
    }

    // The graph's nodes replaced; the float weights that were quantized go (the quantizers remove initializers no node reads).
    internal static void ReplaceNodes(GraphProto g, List<NodeProto> nodes)
    {
        g.Node.Clear();
        g.Node.AddRange(nodes);
        var used = nodes.SelectMany(n => n.Input).ToHashSet();
        var kept = g.Initializer.Where(t => used.Contains(t.Name)).ToList();
        g.Initializer.Clear();
        g.Initializer.AddRange(kept);
    }

    private static NodeProto Node(string op, string name, string[] inputs, string[] outputs)
    {
        var n = new NodeProto { OpType = op, Name = name };
        n.Input.AddRange(inputs);
        n.Output.AddRange(outputs);
        return n;
    }

    // quant_utils.compute_scale_zp: uint8 asymmetric over [min(0, rmin), max(0, rmax)]; int8 symmetric over ±max|r|, zero
    // point 0; 0..255 / −127..127, or with reduce_range 0..127 / −64..64; q = clip(round(r / scale) + zp) (round half to even).
    private static TensorProto[] QuantizeWeight(TensorProto w, Options o, bool perColumn)
    {
        int cols = (int)w.Dims[^1], groups = perColumn ? cols : 1;
        var values = MemoryMarshal.Cast<byte, float>(w.RawData.Span).ToArray();
        if (values.Length == 0) values = w.FloatData.ToArray();
        var (qmin, qmax) = o.SignedWeights ? (o.ReduceRange ? (-64, 64) : (-127, 127)) : (0, o.ReduceRange ? 127 : 255);
        var scales = new float[groups];
        var zeros = new int[groups];
        var q = new byte[values.Length];
        var (low, high) = (new float[groups], new float[groups]);
        for (int i = 0; i < values.Length; i++)
        {
            int c = perColumn ? i % cols : 0;
            (low[c], high[c]) = (Math.Min(low[c], values[i]), Math.Max(high[c], values[i])); // starting at 0: the range holds 0
        }
        for (int c = 0; c < groups; c++)
        {
            float rmin = low[c], rmax = high[c];
            if (o.SignedWeights) (rmin, rmax) = (-Math.Max(-rmin, rmax), Math.Max(-rmin, rmax));
            float scale = (rmax - rmin) / (qmax - qmin);
            if (scale == 0f) scale = 1f;
            (scales[c], zeros[c]) = (scale, o.SignedWeights ? 0 : (int)Math.Round(qmin - rmin / scale));
        }
        for (int i = 0; i < values.Length; i++)
        {
            int c = perColumn ? i % cols : 0;
            int v = Math.Clamp((int)Math.Round(values[i] / scales[c]) + zeros[c], qmin, qmax);
            q[i] = o.SignedWeights ? (byte)(sbyte)v : (byte)v;
        }
        var type = o.SignedWeights ? TensorProto.Types.DataType.Int8 : TensorProto.Types.DataType.Uint8;
        var quantized = new TensorProto { Name = w.Name + "_quantized", DataType = (int)type, RawData = ByteString.CopyFrom(q) };
        quantized.Dims.AddRange(w.Dims);
        var scaleTensor = new TensorProto { Name = w.Name + "_scale", DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(scales.AsSpan())) };
        var zeroTensor = new TensorProto { Name = w.Name + "_zero_point", DataType = (int)type, RawData = ByteString.CopyFrom(zeros.Select(z => o.SignedWeights ? (byte)(sbyte)z : (byte)z).ToArray()) };
        if (perColumn)
        {
            scaleTensor.Dims.Add(groups);
            zeroTensor.Dims.Add(groups);
        }
        return [quantized, scaleTensor, zeroTensor];
    }
}
