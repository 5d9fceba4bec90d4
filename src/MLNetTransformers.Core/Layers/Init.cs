namespace MLNetTransformers.Core.Layers;

/// <summary>How a parameter tensor is initialised.</summary>
public readonly record struct Init(InitKind Kind, float Scale = 0f)
{
    /// <summary>All zeros (biases, LayerNorm shift).</summary>
    public static Init Zeros => new(InitKind.Constant, 0f);
    /// <summary>All ones (LayerNorm gain).</summary>
    public static Init Ones => new(InitKind.Constant, 1f);
    /// <summary>Normal with mean 0 and the given standard deviation.</summary>
    public static Init Normal(float std) => new(InitKind.Normal, std);
    /// <summary>Uniform in [-bound, bound].</summary>
    public static Init Uniform(float bound) => new(InitKind.Uniform, bound);
}
