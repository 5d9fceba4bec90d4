namespace MLNetTransformers.Core.Layers;

/// <summary>
/// Self-attention where position i attends only to positions j ≤ i (GPT's masked attention; Raschka's
/// <c>CausalAttention</c>). A teaching variant: the models use <see cref="MultiHeadAttention"/> with <c>causal</c>.
/// </summary>
public sealed class CausalSelfAttention : SelfAttention
{
    /// <summary>Declares the projection as <see cref="SelfAttention"/> does.</summary>
    /// <param name="parameters">The parameter set the weights are declared in (and allocated by its owner).</param>
    /// <param name="prefix">Prefix of the parameter names.</param>
    /// <param name="dIn">Width of the input vectors.</param>
    /// <param name="dOut">Width of the context vectors (queries, keys and values).</param>
    /// <param name="qkvBias">Whether the query, key and value projections have biases.</param>
    public CausalSelfAttention(ParameterSet parameters, string prefix, int dIn, int dOut, bool qkvBias = false)
        : base(parameters, prefix, dIn, dOut, qkvBias, causal: true)
    {
    }
}
