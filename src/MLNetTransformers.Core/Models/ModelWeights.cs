namespace MLNetTransformers.Core.Models;

/// <summary>Weight copying between two models of one config (the replicas each thread decodes or scores with).</summary>
internal static class ModelWeights
{
    /// <summary>Copies <paramref name="source"/>'s weights into <paramref name="model"/> (built from the same config) and returns it.</summary>
    public static T WithWeightsOf<T>(this T model, ITransformerModel source) where T : ITransformerModel
    {
        if (model.Parameters.Count != source.Parameters.Count)
            throw new ArgumentException($"The models differ: {model.Parameters.Count:N0} weights against {source.Parameters.Count:N0}.", nameof(source));
        source.Parameters.Data.CopyTo(model.Parameters.Data, 0);
        return model;
    }
}
