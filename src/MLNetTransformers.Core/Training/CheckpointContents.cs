using MLNetTransformers.Core.Models;

namespace MLNetTransformers.Core.Training;

/// <summary>A model (and optionally its optimizer state) read from a checkpoint file.</summary>
public sealed record CheckpointContents(ITransformerModel Model, AdamW? Optimizer);
