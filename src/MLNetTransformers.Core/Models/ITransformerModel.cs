namespace MLNetTransformers.Core.Models;

/// <summary>A model built from a <see cref="TransformerConfig"/> whose weights sit in one <see cref="ParameterSet"/> (what a checkpoint stores).</summary>
public interface ITransformerModel
{
    /// <summary>The shape the model was built from.</summary>
    TransformerConfig Config { get; }
    /// <summary>All parameters and gradients.</summary>
    ParameterSet Parameters { get; }
    /// <summary>Which model this is, for checkpoints.</summary>
    ModelKind Kind { get; }
}
