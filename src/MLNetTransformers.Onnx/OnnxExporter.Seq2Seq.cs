namespace MLNetTransformers.Onnx;

/// <summary>The two ONNX graphs of an exported encoder-decoder (contract in <c>onnx/README.md</c>).</summary>
/// <param name="Encoder">Source ids → encoder states and every decoder layer's cross-attention keys and values.</param>
/// <param name="Decoder">One decoding step: new target ids and the caches → logits and the extended self-attention caches.</param>
public sealed record Seq2SeqOnnxGraphs(byte[] Encoder, byte[] Decoder)
{
    /// <summary>File name of the encoder graph in an export directory.</summary>
    public const string EncoderFileName = "encoder_model.onnx";
    /// <summary>File name of the decoder-step graph in an export directory.</summary>
    public const string DecoderFileName = "decoder_model.onnx";

    /// <summary>Writes both graphs into <paramref name="directory"/> (created if needed), each file atomically.</summary>
    /// <param name="directory">The export directory.</param>
    public void Save(string directory)
    {
        if (File.Exists(directory)) throw new IOException($"'{directory}' is a file; an encoder-decoder exports to a directory ({EncoderFileName}, {DecoderFileName}).");
        Directory.CreateDirectory(directory);
        OnnxExporter.Save(Encoder, Path.Combine(directory, EncoderFileName));
        OnnxExporter.Save(Decoder, Path.Combine(directory, DecoderFileName));
    }
}

public static partial class OnnxExporter
{
    /// <summary>
    /// An encoder-decoder as two graphs, the shape ONNX Runtime users know from exported T5/BART models: the encoder
    /// graph returns <c>last_hidden_state</c> and <c>present.{i}.encoder.key/value</c> (each decoder layer's
    /// cross-attention keys and values, computed once per source); the decoder graph takes <c>input_ids</c>
    /// [batch, decoder_sequence], <c>encoder_attention_mask</c> and <c>past_key_values.{i}.decoder/encoder.key/value</c>
    /// (past length 0 at the first step) and returns <c>logits</c> and <c>present.{i}.decoder.key/value</c>.
    /// </summary>
    /// <param name="model">The model to export.</param>
    /// <param name="tokenizer">The target tokenizer (the source's too when shared), stored in the metadata.</param>
    /// <param name="sourceTokenizer">The source tokenizer when it is a separate one, stored in the metadata.</param>
    public static Seq2SeqOnnxGraphs Export(TransformerSeq2Seq model, TextTokenizer? tokenizer = null, TextTokenizer? sourceTokenizer = null) =>
        Graphs(model ?? throw new ArgumentNullException(nameof(model)), EncoderGraph(model), DecoderStepGraph(model), tokenizer, sourceTokenizer);

    // The two graphs of an encoder-decoder as models, each with only the weights it reads and the tokenizers in its metadata.
    private static Seq2SeqOnnxGraphs Graphs(ISeq2SeqModel model, OnnxGraphBuilder encoder, OnnxGraphBuilder decoder, TextTokenizer? tokenizer, TextTokenizer? sourceTokenizer)
    {
        var src = sourceTokenizer is not null && !ReferenceEquals(sourceTokenizer, tokenizer) ? sourceTokenizer : null;
        return new Seq2SeqOnnxGraphs(
            Model(encoder, model, OnnxExportKind.Seq2SeqEncoder, tokenizer, null, usedWeightsOnly: true, src),
            Model(decoder, model, OnnxExportKind.Seq2SeqDecoder, tokenizer, null, usedWeightsOnly: true, src));
    }

    private static OnnxGraphBuilder EncoderGraph(TransformerSeq2Seq model)
    {
        var c = model.Config;
        var g = new OnnxGraphBuilder();
        var ids = g.Input("input_ids", DataType.Int64, "batch", "encoder_sequence");
        var mask = g.Input("attention_mask", DataType.Int64, "batch", "encoder_sequence");
        var maskF = g.Node("Cast", new[] { mask }, Int("to", (long)DataType.Float));
        var memory = Stack(g, model.Parameters, c.Shape() with { VocabSize = c.EncoderVocabSize, CrossAttention = false }, ids, maskF, causal: false, "encoder.");
        g.Output(memory, "last_hidden_state", DataType.Float, "batch", "encoder_sequence", c.ModelDim);
        int d = c.ModelDim;
        for (int i = 0; i < c.Layers; i++)
        {
            // Keys and values of cross-attention: rows d..3d of the decoder layer's in_proj_weight, applied once per source.
            string pre = $"decoder.layers.{i}.multihead_attn.";
            var w = g.Node("Slice", new[] { T(g, pre + "in_proj_weight"), g.Int64s(d), g.Int64s(3 * d), g.Int64s(1) });  // [d, 2d]
            var b = g.Node("Slice", new[] { pre + "in_proj_bias", g.Int64s(d), g.Int64s(3 * d), g.Int64s(0) });
            var kv = g.Nodes("Split", new[] { g.Node("Add", new[] { g.Node("MatMul", new[] { memory, w }), b }), g.Int64s(d, d) }, 2, Int("axis", -1));
            g.Output(SplitHeads(g, kv[0], c), $"present.{i}.encoder.key", DataType.Float, "batch", c.Heads, "encoder_sequence", d / c.Heads);
            g.Output(SplitHeads(g, kv[1], c), $"present.{i}.encoder.value", DataType.Float, "batch", c.Heads, "encoder_sequence", d / c.Heads);
        }
        return g;
    }

    private static OnnxGraphBuilder DecoderStepGraph(TransformerSeq2Seq model)
    {
        var c = model.Config;
        var p = model.Parameters;
        int d = c.ModelDim, h = c.Heads, hd = d / h;
        var g = new OnnxGraphBuilder();
        var ids = g.Input("input_ids", DataType.Int64, "batch", "decoder_sequence");
        var encoderMask = g.Input("encoder_attention_mask", DataType.Int64, "batch", "encoder_sequence");
        var past = new (string Key, string Value, string CrossKey, string CrossValue)[c.Layers];
        for (int i = 0; i < c.Layers; i++)
            past[i] = (g.Input($"past_key_values.{i}.decoder.key", DataType.Float, "batch", h, "past_sequence", hd),
                       g.Input($"past_key_values.{i}.decoder.value", DataType.Float, "batch", h, "past_sequence", hd),
                       g.Input($"past_key_values.{i}.encoder.key", DataType.Float, "batch", h, "encoder_sequence", hd),
                       g.Input($"past_key_values.{i}.encoder.value", DataType.Float, "batch", h, "encoder_sequence", hd));

        // New positions continue the cached ones: past .. past + T − 1.
        var pastLen = g.Node("Gather", new[] { g.Node("Shape", new[] { past[0].Key }), g.Int64Scalar(2) });
        var newLen = g.Node("Gather", new[] { g.Node("Shape", new[] { ids }), g.Int64Scalar(1) });
        var total = g.Node("Add", new[] { pastLen, newLen });
        var positions = g.Node("Range", new[] { pastLen, total, g.Int64Scalar(1) });
        string table = c.PositionalEncoding == PositionalEncodingKind.Learned
            ? "decoder.pos.weight"
            : g.Initializer("decoder.pos.sinusoidal", new SinusoidalPositionalEncoding(c.MaxLength, d).Vectors, c.MaxLength, d);
        var x = g.Node("Add", new[] { g.Node("Gather", new[] { model.Decoder.Tok.Weight.Name, ids }), g.Node("Gather", new[] { table, positions }) });

        // Masks: new query i (absolute past + i) sees keys j ≤ past + i; every query sees the unpadded source positions.
        var one = new Proto.TensorProto { DataType = (int)DataType.Float, Dims = { 1 } };
        one.FloatData.Add(1f);
        var ones = g.Node("ConstantOfShape", new[] { g.Node("Concat", new[] { g.Node("Unsqueeze", new[] { newLen, g.Int64s(0) }), g.Node("Unsqueeze", new[] { total, g.Int64s(0) }) }, Int("axis", 0)) },
            Tensor("value", one));                                                                                  // [T, past + T]
        var lower = g.Node("Trilu", new[] { ones, pastLen }, Int("upper", 0));
        var selfBias = g.Node("Mul", new[] { g.Node("Sub", new[] { lower, g.FloatScalar(1f) }), g.FloatScalar(1e9f) });
        var encoderMaskF = g.Node("Cast", new[] { encoderMask }, Int("to", (long)DataType.Float));
        var crossBias = g.Node("Unsqueeze", new[] { g.Node("Mul", new[] { g.Node("Sub", new[] { encoderMaskF, g.FloatScalar(1f) }), g.FloatScalar(1e9f) }), g.Int64s(1, 2) }); // [B, 1, 1, S]

        string Norm(string input, string name) => LayerNorm(g, p, input, name, c.LayerNormEps);
        for (int i = 0; i < c.Layers; i++)
        {
            string pre = $"decoder.layers.{i}.";
            int layer = i;
            string SelfAttention(string input)
            {
                var qkv = g.Node("Add", new[] { g.Node("MatMul", new[] { input, T(g, pre + "self_attn.in_proj_weight") }), pre + "self_attn.in_proj_bias" });
                var parts = g.Nodes("Split", new[] { qkv, g.Int64s(d, d, d) }, 3, Int("axis", -1));
                var keys = g.Node("Concat", new[] { past[layer].Key, SplitHeads(g, parts[1], c) }, Int("axis", 2));  // [B, H, past + T, hd]
                var values = g.Node("Concat", new[] { past[layer].Value, SplitHeads(g, parts[2], c) }, Int("axis", 2));
                g.Output(keys, $"present.{layer}.decoder.key", DataType.Float, "batch", h, "total_sequence", hd);
                g.Output(values, $"present.{layer}.decoder.value", DataType.Float, "batch", h, "total_sequence", hd);
                return Linear(g, p, pre + "self_attn.out_proj.", Attend(g, SplitHeads(g, parts[0], c), keys, values, selfBias, c));
            }
            string CrossAttention(string input)
            {
                var wq = g.Node("Slice", new[] { T(g, pre + "multihead_attn.in_proj_weight"), g.Int64s(0), g.Int64s(d), g.Int64s(1) });   // [d, d]
                var bq = g.Node("Slice", new[] { pre + "multihead_attn.in_proj_bias", g.Int64s(0), g.Int64s(d), g.Int64s(0) });
                var q = g.Node("Add", new[] { g.Node("MatMul", new[] { input, wq }), bq });
                return Linear(g, p, pre + "multihead_attn.out_proj.", Attend(g, SplitHeads(g, q, c), past[layer].CrossKey, past[layer].CrossValue, crossBias, c));
            }
            string FeedForward(string input) => Linear(g, p, pre + "linear2.", Activation(g, c.Activation, Linear(g, p, pre + "linear1.", input)));

            if (c.Norm == NormPlacement.PreNorm)
            {
                x = g.Node("Add", new[] { x, SelfAttention(Norm(x, pre + "norm1.")) });
                x = g.Node("Add", new[] { x, CrossAttention(Norm(x, pre + "norm2.")) });
                x = g.Node("Add", new[] { x, FeedForward(Norm(x, pre + "norm3.")) });
            }
            else
            {
                x = Norm(g.Node("Add", new[] { x, SelfAttention(x) }), pre + "norm1.");
                x = Norm(g.Node("Add", new[] { x, CrossAttention(x) }), pre + "norm2.");
                x = Norm(g.Node("Add", new[] { x, FeedForward(x) }), pre + "norm3.");
            }
        }
        if (c.Norm == NormPlacement.PreNorm) x = Norm(x, "decoder.lnf.");
        var logits = g.Node("MatMul", new[] { x, T(g, model.Head.Weight.Name) });
        if (model.Head.Bias is { } bias) logits = g.Node("Add", new[] { logits, bias.Name });
        g.Output(logits, "logits", DataType.Float, "batch", "decoder_sequence", c.VocabSize);
        return g;
    }

    /// <summary>[B, T, d] → [B, H, T, hd].</summary>
    private static string SplitHeads(OnnxGraphBuilder g, string x, TransformerConfig c) =>
        g.Node("Transpose", new[] { g.Node("Reshape", new[] { x, g.Int64s(0, 0, c.Heads, c.ModelDim / c.Heads) }) }, Ints("perm", 0, 2, 1, 3));

    /// <summary>softmax(q·kᵀ/√hd + bias)·v with q [B, H, Tq, hd], k and v [B, H, Tk, hd] → [B, Tq, d].</summary>
    private static string Attend(OnnxGraphBuilder g, string q, string k, string v, string bias, TransformerConfig c)
    {
        var kT = g.Node("Transpose", new[] { k }, Ints("perm", 0, 1, 3, 2));
        var scores = g.Node("Add", new[] { g.Node("Mul", new[] { g.Node("MatMul", new[] { q, kT }), g.FloatScalar(1f / MathF.Sqrt(c.ModelDim / c.Heads)) }), bias });
        var probs = g.Node("Softmax", new[] { scores }, Int("axis", -1));
        return g.Node("Reshape", new[] { g.Node("Transpose", new[] { g.Node("MatMul", new[] { probs, v }) }, Ints("perm", 0, 2, 1, 3)), g.Int64s(0, 0, c.ModelDim) });
    }
}
