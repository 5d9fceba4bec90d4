using System.Runtime.InteropServices;
using Google.Protobuf;
using MLNetTransformers.Core.Pretrained;
using MLNetTransformers.Onnx.Proto;

namespace MLNetTransformers.Onnx.Tests;

/// <summary>
/// Writes a post-norm BERT-family encoder as ONNX Runtime's transformer optimizer (onnxruntime.transformers.optimizer,
/// optimum's O2 and above) leaves it, since that optimizer cannot be installed here: the int64 inputs cast to int32, the
/// embeddings and their LayerNorm as one EmbedLayerNormalization (which also gives the mask's lengths), each self-attention
/// as one Attention node (query, key and value weights side by side, [d, 3d], under a new name), the output projection and
/// the second feed-forward layer as MatMul by a renamed weight then SkipLayerNormalization with the bias as its fifth input,
/// the first feed-forward layer as MatMul then BiasGelu (FastGelu for the tanh form). Embedding tables, biases and norms keep
/// their checkpoint names, as the optimizer keeps the initializers it does not merge.
/// </summary>
internal static class OptimizerFusion
{
    public static byte[] Write(LoadedEncoder loaded)
    {
        var encoder = loaded.Encoder;
        var c = encoder.Config;
        var g = new GraphProto { Name = "optimized" };
        int next = 1000;
        string Named(string p) => loaded.Family.SourceNames(p)![0];
        float[] Values(string p) => encoder.Parameters[p].Value.ToArray();
        string Init(string name, float[] values, params long[] dims)
        {
            if (g.Initializer.Any(t => t.Name == name)) return name;
            var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())) };
            t.Dims.AddRange(dims);
            g.Initializer.Add(t);
            return name;
        }
        string Kept(string p) => Init(Named(p), Values(p), encoder.Parameters[p].Shape.Select(d => (long)d).ToArray());
        // A Linear's weight [out, in] as a MatMul's [in, out], under a name the exporter would give.
        string Transposed(string p)
        {
            var shape = encoder.Parameters[p].Shape;
            int rows = shape[0], cols = shape[1];
            var w = Values(p);
            var t = new float[w.Length];
            for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) t[j * rows + i] = w[i * cols + j];
            return Init($"onnx::MatMul_{next++}", t, cols, rows);
        }
        string Node(string op, string[] inputs, string? domain = null, params AttributeProto[] attributes)
        {
            string y = $"{op}_{next++}_output";
            var n = new NodeProto { OpType = op, Name = $"{op}_{next}", Domain = domain ?? "", Input = { inputs }, Output = { y } };
            n.Attribute.AddRange(attributes);
            g.Node.Add(n);
            return y;
        }
        AttributeProto Int(string name, long v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = v };
        AttributeProto Float(string name, float v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = v };
        const string Ms = "com.microsoft";

        var inputs = new List<string> { "input_ids", "attention_mask" };
        if (c.TypeVocabSize > 1) inputs.Add("token_type_ids");
        foreach (var name in inputs)
        {
            var shape = new TensorShapeProto();
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "batch" });
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "sequence" });
            g.Input.Add(new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Int64, Shape = shape } } });
        }
        string ToInt32(string x) => Node("Cast", [x], null, Int("to", (long)TensorProto.Types.DataType.Int32));
        string ids = ToInt32("input_ids"), mask = ToInt32("attention_mask"), types = c.TypeVocabSize > 1 ? ToInt32("token_type_ids") : "";
        var embed = new NodeProto
        {
            OpType = "EmbedLayerNormalization", Name = "EmbedLayerNormalization_0", Domain = Ms,
            Input = { ids, types, Kept("tok.weight"), Kept("pos.weight"), c.TypeVocabSize > 1 ? Kept("tok_type.weight") : "", Kept("emb_norm.weight"), Kept("emb_norm.bias"), mask },
            Output = { "embed_output", "mask_index" },
        };
        embed.Attribute.Add(Float("epsilon", c.LayerNormEps));
        g.Node.Add(embed);
        string x = "embed_output";
        if (c.ProjectsEmbeddings) x = Node("Add", [Node("MatMul", [x, Transposed("emb_proj.weight")]), Kept("emb_proj.bias")]);
        for (int i = 0; i < c.Layers; i++)
        {
            string at = $"layers.{c.ParameterLayerOf(i)}.";
            int d = c.ModelDim;
            var qkv = Values(at + "self_attn.in_proj_weight"); // [3d, d]: q, k, v rows
            var packed = new float[d * 3 * d];
            for (int r = 0; r < 3 * d; r++) for (int k = 0; k < d; k++) packed[k * 3 * d + r] = qkv[r * d + k];
            string w = Init($"Attention_{c.ParameterLayerOf(i)}_qkv_weight", packed, d, 3 * d), b = Init($"Attention_{c.ParameterLayerOf(i)}_qkv_bias", Values(at + "self_attn.in_proj_bias"), 3 * d);
            string attention = Node("Attention", [x, w, b, "mask_index"], Ms, Int("num_heads", c.Heads));
            string x1 = Node("SkipLayerNormalization", [Node("MatMul", [attention, Transposed(at + "self_attn.out_proj.weight")]), x, Kept(at + "norm1.weight"), Kept(at + "norm1.bias"), Kept(at + "self_attn.out_proj.bias")], Ms, Float("epsilon", c.LayerNormEps));
            string h = Node("MatMul", [x1, Transposed(at + "linear1.weight")]);
            string gelu = c.Activation == Core.Kernels.Activation.GeluTanh ? Node("FastGelu", [h, Kept(at + "linear1.bias")], Ms) : Node("BiasGelu", [h, Kept(at + "linear1.bias")], Ms);
            x = Node("SkipLayerNormalization", [Node("MatMul", [gelu, Transposed(at + "linear2.weight")]), x1, Kept(at + "norm2.weight"), Kept(at + "norm2.bias"), Kept(at + "linear2.bias")], Ms, Float("epsilon", c.LayerNormEps));
        }
        g.Node.Add(new NodeProto { OpType = "Identity", Name = "output", Input = { x }, Output = { "last_hidden_state" } });
        g.Output.Add(new ValueInfoProto { Name = "last_hidden_state", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } } });
        var model = new ModelProto { IrVersion = 8, ProducerName = "onnxruntime.transformers", Graph = g };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 14 });
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = Ms, Version = 1 });
        return model.ToByteArray();
    }
}
