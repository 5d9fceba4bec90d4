namespace MLNetTransformers.Core.Models;

/// <summary>
/// Dynamic int8 quantization of an encoder for inference: every linear layer of every block (the attention's input and
/// output projections, both feed-forward layers) gets int8 weights per output channel, and its input is quantized per
/// row as it arrives (<see cref="Kernels.Int8Gemm"/>). Embeddings, LayerNorms, attention scores and the classification
/// head stay in float. The float weights are kept (the model still saves and exports as float), but the quantized layers
/// refuse a backward pass: train the float model, quantize a copy.
/// </summary>
public static class Int8Quantization
{
    /// <summary>Quantizes <paramref name="encoder"/>'s linear layers in place.</summary>
    /// <param name="encoder">The encoder (a copy, if the float one is still needed).</param>
    public static void Quantize(TransformerEncoder encoder)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        // Blocks that share weights (ALBERT's) share their quantized copy too: one per weight tensor.
        var quantized = new Dictionary<ParameterTensor, QuantizedMatrix>();
        QuantizedMatrix Of(ParameterTensor weight, int rows, int cols) =>
            quantized.TryGetValue(weight, out var q) ? q : quantized[weight] = new QuantizedMatrix(weight.Value, rows, cols);
        foreach (var block in encoder.Blocks)
        {
            var attention = block.SelfAttention;
            attention.InProjInt8 = Of(attention.InProjWeight, 3 * attention.AttnDim, attention.InDim);
            foreach (var layer in new[] { attention.OutProj, block.FeedForward.Linear1, block.FeedForward.Linear2 })
                if (layer is not null) layer.Int8 = Of(layer.Weight, layer.Out, layer.In);
        }
    }

    /// <summary>Quantizes every member encoder of <paramref name="classifier"/> in place (its heads stay float).</summary>
    /// <param name="classifier">The classifier (a copy, if the float one is still needed).</param>
    public static void Quantize(TransformerClassifier classifier)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        foreach (var encoder in classifier.Members) Quantize(encoder);
    }

    /// <summary>Whether <paramref name="encoder"/>'s layers are quantized.</summary>
    /// <param name="encoder">The encoder to look at.</param>
    public static bool IsQuantized(TransformerEncoder encoder) => encoder.Blocks.Count > 0 && encoder.Blocks[0].SelfAttention.InProjInt8 is not null;
}
