namespace MLNetTransformers.Core.Training;

/// <summary>Shape of the learning rate after warmup.</summary>
public enum DecayKind
{
    /// <summary>Stay at the peak.</summary>
    Constant,
    /// <summary>Straight line from the peak to the minimum at the last step.</summary>
    Linear,
    /// <summary>Half a cosine from the peak to the minimum at the last step.</summary>
    Cosine,
}
