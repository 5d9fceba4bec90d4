namespace MLNetTransformers.Core.Layers;

/// <summary>
/// DeBERTa (v1)'s own projections of the relative positions in one self-attention layer (its <c>pos_q_proj</c> and
/// <c>pos_proj</c>): Qr = R·Wqᵀ + bq [rows, A] for the position-to-content term and Kr = R·Wkᵀ [rows, A], without a
/// bias, for the content-to-position term, declared as <c>{prefix}pos_query_proj.*</c> and <c>{prefix}pos_key_proj.weight</c>.
/// DeBERTa-v2/v3 project with the layer's query and key weights instead (<see cref="DisentangledAttentionTerms"/>).
/// </summary>
public sealed class DisentangledProjections
{
    /// <summary>Declares the two projections of positions of width <paramref name="dim"/> to <paramref name="attnDim"/> = heads·hd.</summary>
    /// <param name="parameters">The parameter set the weights are declared in (and allocated by its owner).</param>
    /// <param name="prefix">Prefix of the parameter names (the attention layer's).</param>
    /// <param name="dim">Width d of the relative positions.</param>
    /// <param name="attnDim">Width A of the attention.</param>
    public DisentangledProjections(ParameterSet parameters, string prefix, int dim, int attnDim)
    {
        QueryWeight = parameters.Add(prefix + "pos_query_proj.weight", [attnDim, dim], Init.Normal(0.02f), decay: true);
        QueryBias = parameters.Add(prefix + "pos_query_proj.bias", [attnDim], Init.Zeros, decay: false);
        KeyWeight = parameters.Add(prefix + "pos_key_proj.weight", [attnDim, dim], Init.Normal(0.02f), decay: true);
    }

    /// <summary>Wq of the positions, [A, d].</summary>
    public ParameterTensor QueryWeight { get; }
    /// <summary>bq of the positions, [A].</summary>
    public ParameterTensor QueryBias { get; }
    /// <summary>Wk of the positions, [A, d] (no bias).</summary>
    public ParameterTensor KeyWeight { get; }
}
