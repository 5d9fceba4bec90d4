namespace MLNetTransformers.Core.Kernels;

/// <summary>Pointwise non-linearity of the feed-forward block.</summary>
public enum Activation
{
    /// <summary>Exact GELU, x·Φ(x) (BERT, PyTorch's default 'gelu').</summary>
    Gelu,
    /// <summary>GELU with the tanh approximation (GPT-2, PyTorch approximate='tanh').</summary>
    GeluTanh,
    /// <summary>max(0, x) (the original Transformer).</summary>
    Relu,
    /// <summary>x·σ(x), SiLU or swish (the gate of NomicBERT's and LLaMA's SwiGLU).</summary>
    Silu,
}
