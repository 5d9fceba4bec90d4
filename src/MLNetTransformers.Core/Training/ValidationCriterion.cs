namespace MLNetTransformers.Core.Training;

/// <summary>What picks the best weights (and resets early stopping's patience) when a model is validated.</summary>
public enum ValidationCriterion
{
    /// <summary>The lowest validation loss; the metric breaks ties.</summary>
    Loss,
    /// <summary>
    /// The highest validation metric (a classifier's accuracy); the loss breaks ties. Fine-tuned encoders grow
    /// over-confident after the first epoch (the loss rises) while their accuracy still climbs.
    /// </summary>
    Metric,
}
