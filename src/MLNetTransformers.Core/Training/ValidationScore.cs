namespace MLNetTransformers.Core.Training;

/// <summary>A validation result: lower <paramref name="Loss"/> is better; <paramref name="Metric"/> (higher is better) breaks ties.</summary>
/// <param name="Loss">Mean validation loss.</param>
/// <param name="Metric">A task metric such as accuracy, when the task has one.</param>
public readonly record struct ValidationScore(double Loss, double? Metric = null);
