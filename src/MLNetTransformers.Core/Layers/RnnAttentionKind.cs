namespace MLNetTransformers.Core.Layers;

/// <summary>How an RNN decoder scores each encoder state against its own state.</summary>
public enum RnnAttentionKind
{
    /// <summary>Bahdanau et al. 2015: score = vᵀ·tanh(W·[s; h]) (the decoder's previous state s).</summary>
    Additive,
    /// <summary>Luong et al. 2015 "dot": score = sᵀ·h (the decoder's current state; needs equal widths).</summary>
    Dot,
    /// <summary>Luong et al. 2015 "general": score = sᵀ·W·h.</summary>
    General,
}
