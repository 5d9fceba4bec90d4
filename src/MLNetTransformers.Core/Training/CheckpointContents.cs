namespace MLNetTransformers.Core.Training;

/// <summary>A model (and optionally its optimizer state) read from a checkpoint file.</summary>
/// <param name="Model">The model.</param>
/// <param name="Optimizer">The optimizer state, when the checkpoint held one and it was asked for.</param>
public sealed record CheckpointContents(ITransformerModel Model, AdamW? Optimizer);
