namespace MLNetTransformers.Onnx;

public static partial class OnnxExporter
{
    /// <summary>
    /// A GRU encoder-decoder as two graphs (contract in <c>onnx/README.md</c>). The encoder graph runs the standard
    /// ONNX <c>GRU</c> operator (bidirectional, <c>linear_before_reset</c> = 1 as PyTorch computes it, the source lengths as
    /// <c>sequence_lens</c>) and returns <c>encoder_states</c>, <c>attention_keys</c>, <c>initial_state</c> and
    /// <c>final_states</c>; the decoder graph is one step from primitive operators: <c>input_ids</c> [batch, 1],
    /// <c>state</c> and the encoder outputs in, <c>logits</c> [batch, 1, vocab], the new <c>state</c> and the step's
    /// <c>attention_weights</c> out.
    /// </summary>
    /// <param name="model">The model to export.</param>
    /// <param name="tokenizer">The target tokenizer (the source's too when shared), stored in the metadata.</param>
    /// <param name="sourceTokenizer">The source tokenizer when it is a separate one, stored in the metadata.</param>
    public static Seq2SeqOnnxGraphs Export(RnnSeq2Seq model, TextTokenizer? tokenizer = null, TextTokenizer? sourceTokenizer = null) =>
        Graphs(model ?? throw new ArgumentNullException(nameof(model)), RnnEncoderGraph(model), RnnDecoderStepGraph(model), tokenizer, sourceTokenizer);

    private static OnnxGraphBuilder RnnEncoderGraph(RnnSeq2Seq model)
    {
        var c = model.Config;
        int e = c.EmbeddingWidth, he = c.EncoderHidden, k = model.EncoderStateDim, h = c.ModelDim;
        var g = new OnnxGraphBuilder();
        var ids = g.Input("input_ids", DataType.Int64, "batch", "encoder_sequence");
        var mask = g.Input("attention_mask", DataType.Int64, "batch", "encoder_sequence");
        var x = g.Node("Transpose", new[] { g.Node("Gather", new[] { "src_tok.weight", ids }) }, Ints("perm", 1, 0, 2));     // [S, B, E]
        var lengths = g.Node("Cast", new[] { g.Node("ReduceSum", new[] { mask, g.Int64s(1) }, Int("keepdims", 0)) }, Int("to", (long)DataType.Int32));
        // ONNX orders the gates z, r, h; PyTorch r, z, n: the weights are reordered into initializers of their own.
        string Stack(Func<GruCell, ParameterTensor> pick, int cols, string name)
        {
            var data = new float[2 * 3 * he * cols];
            for (int d = 0; d < 2; d++)
            {
                var w = pick(model.Encoder.Cells[d]).Value;
                int[] order = { 1, 0, 2 }; // ONNX gate i is PyTorch gate order[i]
                for (int gate = 0; gate < 3; gate++) w.Slice(order[gate] * he * cols, he * cols).CopyTo(data.AsSpan((d * 3 + gate) * he * cols, he * cols));
            }
            return g.Initializer(name, data, 2, 3 * he, cols);
        }
        var wIh = Stack(cell => cell.WeightIh, e, "onnx.encoder.W");
        var wHh = Stack(cell => cell.WeightHh, he, "onnx.encoder.R");
        var bias = new float[2 * 6 * he];
        for (int d = 0; d < 2; d++)
        {
            int[] order = { 1, 0, 2 };
            var cell = model.Encoder.Cells[d];
            for (int gate = 0; gate < 3; gate++)
            {
                cell.BiasIh.Value.Slice(order[gate] * he, he).CopyTo(bias.AsSpan(d * 6 * he + gate * he, he));
                cell.BiasHh.Value.Slice(order[gate] * he, he).CopyTo(bias.AsSpan(d * 6 * he + (3 + gate) * he, he));
            }
        }
        var b = g.Initializer("onnx.encoder.B", bias, 2, 6 * he);
        var outs = g.Nodes("GRU", new[] { x, wIh, wHh, b, lengths }, 2,
            Int("hidden_size", he), Str("direction", "bidirectional"), Int("linear_before_reset", 1));                      // Y [S, 2, B, He], Y_h [2, B, He]
        var enc = g.Node("Reshape", new[] { g.Node("Transpose", new[] { outs[0] }, Ints("perm", 2, 0, 1, 3)), g.Int64s(0, 0, k) });   // [B, S, 2He]
        var final = g.Node("Reshape", new[] { g.Node("Transpose", new[] { outs[1] }, Ints("perm", 1, 0, 2)), g.Int64s(0, k) });       // [B, 2He]
        var s0 = g.Node("Tanh", new[] { Linear(g, model.Parameters, "bridge.", final) });
        string keys = model.Attention?.Kind switch
        {
            RnnAttentionKind.Additive => g.Node("MatMul", new[] { enc, g.Node("Slice", new[] { T(g, "attn_w.weight"), g.Int64s(h), g.Int64s(h + k), g.Int64s(0) }) }),
            RnnAttentionKind.General => g.Node("MatMul", new[] { enc, T(g, "attn_a.weight") }),
            _ => enc,
        };
        int keyWidth = model.Attention?.Kind == RnnAttentionKind.Dot || model.Attention is null ? k : h;
        g.Output(enc, "encoder_states", DataType.Float, "batch", "encoder_sequence", k);
        g.Output(keys, "attention_keys", DataType.Float, "batch", "encoder_sequence", keyWidth);
        g.Output(s0, "initial_state", DataType.Float, "batch", h);
        g.Output(final, "final_states", DataType.Float, "batch", k);
        return g;
    }

    private static OnnxGraphBuilder RnnDecoderStepGraph(RnnSeq2Seq model)
    {
        var c = model.Config;
        int h = c.ModelDim, k = model.EncoderStateDim, keyWidth = model.Attention?.Kind == RnnAttentionKind.Dot || model.Attention is null ? k : h;
        var g = new OnnxGraphBuilder();
        var ids = g.Input("input_ids", DataType.Int64, "batch", 1);
        var state = g.Input("state", DataType.Float, "batch", h);
        var enc = g.Input("encoder_states", DataType.Float, "batch", "encoder_sequence", k);
        var keys = g.Input("attention_keys", DataType.Float, "batch", "encoder_sequence", keyWidth);
        var mask = g.Input("encoder_attention_mask", DataType.Int64, "batch", "encoder_sequence");
        var context = g.Input("final_states", DataType.Float, "batch", k);
        var e = g.Node("Gather", new[] { "tgt_tok.weight", g.Node("Squeeze", new[] { ids, g.Int64s(1) }) });                        // [B, E]
        var bias = g.Node("Mul", new[] { g.Node("Sub", new[] { g.Node("Cast", new[] { mask }, Int("to", (long)DataType.Float)), g.FloatScalar(1f) }), g.FloatScalar(1e9f) }); // [B, S]

        // Attention: α = softmax(score(query, key_j) + mask), context = Σ α_j·h_j.
        (string Context, string Weights) Attend(string query)
        {
            string scores;
            if (model.Attention!.Kind == RnnAttentionKind.Additive)
            {
                var wq = g.Node("Slice", new[] { T(g, "attn_w.weight"), g.Int64s(0), g.Int64s(h), g.Int64s(0) });                 // [H, H]
                var qp = g.Node("Add", new[] { g.Node("MatMul", new[] { query, wq }), "attn_w.bias" });
                var u = g.Node("Tanh", new[] { g.Node("Add", new[] { g.Node("Unsqueeze", new[] { qp, g.Int64s(1) }), keys }) });   // [B, S, H]
                scores = g.Node("Squeeze", new[] { g.Node("MatMul", new[] { u, T(g, "attn_v.weight") }), g.Int64s(2) });
            }
            else scores = g.Node("Squeeze", new[] { g.Node("MatMul", new[] { keys, g.Node("Unsqueeze", new[] { query, g.Int64s(2) }) }), g.Int64s(2) });
            var alpha = g.Node("Softmax", new[] { g.Node("Add", new[] { scores, bias }) }, Int("axis", -1));
            var ctx = g.Node("Squeeze", new[] { g.Node("MatMul", new[] { g.Node("Unsqueeze", new[] { alpha, g.Int64s(1) }), enc }), g.Int64s(1) });
            return (ctx, alpha);
        }
        // One GRU step from primitives (gates r, z, n as PyTorch): s' = n + z ⊙ (s − n).
        string Step(string input)
        {
            var xp = g.Nodes("Split", new[] { Affine(g, "decoder.", input, "weight_ih_l0", "bias_ih_l0"), g.Int64s(h, h, h) }, 3, Int("axis", -1));
            var hp = g.Nodes("Split", new[] { Affine(g, "decoder.", state, "weight_hh_l0", "bias_hh_l0"), g.Int64s(h, h, h) }, 3, Int("axis", -1));
            var r = g.Node("Sigmoid", new[] { g.Node("Add", new[] { xp[0], hp[0] }) });
            var z = g.Node("Sigmoid", new[] { g.Node("Add", new[] { xp[1], hp[1] }) });
            var n = g.Node("Tanh", new[] { g.Node("Add", new[] { xp[2], g.Node("Mul", new[] { r, hp[2] }) }) });
            return g.Node("Add", new[] { n, g.Node("Mul", new[] { z, g.Node("Sub", new[] { state, n }) }) });
        }

        string next, output, weights;
        if (!model.IsLuong)
        {
            (string ctx, weights) = model.Attention is null ? (context, g.Node("Mul", new[] { bias, g.FloatScalar(0f) })) : Attend(state);
            next = Step(g.Node("Concat", new[] { e, ctx }, Int("axis", -1)));
            output = g.Node("Concat", new[] { next, ctx, e }, Int("axis", -1));
        }
        else
        {
            next = Step(e);
            (string ctx, weights) = Attend(next);
            output = g.Node("Tanh", new[] { Linear(g, model.Parameters, "combine.", g.Node("Concat", new[] { ctx, next }, Int("axis", -1))) });
        }
        var logits = g.Node("Unsqueeze", new[] { Linear(g, model.Parameters, "out.", output), g.Int64s(1) });
        g.Output(logits, "logits", DataType.Float, "batch", 1, c.VocabSize);
        g.Output(next, "next_state", DataType.Float, "batch", h);
        g.Output(weights, "attention_weights", DataType.Float, "batch", "encoder_sequence");
        return g;
    }

    private static string Affine(OnnxGraphBuilder g, string prefix, string input, string weight, string bias) =>
        g.Node("Add", new[] { g.Node("MatMul", new[] { input, T(g, prefix + weight) }), prefix + bias });
}
