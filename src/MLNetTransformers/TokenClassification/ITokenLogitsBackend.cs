namespace MLNetTransformers.TokenClassification;

/// <summary>
/// Something other than the managed engine that computes a model's logits at every position: a tagger's tag scores, a
/// question answerer's start and end logits (for example ONNX Runtime, through <c>UseOnnxRuntime</c> in MLNetTransformers.Onnx).
/// </summary>
public interface ITokenLogitsBackend
{
    /// <summary>The logits [batch, sequence, outputs] of <paramref name="batch"/>, row-major (outputs = the model's tags, or 2: start then end); must be thread-safe.</summary>
    /// <param name="batch">Token ids, attention mask and token types, [B, T].</param>
    float[] Logits(TokenBatch batch);
}
