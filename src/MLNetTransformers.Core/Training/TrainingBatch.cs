namespace MLNetTransformers.Core.Training;

/// <summary>One training batch and the real (non-padding) tokens in it, for throughput.</summary>
/// <param name="Tokens">Ids, mask and labels/targets as the model's <see cref="ITrainableModel.ForwardBackward"/> reads them.</param>
/// <param name="RealTokens">Tokens that are not padding.</param>
public readonly record struct TrainingBatch(TokenBatch Tokens, long RealTokens);
