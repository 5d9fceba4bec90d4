namespace MLNetTransformers.Core.Layers;

/// <summary>How a parameter tensor is initialised.</summary>
/// <param name="Kind">Initialisation kind.</param>
/// <param name="Scale">Standard deviation, bound or constant, by kind.</param>
public readonly record struct Init(InitKind Kind, float Scale = 0f)
{
    /// <summary>All zeros (biases, LayerNorm shift).</summary>
    public static Init Zeros => new(InitKind.Constant, 0f);
    /// <summary>All ones (LayerNorm gain).</summary>
    public static Init Ones => new(InitKind.Constant, 1f);
    /// <summary>Normal with mean 0 and the given standard deviation.</summary>
    /// <param name="std">Standard deviation.</param>
    public static Init Normal(float std) => new(InitKind.Normal, std);
    /// <summary>Uniform in [-bound, bound].</summary>
    /// <param name="bound">Half-width of the interval [−bound, bound].</param>
    public static Init Uniform(float bound) => new(InitKind.Uniform, bound);
}
