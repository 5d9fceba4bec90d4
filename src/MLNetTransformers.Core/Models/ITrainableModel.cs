using MLNetTransformers.Core.Layers;

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

/// <summary>What the training loop needs of a model: its loss and gradients.</summary>
public interface ITrainableModel : ITransformerModel
{
    /// <summary>Forward in training mode, loss, and backward: adds ∂loss/∂θ into the gradients. Returns the loss.</summary>
    float ForwardBackward(TokenBatch batch);
    /// <summary>The loss in inference mode (no dropout, no gradients).</summary>
    float Loss(TokenBatch batch);
}

/// <summary>The model families a checkpoint can hold.</summary>
public enum ModelKind
{
    /// <summary><see cref="TransformerClassifier"/>.</summary>
    Classifier = 1,
    /// <summary><see cref="TransformerLanguageModel"/>.</summary>
    LanguageModel = 2,
    /// <summary><see cref="MaskedLanguageModel"/>.</summary>
    MaskedLanguageModel = 3,
    /// <summary><see cref="TransformerEncoder"/> on its own (a featurizer).</summary>
    Encoder = 4,
}
