using Microsoft.Extensions.DependencyInjection;

namespace MLNetTransformers.Serving;

/// <summary>Registers a <see cref="TransformerPredictionEnginePool{TData, TPrediction}"/> for dependency injection (ASP.NET Core).</summary>
public static class PredictionEnginePoolServiceCollectionExtensions
{
    /// <summary>
    /// Adds a singleton <see cref="TransformerPredictionEnginePool{TData, TPrediction}"/> over the model file at
    /// <paramref name="modelPath"/>, loaded the first time it is asked for and disposed with the container. The same role as
    /// <c>Microsoft.Extensions.ML</c>'s <c>AddPredictionEnginePool&lt;TData, TPrediction&gt;().FromFile(path, watchForChanges)</c>.
    /// </summary>
    /// <typeparam name="TData">The input class.</typeparam>
    /// <typeparam name="TPrediction">The output class.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="modelPath">A model file written by <see cref="TransformerModel.Save"/>.</param>
    /// <param name="watchForChanges">Reload the model when the file is replaced; requests keep being answered meanwhile.</param>
    /// <param name="maximumRetained">Engines kept in the pool; default twice the processor count.</param>
    /// <example>
    /// <code>
    /// builder.Services.AddTransformerPredictionEnginePool&lt;Review, SentimentPrediction&gt;("sentiment.mlnt", watchForChanges: true);
    /// app.MapPost("/predict", (Review review, TransformerPredictionEnginePool&lt;Review, SentimentPrediction&gt; pool) =&gt; pool.Predict(review));
    /// </code>
    /// </example>
    public static IServiceCollection AddTransformerPredictionEnginePool<TData, TPrediction>(this IServiceCollection services, string modelPath,
        bool watchForChanges = false, int? maximumRetained = null)
        where TData : class
        where TPrediction : class, new()
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        services.AddSingleton(_ => new TransformerPredictionEnginePool<TData, TPrediction>(modelPath, watchForChanges, maximumRetained));
        return services;
    }
}
