namespace MLNetTransformers.Core.Models;

/// <summary>Where LayerNorm sits relative to each residual branch.</summary>
public enum NormPlacement
{
    /// <summary>x + f(LN(x)), with a final LayerNorm after the stack (GPT-2; trains stably without warmup tricks).</summary>
    PreNorm,
    /// <summary>LN(x + f(x)) (the original Transformer, BERT).</summary>
    PostNorm,
}
