namespace MLNetTransformers.Core.Models;

/// <summary>What the training loop needs of a model: its loss and gradients.</summary>
public interface ITrainableModel : ITransformerModel
{
    /// <summary>Forward in training mode, loss, and backward: adds ∂loss/∂θ into the gradients. Returns the loss.</summary>
    /// <param name="batch">Ids, mask and labels or targets.</param>
    float ForwardBackward(TokenBatch batch);
    /// <summary>The loss in inference mode (no dropout, no gradients).</summary>
    /// <param name="batch">Ids, mask and labels or targets.</param>
    float Loss(TokenBatch batch);
}
