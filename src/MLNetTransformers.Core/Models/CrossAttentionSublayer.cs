namespace MLNetTransformers.Core.Models;

/// <summary>Cross-attention over an encoder memory as a sublayer.</summary>
internal sealed class CrossAttentionSublayer(MultiHeadAttention attention) : ISublayer
{
    public int Batch, QueryLength, MemoryLength;
    public float[] Memory = Array.Empty<float>();
    public bool[]? MemoryPadding;
    /// <summary>No backward follows this forward: attention may run tiled.</summary>
    public bool Inference;
    /// <summary>When set, Forward is one decoding step: row r attends to keys and values projected once from its source.</summary>
    public float[][]? StepKeysValues;
    public int[] StepMemoryLengths = Array.Empty<int>();
    public MultiHeadAttention Attention => attention;
    public float[] Forward(float[] x, int n, bool training) => StepKeysValues is { } kv
        ? attention.ForwardCrossStep(x, n, kv, StepMemoryLengths)
        : attention.Forward(x, Batch, QueryLength, Memory, MemoryLength, MemoryPadding, Inference);
    public float[] Backward(float[] dy, int n) => attention.Backward(dy);
}
