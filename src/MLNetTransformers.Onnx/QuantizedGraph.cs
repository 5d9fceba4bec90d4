using System.Runtime.InteropServices;

namespace MLNetTransformers.Onnx;

/// <summary>
/// An int8 or uint8 quantized encoder graph (as <c>onnxruntime.quantization.quantize_dynamic</c> writes it: the
/// <c>model_quantized.onnx</c> of transformers.js and optimum repositories) turned back into the float graph its stored
/// weights describe, so that the PyTorch-export reader reads it as any other: each weight becomes (q − zero point) · scale,
/// exactly what ONNX Runtime's DequantizeLinear computes, and each quantized product the float product of the same
/// operands. What is undone: <c>DynamicQuantizeLinear</c> → <c>MatMulInteger</c> → <c>Cast</c> → <c>Mul</c> by the scales'
/// product; ONNX Runtime's fusions of it (<c>DynamicQuantizeMatMul</c>, <c>MatMulIntegerToFloat</c>); a quantized
/// embedding table's <c>Gather</c> → <c>DequantizeLinear</c>; a <c>DequantizeLinear</c> of a stored weight and a
/// <c>QuantizeLinear</c> → <c>DequantizeLinear</c> pair on activations (the QDQ form); and the block-wise 4-bit (2- and
/// 8-bit) weights of <c>MatMul4BitsQuantizer</c> (the <c>model_q4.onnx</c> of transformers.js repositories): its
/// <c>MatMulNBits</c> products, <c>GatherBlockQuantized</c> embedding tables, and its QDQ form's <c>DequantizeLinear</c> of an
/// int4/uint4 weight by blocks; and
/// <c>MatMulBnb4Quantizer</c>'s NF4/FP4 <c>MatMulBnb4</c> products (<c>model_bnb4.onnx</c>); and a graph fused by ONNX
/// Runtime's transformer optimizer quantized by quantize_dynamic (<c>QAttention</c>, <c>QEmbedLayerNormalization</c>). Weights get
/// their names back (<c>embeddings.word_embeddings.weight_quantized</c> → <c>embeddings.word_embeddings.weight</c>,
/// <c>onnx::MatMul_927_Q4</c> → <c>onnx::MatMul_927</c>) and products their node names (<c>…/MatMul_quant</c>,
/// <c>…/MatMul_Q4</c> → <c>…/MatMul</c>), which the reader matches on. Any other quantized operator, or one of these wired
/// in another way, is refused naming the node.
/// </summary>
internal static class QuantizedGraph
{
    private static readonly HashSet<string> QuantizationOperators = new(StringComparer.Ordinal)
    {
        "DynamicQuantizeLinear", "QuantizeLinear", "DequantizeLinear", "MatMulInteger", "DynamicQuantizeMatMul", "MatMulIntegerToFloat",
        "QLinearMatMul", "QAttention", "QEmbedLayerNormalization", "QGemm", "QLinearAdd", "QLinearMul", "QOrderedMatMul", "MatMulNBits", "MatMulBnb4", "GatherBlockQuantized",
    };

    /// <summary>Whether the graph holds quantized operators.</summary>
    public static bool IsQuantized(GraphProto graph) => graph.Node.Any(n => QuantizationOperators.Contains(n.OpType));

    /// <summary>The float graph of a quantized one (a copy; <paramref name="model"/> is not changed).</summary>
    /// <param name="model">The quantized model.</param>
    /// <param name="src">Names the model in errors.</param>
    public static ModelProto Dequantize(ModelProto model, string src)
    {
        var m = model.Clone();
        new Rewrite(m.Graph, src).Run();
        return m;
    }

    private sealed class Rewrite
    {
        private readonly GraphProto _g;
        private readonly string _src;
        private readonly Dictionary<string, TensorProto> _init = new(StringComparer.Ordinal);
        private readonly Dictionary<string, NodeProto> _producer = new(StringComparer.Ordinal);
        private readonly Dictionary<string, List<NodeProto>> _consumers = new(StringComparer.Ordinal);
        // Float weights made, by quantized tensor and scale (blocks sharing a weight, as ALBERT's, share its float copy).
        private readonly Dictionary<(string, string, string), string> _made = new();
        // The float rows gathered for a quantized table's rows.
        private readonly Dictionary<string, string> _gathered = new(StringComparer.Ordinal);
        // Protobuf messages compare by value: nodes are told apart by reference.
        private readonly HashSet<NodeProto> _removed = new(ReferenceEqualityComparer.Instance);
        private readonly Dictionary<NodeProto, NodeProto[]> _replaced = new(ReferenceEqualityComparer.Instance);
        // Nodes a replacement reads that are made for it: the float copies of the data movements ONNX Runtime moved a
        // quantized activation through (Activation).
        private readonly Dictionary<NodeProto, List<NodeProto>> _before = new(ReferenceEqualityComparer.Instance);

        public Rewrite(GraphProto graph, string src)
        {
            (_g, _src) = (graph, src);
            foreach (var t in graph.Initializer) _init.TryAdd(t.Name, t);
            foreach (var n in graph.Node)
            {
                foreach (var o in n.Output) _producer[o] = n;
                foreach (var i in n.Input) (_consumers.TryGetValue(i, out var l) ? l : _consumers[i] = []).Add(n);
            }
        }

        public void Run()
        {
            foreach (var n in _g.Node.ToList())
            {
                switch (n.OpType)
                {
                    case "MatMulInteger": MatMulInteger(n); break;
                    case "DynamicQuantizeMatMul": Fused(n, Input(n, 0), n, weight: 1, scale: 2, zeroPoint: 3, bias: 4); break;
                    case "MatMulIntegerToFloat": Fused(n, FloatSource(n, Input(n, 0), Input(n, 2), Input(n, 4)), n, weight: 1, scale: 3, zeroPoint: 5, bias: 6); break;
                    case "DequantizeLinear": Dequantize(n); break;
                    case "MatMulNBits": MatMulNBits(n); break;
                    case "MatMulBnb4": MatMulBnb4(n); break;
                    case "GatherBlockQuantized": GatherBlockQuantized(n); break;
                    case "QAttention": QAttention(n); break;
                    case "QEmbedLayerNormalization": QEmbedLayerNormalization(n); break;
                }
            }
            var nodes = new List<NodeProto>();
            foreach (var n in _g.Node)
            {
                // The QDQ form of MatMul4BitsQuantizer renames the MatMul reading a dequantized weight (…/MatMul_matmul_Q4).
                if (n.OpType == "MatMul" && Unsuffixed(n.Name, "_matmul_Q4") is { } name) n.Name = name;
                if (_before.TryGetValue(n, out var made)) nodes.AddRange(made);
                if (_replaced.TryGetValue(n, out var replacement)) nodes.AddRange(replacement);
                else if (!_removed.Contains(n)) nodes.Add(n);
            }
            _g.Node.Clear();
            _g.Node.AddRange(Live(nodes));
            // Named: the quantized operator left, before the quantizing nodes that feed it.
            var left = _g.Node.Where(n => QuantizationOperators.Contains(n.OpType)).OrderBy(n => n.OpType is "DynamicQuantizeLinear" or "QuantizeLinear" or "DequantizeLinear").FirstOrDefault();
            if (left is not null)
                throw new InvalidDataException($"{_src} is quantized in a way the reader does not undo: node '{left.Name}' is a {left.OpType} " +
                        "(read are quantize_dynamic's MatMulInteger products, their DynamicQuantizeMatMul and MatMulIntegerToFloat fusions, quantized embedding tables, QDQ pairs, " +
                        "MatMul4BitsQuantizer's MatMulNBits products, GatherBlockQuantized tables and block-wise DequantizeLinear weights, MatMulBnb4Quantizer's MatMulBnb4 products, " +
                        "and QAttention and QEmbedLayerNormalization).");
            var used = _g.Node.SelectMany(n => n.Input).ToHashSet(StringComparer.Ordinal);
            var kept = _g.Initializer.Where(t => used.Contains(t.Name)).ToList();
            _g.Initializer.Clear();
            _g.Initializer.AddRange(kept);
            _g.ValueInfo.Clear(); // shapes and types of tensors that changed or went; ONNX Runtime infers them again
        }

        // The nodes the graph's outputs depend on, in their order.
        private List<NodeProto> Live(List<NodeProto> nodes)
        {
            var producer = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
            foreach (var n in nodes) foreach (var o in n.Output) producer[o] = n;
            var live = new HashSet<NodeProto>();
            var pending = new Stack<string>(_g.Output.Select(o => o.Name));
            while (pending.Count > 0)
                if (producer.TryGetValue(pending.Pop(), out var n) && live.Add(n))
                    foreach (var i in n.Input) pending.Push(i);
            return nodes.Where(live.Contains).ToList();
        }

        private static string? Input(NodeProto n, int i) => n.Input.Count > i && n.Input[i].Length > 0 ? n.Input[i] : null;

        private InvalidDataException Refuse(NodeProto n, string problem) => new($"{_src}: quantized node '{n.Name}' ({n.OpType}) {problem}.");

        // quantize_dynamic's product: x → DynamicQuantizeLinear → MatMulInteger(x_q, w_q, x_zp, w_zp) → Cast → Mul(·, x_scale·w_scale).
        private void MatMulInteger(NodeProto n)
        {
            var (a, b) = (Input(n, 0) ?? throw Refuse(n, "has no first input"), Input(n, 1) ?? throw Refuse(n, "has no second input"));
            var cast = Single(n, n.Output.FirstOrDefault(), "Cast");
            if (cast.Attribute.FirstOrDefault(x => x.Name == "to")?.I != (long)DataType.Float) throw Refuse(n, $"is cast by '{cast.Name}' to a type other than float");
            var mul = Single(n, cast.Output.FirstOrDefault(), "Mul");
            if (mul.Input.Count != 2) throw Refuse(n, $"is scaled by '{mul.Name}' with {mul.Input.Count} inputs");
            string scales = mul.Input[0] == cast.Output[0] ? mul.Input[1] : mul.Input[0];
            var scaleProduct = _producer.GetValueOrDefault(scales);
            if (scaleProduct is not { OpType: "Mul", Input.Count: 2 }) throw Refuse(n, $"is scaled by '{scales}', which is not the product of its inputs' scales");
            var (x, xScale) = Activation(n, a, Input(n, 2));
            string? wScale = scaleProduct.Input.FirstOrDefault(s => s != xScale);
            if (!scaleProduct.Input.Contains(xScale) || wScale is null && scaleProduct.Input[0] != scaleProduct.Input[1])
                throw Refuse(n, $"is scaled by '{scales}', which is not its input's scale '{xScale}' times its weight's");
            wScale ??= xScale;
            // The second operand: a stored weight, or an activation quantized the same way (a product of two activations).
            string w = _init.ContainsKey(b) ? FloatWeight(n, b, wScale, Input(n, 3), axis: -1) : ActivationWithScale(n, b, Input(n, 3), wScale);
            _replaced[n] = [MatMul(n, x, w, mul.Output[0])];
            _removed.Add(cast);
            _removed.Add(mul);
        }

        // ONNX Runtime's fused forms (a float or quantized activation, the weight, its scale and zero point, an optional bias).
        private void Fused(NodeProto n, string? x, NodeProto at, int weight, int scale, int zeroPoint, int bias)
        {
            if (x is null || Input(n, weight) is not { } b || !_init.ContainsKey(b) || Input(n, scale) is not { } s)
                throw Refuse(n, "does not multiply an activation by a stored weight with its scale");
            string w = FloatWeight(n, b, s, Input(n, zeroPoint), axis: -1), y = n.Output.FirstOrDefault() ?? throw Refuse(n, "has no output");
            if (Input(n, bias) is not { } biasName) { _replaced[at] = [MatMul(n, x, w, y)]; return; }
            var product = MatMul(n, x, w, y + "_product");
            _replaced[at] = [product, new NodeProto { Name = n.Name + "_bias", OpType = "Add", Input = { product.Output[0], biasName }, Output = { y } }];
        }

        // quantize_dynamic's form of a graph fused by ONNX Runtime's transformer optimizer: QAttention(x_q, w_q, bias, x_scale,
        // w_scale, mask_index, x_zp, w_zp, past), its input from a DynamicQuantizeLinear and its [d, 3d] weight quantized per
        // tensor or per column, back to the Attention it was.
        private void QAttention(NodeProto n)
        {
            var x = FloatSource(n, Input(n, 0), Input(n, 3), Input(n, 6));
            if (x is null || Input(n, 1) is not { } b || !_init.ContainsKey(b) || Input(n, 4) is not { } s || Input(n, 2) is not { } bias)
                throw Refuse(n, "does not take a quantized input, a stored weight with its scale and a bias");
            string w = FloatWeight(n, b, s, Input(n, 7), axis: -1);
            var inputs = new List<string> { x, w, bias, Input(n, 5) ?? "" };
            if (Input(n, 8) is { } past) inputs.Add(past);
            while (inputs[^1].Length == 0) inputs.RemoveAt(inputs.Count - 1);
            _replaced[n] = [Unquantized(n, "Attention", inputs)];
        }

        // QEmbedLayerNormalization(ids, segments, word, position, segment tables, gamma, beta (each quantized per tensor), mask,
        // their five scales, their five zero points), back to the EmbedLayerNormalization it was.
        private void QEmbedLayerNormalization(NodeProto n)
        {
            var inputs = new List<string> { Input(n, 0) ?? throw Refuse(n, "has no input ids"), Input(n, 1) ?? "" };
            for (int j = 2; j <= 6; j++)
            {
                if (Input(n, j) is not { } q) { inputs.Add(""); continue; }
                if (!_init.ContainsKey(q) || Input(n, j + 6) is not { } scale) throw Refuse(n, $"takes '{q}', which is not a stored tensor with its scale");
                inputs.Add(FloatWeight(n, q, scale, Input(n, j + 11), axis: 0));
            }
            inputs.Add(Input(n, 7) ?? "");
            while (inputs[^1].Length == 0) inputs.RemoveAt(inputs.Count - 1);
            _replaced[n] = [Unquantized(n, "EmbedLayerNormalization", inputs)];
        }

        // The fused operator a quantized one stood for: its name without _quant, its attributes, ONNX Runtime's domain.
        private static NodeProto Unquantized(NodeProto n, string op, List<string> inputs)
        {
            var node = new NodeProto { Name = Unsuffixed(n.Name, "_quant") ?? n.Name, OpType = op, Domain = n.Domain, Input = { inputs }, Output = { n.Output } };
            node.Attribute.AddRange(n.Attribute);
            return node;
        }

        // MatMulIntegerToFloat's first operand: the float tensor quantized with the given scale and zero point.
        private string? FloatSource(NodeProto n, string? quantized, string? scale, string? zeroPoint)
        {
            if (quantized is null) return null;
            var (x, s) = Activation(n, quantized, zeroPoint);
            return s == scale ? x : throw Refuse(n, $"scales its input by '{scale}', not by the scale '{s}' it was quantized with");
        }

        // The float tensor a quantized activation came from, and its scale: DynamicQuantizeLinear's (x_q, x_scale, x_zp), or
        // QuantizeLinear(x, scale, zp) (int8 activations), also when ONNX Runtime's optimizer moved the QuantizeLinear ahead
        // of data movements (Reshape, Transpose: the same on quantized values as on float ones), which are then made again
        // on the float tensor for n. The zero point used must be the one it was quantized with.
        private (string X, string Scale) Activation(NodeProto n, string quantized, string? zeroPoint)
        {
            var q = _producer.GetValueOrDefault(quantized);
            var moves = new List<NodeProto>();
            while (q is { OpType: "Reshape" or "Transpose" or "Squeeze" or "Unsqueeze", Output.Count: 1 } && q.Input.Count >= 1 && moves.Count < 8)
            {
                moves.Add(q);
                q = _producer.GetValueOrDefault(q.Input[0]);
            }
            if (moves.Count > 0 && q is { OpType: "QuantizeLinear", Input.Count: >= 2 } && Input(q, 2) == zeroPoint && _init.ContainsKey(q.Input[1]) && Scalar(q.Input[1]))
            {
                string x = q.Input[0];
                var made = _before.TryGetValue(n, out var list) ? list : _before[n] = [];
                for (int i = moves.Count - 1; i >= 0; i--)
                {
                    var copy = moves[i].Clone();
                    (copy.Name, copy.Input[0]) = ($"{moves[i].Name}_float_for_{n.Name}", x);
                    copy.Output[0] = x = $"{moves[i].Output[0]}_float_for_{n.Name}";
                    made.Add(copy);
                }
                return (x, q.Input[1]);
            }
            if (q is { OpType: "DynamicQuantizeLinear", Input.Count: 1, Output.Count: 3 } && q.Output[0] == quantized)
                return zeroPoint == q.Output[2] ? (q.Input[0], q.Output[1]) : throw Refuse(n, $"takes the zero point '{zeroPoint}', not that of '{q.Name}', which quantized its input");
            if (q is { OpType: "QuantizeLinear", Input.Count: >= 2 } && Input(q, 2) == zeroPoint && _init.ContainsKey(q.Input[1]) && Scalar(q.Input[1]))
                return (q.Input[0], q.Input[1]);
            throw Refuse(n, $"takes '{quantized}', which is neither a stored weight nor an activation quantized by a DynamicQuantizeLinear or a per-tensor QuantizeLinear");
        }

        private string ActivationWithScale(NodeProto n, string quantized, string? zeroPoint, string scale)
        {
            var (x, s) = Activation(n, quantized, zeroPoint);
            return s == scale ? x : throw Refuse(n, $"is scaled by '{scale}' for an operand quantized with '{s}'");
        }

        private bool Scalar(string name) => _init.TryGetValue(name, out var t) && t.Dims.Aggregate(1L, (p, d) => p * d) == 1;

        // The one consumer of a node's output, of the given operator.
        private NodeProto Single(NodeProto n, string? output, string op)
        {
            var users = output is null ? null : _consumers.GetValueOrDefault(output);
            if (users is not [var user] || user.OpType != op || _g.Output.Any(o => o.Name == output))
                throw Refuse(n, $"does not pass its output to a {op} alone (quantize_dynamic's pattern)");
            return user;
        }

        // x·w under the name of the MatMul the quantizer replaced (quantize_dynamic appends _quant, MatMul4BitsQuantizer _Q4).
        private static NodeProto MatMul(NodeProto n, string x, string w, string y) =>
            new() { Name = Unsuffixed(n.Name, "_quant") ?? QuantizerSuffix.Replace(n.Name, ""), OpType = "MatMul", Input = { x, w }, Output = { y } };

        private static string? Unsuffixed(string name, string suffix) => name.EndsWith(suffix, StringComparison.Ordinal) ? name[..^suffix.Length] : null;

        // MatMul4BitsQuantizer's suffix for a weight it quantized and the node that multiplies by it: _Q4 (_Q2, _Q8), _DQ_Q4.
        private static readonly System.Text.RegularExpressions.Regex QuantizerSuffix = new("(_DQ)?_Q[248]$|_Bnb4$", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

        // MatMulNBits(x, B, scales, zero points, g_idx, bias): x times the [K, N] weight whose column n, block j (block_size
        // rows of K) is (code − zero point) · scale; codes of `bits` bits packed low bits first into B's [N, blocks, bytes],
        // zero points the same way into uint8 [N · ⌈blocks · bits / 8⌉] (or unpacked floats), 2^(bits − 1) when absent.
        private void MatMulNBits(NodeProto n)
        {
            if (Input(n, 0) is not { } x || Input(n, 1) is not { } b || !_init.ContainsKey(b) || Input(n, 2) is not { } s)
                throw Refuse(n, "does not multiply an activation by a stored weight with its scales");
            if (Input(n, 4) is not null) throw Refuse(n, "reorders its weight's rows by g_idx, which is not read");
            string w = NBitsWeight(n, b, s, Input(n, 3)), y = n.Output.FirstOrDefault() ?? throw Refuse(n, "has no output");
            if (Input(n, 5) is not { } bias) { _replaced[n] = [MatMul(n, x, w, y)]; return; }
            var product = MatMul(n, x, w, y + "_product");
            _replaced[n] = [product, new NodeProto { Name = n.Name + "_bias", OpType = "Add", Input = { product.Output[0], bias }, Output = { y } }];
        }

        private string NBitsWeight(NodeProto n, string quantized, string scale, string? zeroPoint)
        {
            if (_made.TryGetValue((quantized, scale, zeroPoint ?? ""), out var made)) return made;
            var (k, cols) = ProductShape(n);
            long bits = Attribute(n, "bits") ?? 4, block = BlockSize(n, Attribute(n, "block_size") ?? throw Refuse(n, "has no attribute 'block_size'"), least: 8);
            if (bits is not (2 or 4 or 8)) throw Refuse(n, $"has codes of {bits} bits (read are 2, 4 and 8)");
            long blocks = (k + block - 1) / block, bytes = block * bits / 8;
            var q = _init[quantized];
            long[] shape = [cols, blocks, bytes];
            if (q.DataType != (int)DataType.Uint8 || !q.Dims.SequenceEqual(shape) || q.RawData.Length != cols * blocks * bytes)
                throw Refuse(n, $"has a weight '{quantized}' of {(DataType)q.DataType} [{string.Join(", ", q.Dims)}] ({q.RawData.Length} bytes), not uint8 [{string.Join(", ", shape)}]");
            var scales = Floats(n, scale);
            if (scales.Length != cols * blocks) throw Refuse(n, $"has {scales.Length} scales in '{scale}' for {cols} columns of {blocks} blocks");
            if (scales.Any(v => !float.IsFinite(v))) throw Refuse(n, $"has a scale '{scale}' that is not finite");
            var zeros = new float[scales.Length];
            long zeroBytes = (blocks * bits + 7) / 8;
            if (zeroPoint is null) Array.Fill(zeros, 1 << (int)(bits - 1));
            else if (_init.TryGetValue(zeroPoint, out var z) && z.DataType == (int)DataType.Uint8 && z.RawData.Length == cols * zeroBytes)
            {
                var raw = z.RawData.Span;
                for (long c = 0; c < cols; c++)
                    for (long j = 0; j < blocks; j++) zeros[c * blocks + j] = Code(raw[(int)(c * zeroBytes)..], j, (int)bits);
            }
            else if (z is { DataType: (int)DataType.Float })
            {
                zeros = Floats(n, zeroPoint);
                if (zeros.Length != scales.Length) throw Refuse(n, $"has {zeros.Length} float zero points in '{zeroPoint}' for {scales.Length} scales");
            }
            else throw Refuse(n, $"has a zero point '{zeroPoint}' that is neither uint8 [{cols * zeroBytes}] nor floats as many as its scales");
            var codes = q.RawData.Span;
            var w = new float[k * cols]; // [K, N], as the MatMul it replaced read it
            for (long c = 0; c < cols; c++)
            {
                var column = codes[(int)(c * blocks * bytes)..(int)((c + 1) * blocks * bytes)];
                for (long r = 0; r < k; r++) w[r * cols + c] = (Code(column, r, (int)bits) - zeros[c * blocks + r / block]) * scales[c * blocks + r / block];
            }
            return AddWeight(n, quantized, [k, cols], w, (quantized, scale, zeroPoint ?? ""), scales.Max(MathF.Abs));
        }

        // MatMulBnb4(x, B, absmax) of MatMulBnb4Quantizer (bitsandbytes' 4-bit formats: model_bnb4.onnx): the [K, N] weight's
        // transpose flattened into blocks of block_size values, each a 4-bit code (two a byte, the first in the high bits)
        // naming a value of the NF4 or FP4 table, times its block's largest magnitude.
        private void MatMulBnb4(NodeProto n)
        {
            if (Input(n, 0) is not { } x || Input(n, 1) is not { } b || !_init.TryGetValue(b, out var q) || Input(n, 2) is not { } s)
                throw Refuse(n, "does not multiply an activation by a stored weight with its block maxima");
            string y = n.Output.FirstOrDefault() ?? throw Refuse(n, "has no output");
            if (!_made.TryGetValue((b, s, ""), out var w))
            {
                var (k, cols) = ProductShape(n);
                long block = Attribute(n, "block_size") ?? throw Refuse(n, "has no attribute 'block_size'"), type = Attribute(n, "quant_type") ?? throw Refuse(n, "has no attribute 'quant_type'");
                var table = type switch { 0 => Fp4Values, 1 => Nf4Values, _ => throw Refuse(n, $"has quant_type {type} (read are 0, FP4, and 1, NF4)") };
                BlockSize(n, block, least: 16);
                long count = k * cols, blocks = (count + block - 1) / block;
                if (q.DataType != (int)DataType.Uint8 || q.RawData.Length != (count + 1) / 2 || q.Dims.Aggregate(1L, (p, d) => p * d) != (count + 1) / 2)
                    throw Refuse(n, $"has a weight '{b}' of {(DataType)q.DataType} [{string.Join(", ", q.Dims)}] ({q.RawData.Length} bytes), not uint8 [{(count + 1) / 2}]");
                var maxima = Floats(n, s);
                if (maxima.Length != blocks) throw Refuse(n, $"has {maxima.Length} block maxima in '{s}' for {blocks} blocks of {block}");
                if (maxima.Any(v => !float.IsFinite(v))) throw Refuse(n, $"has a block maximum in '{s}' that is not finite");
                var codes = q.RawData.Span;
                var values = new float[count];
                for (long i = 0; i < count; i++) // i indexes the transpose [N, K]
                    values[i % k * cols + i / k] = table[codes[(int)(i / 2)] >> (i % 2 == 0 ? 4 : 0) & 15] * maxima[i / block];
                w = AddWeight(n, b, [k, cols], values, (b, s, ""), maxima.Max(MathF.Abs) / 3f); // (the tables' widest gap: 1/3 of the maximum)
            }
            _replaced[n] = [MatMul(n, x, w, y)];
        }

        // bitsandbytes' NormalFloat4 and FP4 values, as ONNX Runtime's MatMulBnb4 holds them (blockwise_quant_block_bnb4.h).
        private static readonly float[] Nf4Values =
        [
            -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f, -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0f,
            0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f,
        ];

        private static readonly float[] Fp4Values =
        [
            0f, 5.208333333e-03f, 0.66666667f, 1f, 0.33333333f, 0.5f, 0.16666667f, 0.25f,
            -0f, -5.208333333e-03f, -0.66666667f, -1f, -0.33333333f, -0.5f, -0.16666667f, -0.25f,
        ];

        private static long? Attribute(NodeProto n, string name) => n.Attribute.FirstOrDefault(a => a.Name == name)?.I;

        // K and N of a block-quantized product's [K, N] weight, refused unless the float weight fits an array.
        private (long K, long N) ProductShape(NodeProto n)
        {
            long k = Attribute(n, "K") ?? throw Refuse(n, "has no attribute 'K'"), cols = Attribute(n, "N") ?? throw Refuse(n, "has no attribute 'N'");
            if (k <= 0 || cols <= 0 || k > Array.MaxLength / cols) throw Refuse(n, $"has a weight of K = {k} by N = {cols}");
            return (k, cols);
        }

        // A block size the operator allows: a power of two from `least` (ONNX Runtime's kernels ask for it).
        private long BlockSize(NodeProto n, long block, long least) =>
            block >= least && block <= 1 << 16 && (block & (block - 1)) == 0 ? block : throw Refuse(n, $"has a block size of {block}, not a power of two from {least}");

        // The i-th code of `bits` bits, packed low bits first.
        private static int Code(ReadOnlySpan<byte> packed, long i, int bits) => packed[(int)(i * bits / 8)] >> (int)(i * bits % 8) & (1 << bits) - 1;

        // MatMul4BitsQuantizer's quantized embedding table (op_types_to_quantize with Gather): GatherBlockQuantized(data,
        // indices, scales, zero points) over an int4 or uint4 table quantized by blocks along quantize_axis, back to a
        // Gather of the float table.
        private void GatherBlockQuantized(NodeProto n)
        {
            if (Input(n, 0) is not { } table || !_init.TryGetValue(table, out var t) || Input(n, 1) is not { } ids || Input(n, 2) is not { } scale)
                throw Refuse(n, "does not gather from a stored table with its scales");
            if (t.DataType is not ((int)DataType.Int4 or (int)DataType.Uint4)) throw Refuse(n, $"holds its table '{table}' as {(DataType)t.DataType} (read are int4 and uint4)");
            long gatherAxis = Attribute(n, "gather_axis") ?? 0, quantizeAxis = Attribute(n, "quantize_axis") ?? 1, bits = Attribute(n, "bits") ?? 4;
            if (bits != 4) throw Refuse(n, $"has codes of {bits} bits (read are 4)");
            if (gatherAxis != 0) throw Refuse(n, $"gathers along axis {gatherAxis}, not a table's rows");
            long block = BlockSize(n, Attribute(n, "block_size") ?? 128, least: 16);
            // Absent zero points: int4's are 0, as DequantizeLinear's; the quantizer writes uint4's, so they are asked for.
            if (Input(n, 3) is null && t.DataType == (int)DataType.Uint4) throw Refuse(n, $"has a uint4 table '{table}' without zero points");
            string floats = FloatWeight(n, table, scale, Input(n, 3), quantizeAxis, block), y = n.Output.FirstOrDefault() ?? throw Refuse(n, "has no output");
            _replaced[n] = [new NodeProto { Name = QuantizerSuffix.Replace(n.Name, ""), OpType = "Gather", Input = { floats, ids }, Output = { y } }];
        }

        private void Dequantize(NodeProto n)
        {
            if (_removed.Contains(n) || Input(n, 0) is not { } x || Input(n, 1) is not { } scale) return;
            string y = n.Output.FirstOrDefault() ?? throw Refuse(n, "has no output");
            long axis = Attribute(n, "axis") ?? 1, block = Attribute(n, "block_size") ?? 0;
            if (_init.ContainsKey(x))
            {
                // A stored weight dequantized (the QDQ form; by blocks along the axis, MatMul4BitsQuantizer's): its float
                // values, read where the dequantized tensor was.
                Alias(n, y, FloatWeight(n, x, scale, Input(n, 2), axis, block));
                return;
            }
            if (block != 0) throw Refuse(n, $"dequantizes '{x}' by blocks, which is not a stored weight");
            var p = _producer.GetValueOrDefault(x);
            if (p is { OpType: "Gather", Input.Count: 2 } && _init.ContainsKey(p.Input[0]))
            {
                // A quantized embedding table: gather the float rows instead (the table quantized as a whole). ONNX Runtime's
                // optimizer gives each consumer a DequantizeLinear of its own: all dequantize alike, and read the one gather.
                if (!Scalar(scale)) throw Refuse(n, $"dequantizes the rows of '{p.Input[0]}' by axis; a table is read quantized as a whole");
                if (_consumers[x].Any(c => c.OpType != "DequantizeLinear" || Input(c, 1) != scale || Input(c, 2) != Input(n, 2)))
                    throw Refuse(n, $"dequantizes the rows of '{p.Input[0]}', which another node reads otherwise");
                if (_gathered.TryGetValue(x, out var rows)) { Alias(n, y, rows); return; }
                string table = FloatWeight(n, p.Input[0], scale, Input(n, 2), axis);
                _replaced[p] = [new NodeProto { Name = p.Name, OpType = "Gather", Input = { table, p.Input[1] }, Output = { y }, Attribute = { p.Attribute } }];
                _removed.Add(n);
                _gathered[x] = y;
                return;
            }
            if (p is { OpType: "QuantizeLinear" } && Input(p, 1) == scale && Input(p, 2) == Input(n, 2))
            {
                // An activation's quantize-dequantize pair: the activation itself.
                Alias(n, y, p.Input[0]);
                return;
            }
            throw Refuse(n, $"dequantizes '{x}', which is neither a stored weight, a quantized table's rows nor a QuantizeLinear's output with the same scale");
        }

        // The node n computing y goes; its consumers read x instead (a graph output keeps its name through an Identity), so
        // that a weight is a MatMul's own operand and an Add still follows its product, as the reader matches them.
        private void Alias(NodeProto n, string y, string x)
        {
            if (_g.Output.Any(o => o.Name == y)) { _replaced[n] = [new NodeProto { Name = n.Name, OpType = "Identity", Input = { x }, Output = { y } }]; return; }
            _removed.Add(n);
            foreach (var user in _consumers.GetValueOrDefault(y) ?? [])
                for (int i = 0; i < user.Input.Count; i++) if (user.Input[i] == y) user.Input[i] = x;
            (_consumers.TryGetValue(x, out var l) ? l : _consumers[x] = []).AddRange(_consumers.GetValueOrDefault(y) ?? []);
        }

        // (q − zero point) · scale of a stored int8, uint8, int4 or uint4 weight, per tensor, along an axis (the columns of a
        // MatMul's [in, out] weight: axis −1), or by blocks of `block` along it (the scales' shape the weight's with that
        // axis ⌈d / block⌉ long), as a float initializer named as the weight before quantization.
        private string FloatWeight(NodeProto n, string quantized, string scale, string? zeroPoint, long axis, long block = 0)
        {
            if (_made.TryGetValue((quantized, scale, zeroPoint ?? ""), out var made)) return made;
            var q = _init[quantized];
            if (q.DataType is not ((int)DataType.Int8 or (int)DataType.Uint8 or (int)DataType.Int4 or (int)DataType.Uint4))
                throw Refuse(n, $"holds its weight '{quantized}' as {(DataType)q.DataType}, not int8, uint8, int4 or uint4");
            var dims = q.Dims.ToArray();
            long count = 1;
            foreach (var d in dims)
            {
                if (d <= 0 || d > int.MaxValue) throw Refuse(n, $"has a weight '{quantized}' of dimension {d}");
                count = checked(count * d);
            }
            if (count > Array.MaxLength) throw Refuse(n, $"has a weight '{quantized}' of {count} values");
            var values = Integers(n, q, (int)count);
            var scales = Floats(n, scale);
            if (scales.Any(s => !float.IsFinite(s))) throw Refuse(n, $"has a scale '{scale}' that is not finite");
            var zeros = zeroPoint is null ? new int[scales.Length] : _init.TryGetValue(zeroPoint, out var z) && z.DataType == q.DataType
                ? Integers(n, z, scales.Length) : throw Refuse(n, $"has a zero point '{zeroPoint}' that is not a stored tensor of its weight's type ({(DataType)q.DataType})");
            int along = scales.Length == 1 && block == 0 ? -1 : (int)(axis < 0 ? axis + dims.Length : axis);
            if (along >= dims.Length || along < -1 || block < 0 || block > 0 && along < 0) throw Refuse(n, $"dequantizes its weight '{quantized}' of shape [{string.Join(", ", dims)}] along axis {axis}");
            // Per axis, one scale for each index along it; by blocks, the scales have the weight's shape with that axis ⌈d / block⌉ long.
            long length = along < 0 ? 1 : dims[along], groups = block > 0 ? (length + block - 1) / block : length, inner = 1;
            for (int i = along + 1; i < dims.Length && along >= 0; i++) inner *= dims[i];
            if (along >= 0 && scales.Length != (block > 0 ? count / length * groups : length))
                throw Refuse(n, $"has {scales.Length} scales in '{scale}' for its weight '{quantized}' of shape [{string.Join(", ", dims)}] along axis {axis}{(block > 0 ? $" by blocks of {block}" : "")}");
            var w = new float[count];
            for (long i = 0; i < count; i++)
            {
                long c = along < 0 ? 0 : block == 0 ? i / inner % length : (i / (length * inner) * groups + i / inner % length / block) * inner + i % inner;
                w[i] = (values[i] - zeros[c]) * scales[c];
            }
            return AddWeight(n, quantized, dims, w, (quantized, scale, zeroPoint ?? ""), scales.Max(MathF.Abs));
        }

        // The float weight as an initializer, named as before quantization (quantize_dynamic's _quantized, MatMul4BitsQuantizer's
        // _Q4 gone). Where the float weight of that name is still there, within a step (the largest scale) of the codes,
        // because another node reads it (MatMul4BitsQuantizer leaves the products that reach a weight through an Identity
        // float: ALBERT's shared layers, DeBERTa's projections of the relative positions), that weight is the one read, as
        // every reader of it computed before quantization.
        private string AddWeight(NodeProto n, string quantized, long[] dims, float[] w, (string, string, string) key, float step)
        {
            string name = Unsuffixed(quantized, "_quantized") ?? (QuantizerSuffix.IsMatch(quantized) ? QuantizerSuffix.Replace(quantized, "") : quantized + "_dequantized");
            if (_init.TryGetValue(name, out var original) && original.DataType == (int)DataType.Float && original.Dims.SequenceEqual(dims))
            {
                var values = new float[w.Length];
                OnnxImporter.ReadFloats(original, values, _src);
                bool same = true;
                for (int i = 0; i < w.Length && same; i++) same = Math.Abs(values[i] - w[i]) <= step * 1.001f;
                if (same)
                {
                    _made[key] = name;
                    return name;
                }
            }
            while (_init.ContainsKey(name)) name += "_";
            var t = new TensorProto { Name = name, DataType = (int)DataType.Float, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(w.AsSpan())) };
            t.Dims.AddRange(dims);
            _g.Initializer.Add(t);
            _init[name] = t;
            _made[key] = name;
            return name;
        }

        private int[] Integers(NodeProto n, TensorProto t, int count)
        {
            bool signed = t.DataType is (int)DataType.Int8 or (int)DataType.Int4;
            if (t.DataType is (int)DataType.Int4 or (int)DataType.Uint4)
            {
                // Two 4-bit values a byte, the first in the low bits; in raw data, or in int32_data one byte each.
                var packed = t.RawData.IsEmpty ? t.Int32Data.Select(v => (byte)v).ToArray() : t.RawData.ToByteArray();
                if (packed.Length != (count + 1) / 2) throw Refuse(n, $"has a 4-bit tensor '{t.Name}' of {packed.Length} bytes for {count} values");
                var unpacked = new int[count];
                for (int i = 0; i < count; i++)
                {
                    int v = Code(packed, i, 4);
                    unpacked[i] = signed && v > 7 ? v - 16 : v;
                }
                return unpacked;
            }
            if (!t.RawData.IsEmpty)
            {
                if (t.RawData.Length != count) throw Refuse(n, $"has a tensor '{t.Name}' of {t.RawData.Length} bytes for {count} values");
                var raw = t.RawData.Span;
                var result = new int[count];
                for (int i = 0; i < count; i++) result[i] = signed ? (sbyte)raw[i] : raw[i];
                return result;
            }
            if (t.Int32Data.Count != count) throw Refuse(n, $"has a tensor '{t.Name}' of {t.Int32Data.Count} values where {count} belong");
            return t.Int32Data.Select(v => signed ? (int)(sbyte)v : (byte)v).ToArray();
        }

        private float[] Floats(NodeProto n, string name)
        {
            if (!_init.TryGetValue(name, out var t) || t.DataType != (int)DataType.Float) throw Refuse(n, $"has a scale '{name}' that is not a stored float tensor");
            long count = t.Dims.Aggregate(1L, (p, d) => d < 0 ? -1 : p * d);
            if (count is < 1 or > 1 << 24) throw Refuse(n, $"has a scale '{name}' of shape [{string.Join(", ", t.Dims)}]");
            var values = new float[count];
            OnnxImporter.ReadFloats(t, values, _src);
            return values;
        }
    }
}
