using System.Runtime.InteropServices;
using Google.Protobuf;
using MLNetTransformers.Onnx.Proto;

namespace MLNetTransformers.Onnx.Tests;

/// <summary>
/// Writes what <c>onnxruntime.quantization.matmul_4bits_quantizer.MatMul4BitsQuantizer</c> (its DefaultWeightOnlyQuantizer)
/// writes, since ONNX Runtime's Python package cannot be installed here: transformers.js's <c>model_q4.onnx</c> is its QOperator
/// form, symmetric, blocks of 32. Every MatMul by a stored [K, N] weight <c>W</c> becomes <c>MatMulNBits</c> (node
/// <c>{name}_Q4</c>, domain com.microsoft; attributes K, N, bits, block_size) reading <c>W_Q4</c> (uint8 [N, ⌈K / block⌉,
/// block · bits / 8]: each column's codes along K, low bits first), <c>W_scales</c> (float [N · blocks]) and, asymmetric,
/// <c>W_zero_points</c> (uint8, packed as the codes); the QDQ form instead stores <c>W_DQ_Q4</c> as int4 (symmetric) or uint4
/// [K, N] read by <c>DequantizeLinear</c>(axis 0, block_size) with <c>W_DQ_scales</c> [blocks, N], then <c>MatMul</c>
/// (<c>{name}_matmul_Q4</c>), the graph's opset raised to 21 as the quantizer does (and its reductions' axes made inputs).
/// With <see cref="Options.Bnb4"/>, what <c>MatMulBnb4Quantizer</c> writes (transformers.js's <c>model_bnb4.onnx</c>: NF4, blocks
/// of 64): <c>MatMulBnb4</c> (node <c>{name}_Bnb4</c>; K, N, block_size, quant_type) reading <c>W_Bnb4</c> (the transpose [N, K]
/// flattened into blocks, each value the nearest of the NF4 or FP4 table times the block's largest magnitude, two codes a
/// byte, the first in the high bits) and <c>W_absmax</c>.
/// </summary>
internal static class BlockQuantization
{
    /// <summary>The quantizer's choices: is_symmetric, block_size, bits (QOperator only), quant_format QDQ; or MatMulBnb4Quantizer's quant_type (0 FP4, 1 NF4).</summary>
    /// <remarks>With <c>Tables</c> (op_types_to_quantize MatMul and Gather), each embedding table's Gather becomes
    /// <c>GatherBlockQuantized</c> (<c>{name}_Q4</c>) over the table as int4 (symmetric) or uint4 with zero points, blocks along its
    /// rows' width (quantize_axis 1), scales [rows, blocks]; the opset is raised to 21 as for the QDQ form.</remarks>
    internal sealed record Options(bool Symmetric = true, int BlockSize = 32, int Bits = 4, bool Qdq = false, int? Bnb4 = null, bool Tables = false)
    {
        public override string ToString() => Bnb4 is { } type ? $"{(type == 1 ? "NF4" : "FP4")} blocks of {BlockSize}"
            : $"{(Qdq ? "QDQ " : "")}{Bits}-bit {(Symmetric ? "symmetric" : "asymmetric")} blocks of {BlockSize}{(Tables ? " with tables" : "")}";
    }

    // ONNX Runtime's tables (blockwise_quant_block_bnb4.h), whose quantizer picks the nearest value.
    private static readonly float[] Nf4 =
    [
        -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f, -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0f,
        0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f,
    ];

    private static readonly float[] Fp4 = [0f, 5.208333333e-03f, 0.66666667f, 1f, 0.33333333f, 0.5f, 0.16666667f, 0.25f, -0f, -5.208333333e-03f, -0.66666667f, -1f, -0.33333333f, -0.5f, -0.16666667f, -0.25f];

    public static byte[] Quantize(byte[] onnx, Options o)
    {
        var model = ModelProto.Parser.ParseFrom(onnx);
        var g = model.Graph;
        var init = g.Initializer.ToDictionary(t => t.Name);
        var done = new HashSet<string>();
        var nodes = new List<NodeProto>();
        foreach (var n in g.Node)
        {
            if (o.Tables && n.OpType == "Gather" && init.TryGetValue(n.Input[0], out var table) && table.DataType == (int)TensorProto.Types.DataType.Float && table.Dims.Count == 2)
            {
                if (done.Add(table.Name)) g.Initializer.AddRange(QuantizeTable(table, o));
                var gather = new NodeProto { OpType = "GatherBlockQuantized", Domain = "com.microsoft", Name = n.Name + "_Q4", Output = { n.Output[0] } };
                gather.Input.AddRange([table.Name + "_Q4", n.Input[1], table.Name + "_scales"]);
                if (!o.Symmetric) gather.Input.Add(table.Name + "_zero_points");
                gather.Attribute.Add(Int("gather_axis", n.Attribute.FirstOrDefault(a => a.Name == "axis")?.I ?? 0));
                gather.Attribute.Add(Int("quantize_axis", 1));
                gather.Attribute.Add(Int("block_size", o.BlockSize));
                nodes.Add(gather);
                continue;
            }
            if (n.OpType != "MatMul" || !init.TryGetValue(n.Input[1], out var w) || w.DataType != (int)TensorProto.Types.DataType.Float || w.Dims.Count != 2)
            {
                nodes.Add(n);
                continue;
            }
            int k = (int)w.Dims[0], cols = (int)w.Dims[1];
            var values = w.RawData.IsEmpty ? w.FloatData.ToArray() : MemoryMarshal.Cast<byte, float>(w.RawData.Span).ToArray();
            if (o.Bnb4 is { } quantType)
            {
                if (done.Add(w.Name))
                {
                    var (packed, maxima) = QuantizeBnb4(values, k, cols, o.BlockSize, quantType == 1 ? Nf4 : Fp4);
                    g.Initializer.Add(Tensor(w.Name + "_Bnb4", TensorProto.Types.DataType.Uint8, [packed.Length], packed));
                    g.Initializer.Add(Tensor(w.Name + "_absmax", TensorProto.Types.DataType.Float, [maxima.Length], MemoryMarshal.AsBytes(maxima.AsSpan()).ToArray()));
                }
                var bnb = new NodeProto { OpType = "MatMulBnb4", Domain = "com.microsoft", Name = n.Name + "_Bnb4", Input = { n.Input[0], w.Name + "_Bnb4", w.Name + "_absmax" }, Output = { n.Output[0] } };
                bnb.Attribute.Add(Int("K", k));
                bnb.Attribute.Add(Int("N", cols));
                bnb.Attribute.Add(Int("block_size", o.BlockSize));
                bnb.Attribute.Add(Int("quant_type", quantType));
                nodes.Add(bnb);
                continue;
            }
            var (codes, scales, zeros) = QuantizeBlocks(values, k, cols, o);
            int blocks = (k + o.BlockSize - 1) / o.BlockSize;
            if (o.Qdq)
            {
                string q = w.Name + "_DQ_Q4", output = q + "_output";
                if (done.Add(w.Name))
                {
                    // [K, N] row-major, two codes a byte; symmetric codes signed (code − 8), asymmetric unsigned with zero points.
                    var type = o.Symmetric ? TensorProto.Types.DataType.Int4 : TensorProto.Types.DataType.Uint4;
                    var rowMajor = new int[k * cols];
                    for (int r = 0; r < k; r++) for (int c = 0; c < cols; c++) rowMajor[r * cols + c] = codes[c, r] - (o.Symmetric ? 8 : 0);
                    g.Initializer.Add(Tensor(q, type, [k, cols], Pack(rowMajor, 4)));
                    var blockMajor = new float[blocks * cols];
                    var zeroMajor = new int[blocks * cols];
                    for (int j = 0; j < blocks; j++) for (int c = 0; c < cols; c++) (blockMajor[j * cols + c], zeroMajor[j * cols + c]) = (scales[c * blocks + j], zeros[c * blocks + j]);
                    g.Initializer.Add(Tensor(w.Name + "_DQ_scales", TensorProto.Types.DataType.Float, [blocks, cols], MemoryMarshal.AsBytes(blockMajor.AsSpan()).ToArray()));
                    var dqInputs = new List<string> { q, w.Name + "_DQ_scales" };
                    if (!o.Symmetric)
                    {
                        g.Initializer.Add(Tensor(w.Name + "_DQ_zero_points", type, [blocks, cols], Pack(zeroMajor, 4)));
                        dqInputs.Add(w.Name + "_DQ_zero_points");
                    }
                    var dq = new NodeProto { OpType = "DequantizeLinear", Name = n.Name + "_DQ_Q4", Input = { dqInputs }, Output = { output } };
                    dq.Attribute.Add(Int("axis", 0));
                    dq.Attribute.Add(Int("block_size", o.BlockSize));
                    nodes.Add(dq);
                }
                nodes.Add(new NodeProto { OpType = "MatMul", Name = n.Name + "_matmul_Q4", Input = { n.Input[0], output }, Output = { n.Output[0] } });
                continue;
            }
            string suffix = $"_Q{o.Bits}";
            if (done.Add(w.Name))
            {
                int bytes = o.BlockSize * o.Bits / 8, zeroBytes = (blocks * o.Bits + 7) / 8;
                var packed = new byte[cols * blocks * bytes];
                var packedZeros = new byte[cols * zeroBytes];
                for (int c = 0; c < cols; c++)
                {
                    var column = new int[blocks * o.BlockSize]; // K padded to whole blocks with zeros, quantized as the zero point
                    for (int r = 0; r < column.Length; r++) column[r] = r < k ? codes[c, r] : zeros[c * blocks + r / o.BlockSize];
                    Pack(column, o.Bits).CopyTo(packed, c * blocks * bytes);
                    Pack(zeros.AsSpan(c * blocks, blocks).ToArray(), o.Bits).CopyTo(packedZeros, c * zeroBytes);
                }
                g.Initializer.Add(Tensor(w.Name + suffix, TensorProto.Types.DataType.Uint8, [cols, blocks, bytes], packed));
                g.Initializer.Add(Tensor(w.Name + "_scales", TensorProto.Types.DataType.Float, [cols * blocks], MemoryMarshal.AsBytes(scales.AsSpan()).ToArray()));
                if (!o.Symmetric) g.Initializer.Add(Tensor(w.Name + "_zero_points", TensorProto.Types.DataType.Uint8, [cols * zeroBytes], packedZeros));
            }
            var product = new NodeProto { OpType = "MatMulNBits", Domain = "com.microsoft", Name = n.Name + suffix, Input = { n.Input[0], w.Name + suffix, w.Name + "_scales" }, Output = { n.Output[0] } };
            if (!o.Symmetric) product.Input.Add(w.Name + "_zero_points");
            product.Attribute.Add(Int("K", k));
            product.Attribute.Add(Int("N", cols));
            product.Attribute.Add(Int("bits", o.Bits));
            product.Attribute.Add(Int("block_size", o.BlockSize));
            nodes.Add(product);
        }
        DynamicQuantization.ReplaceNodes(g, nodes);
        if (o.Qdq || o.Tables)
        {
            foreach (var opset in model.OpsetImport.Where(s => s.Domain is "" or "ai.onnx" && s.Version < 21))
            {
                opset.Version = 21;
                // The quantizer only raises the number ("the generated model may not be a valid model"); as ONNX's version
                // converter would, the reductions' axes attributes (inputs since opset 18) become inputs, so that ONNX Runtime runs it.
                foreach (var r in g.Node.Where(r => r.OpType.StartsWith("Reduce", StringComparison.Ordinal) && r.OpType != "ReduceSum"))
                    if (r.Attribute.FirstOrDefault(a => a.Name == "axes") is { } axes)
                    {
                        r.Attribute.Remove(axes);
                        var t = new TensorProto { Name = r.Name + "_axes", DataType = (int)TensorProto.Types.DataType.Int64, Dims = { axes.Ints.Count } };
                        t.Int64Data.AddRange(axes.Ints);
                        g.Initializer.Add(t);
                        r.Input.Add(t.Name);
                    }
            }
            model.IrVersion = Math.Max(model.IrVersion, 10); // int4 tensors
        }
        if (!o.Qdq && !model.OpsetImport.Any(s => s.Domain == "com.microsoft")) model.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.microsoft", Version = 1 });
        g.ValueInfo.Clear();
        return model.ToByteArray();
    }

    // Each column's blocks along K, as MLAS quantizes them: symmetric, scale = the value of largest magnitude / −2^(bits−1) and
    // codes round(v / scale) + 2^(bits−1) in [0, 2^bits − 1]; asymmetric over [min(0, low), max(0, high)], scale = range / (2^bits − 1),
    // zero point round(−low / scale). Codes [N, K]; scales and zero points [N · blocks].
    private static (int[,] Codes, float[] Scales, int[] Zeros) QuantizeBlocks(float[] w, int k, int cols, Options o)
    {
        int blocks = (k + o.BlockSize - 1) / o.BlockSize, top = (1 << o.Bits) - 1, mid = 1 << (o.Bits - 1);
        var codes = new int[cols, k];
        var scales = new float[cols * blocks];
        var zeros = new int[cols * blocks];
        for (int c = 0; c < cols; c++)
            for (int j = 0; j < blocks; j++)
            {
                int from = j * o.BlockSize, to = Math.Min(k, from + o.BlockSize);
                float low = 0, high = 0;
                for (int r = from; r < to; r++) (low, high) = (Math.Min(low, w[r * cols + c]), Math.Max(high, w[r * cols + c]));
                float scale;
                int zero;
                if (o.Symmetric) (scale, zero) = ((Math.Abs(high) > Math.Abs(low) ? high : low) / -mid, mid);
                else
                {
                    scale = (high - low) / top;
                    zero = scale == 0 ? mid : Math.Clamp((int)MathF.Round(-low / scale), 0, top);
                }
                (scales[c * blocks + j], zeros[c * blocks + j]) = (scale, zero);
                for (int r = from; r < to; r++)
                    codes[c, r] = scale == 0 ? zero : Math.Clamp((int)MathF.Round(w[r * cols + c] / scale) + zero, 0, top);
            }
        return (codes, scales, zeros);
    }

    // An embedding table [rows, width] by blocks along its width, as quantize_ndarray does (the same block arithmetic as a
    // product's columns: each row's blocks are a column's of the transpose): int4 codes (code − 8) or uint4 with zero points.
    private static TensorProto[] QuantizeTable(TensorProto t, Options o)
    {
        int rows = (int)t.Dims[0], width = (int)t.Dims[1], blocks = (width + o.BlockSize - 1) / o.BlockSize;
        var values = t.RawData.IsEmpty ? t.FloatData.ToArray() : MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();
        var transposed = new float[values.Length];
        for (int r = 0; r < rows; r++) for (int c = 0; c < width; c++) transposed[c * rows + r] = values[r * width + c];
        var (codes, scales, zeros) = QuantizeBlocks(transposed, width, rows, o with { Bits = 4 });
        var flat = new int[rows * width];
        for (int r = 0; r < rows; r++) for (int c = 0; c < width; c++) flat[r * width + c] = codes[r, c] - (o.Symmetric ? 8 : 0);
        var type = o.Symmetric ? TensorProto.Types.DataType.Int4 : TensorProto.Types.DataType.Uint4;
        var tensors = new List<TensorProto>
        {
            Tensor(t.Name + "_Q4", type, [rows, width], Pack(flat, 4)),
            Tensor(t.Name + "_scales", TensorProto.Types.DataType.Float, [rows, blocks], MemoryMarshal.AsBytes(scales.AsSpan()).ToArray()),
        };
        if (!o.Symmetric) tensors.Add(Tensor(t.Name + "_zero_points", type, [rows, blocks], Pack(zeros, 4)));
        return [.. tensors];
    }

    // The transpose [N, K] flattened, by blocks: each value the nearest table entry after division by the block's largest
    // magnitude; two codes a byte, the first in the high bits.
    private static (byte[] Packed, float[] Maxima) QuantizeBnb4(float[] w, int k, int cols, int block, float[] table)
    {
        int count = k * cols;
        var transposed = new float[count];
        for (int r = 0; r < k; r++) for (int c = 0; c < cols; c++) transposed[c * k + r] = w[r * cols + c];
        var maxima = new float[(count + block - 1) / block];
        for (int i = 0; i < count; i++) maxima[i / block] = Math.Max(maxima[i / block], Math.Abs(transposed[i]));
        var packed = new byte[(count + 1) / 2];
        for (int i = 0; i < count; i++)
        {
            float v = maxima[i / block] == 0 ? 0 : transposed[i] / maxima[i / block];
            int code = Enumerable.Range(0, 16).MinBy(j => Math.Abs(table[j] - v));
            packed[i / 2] |= (byte)(i % 2 == 0 ? code << 4 : code);
        }
        return (packed, maxima);
    }

    // Codes of `bits` bits (4 or 8), packed low bits first.
    private static byte[] Pack(int[] codes, int bits)
    {
        var packed = new byte[(codes.Length * bits + 7) / 8];
        for (int i = 0; i < codes.Length; i++) packed[i * bits / 8] |= (byte)((codes[i] & ((1 << bits) - 1)) << (i * bits % 8));
        return packed;
    }

    private static TensorProto Tensor(string name, TensorProto.Types.DataType type, long[] dims, byte[] raw)
    {
        var t = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(raw) };
        t.Dims.AddRange(dims);
        return t;
    }

    private static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };
}
