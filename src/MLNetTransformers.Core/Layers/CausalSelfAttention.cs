namespace MLNetTransformers.Core.Layers;

/// <summary>Self-attention where position i attends only to positions j ≤ i (GPT's masked attention).</summary>
public sealed class CausalSelfAttention : SelfAttention
{
    /// <summary>Declares the projection as <see cref="SelfAttention"/> does.</summary>
    public CausalSelfAttention(ParameterSet parameters, string prefix, int dIn, int dOut, bool qkvBias = false)
        : base(parameters, prefix, dIn, dOut, qkvBias, causal: true)
    {
    }
}
