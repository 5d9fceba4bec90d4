namespace MLNetTransformers.Core.Layers;

/// <summary>Kinds of <see cref="Init"/>.</summary>
public enum InitKind
{
    /// <summary>Every element equals the scale.</summary>
    Constant,
    /// <summary>Normal(0, scale²).</summary>
    Normal,
    /// <summary>Uniform(-scale, scale).</summary>
    Uniform,
}
