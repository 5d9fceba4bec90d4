using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace MLNetTransformers.Embeddings;

/// <summary>Registers a <see cref="TransformerEmbeddingGenerator"/> as the application's <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/>.</summary>
public static class EmbeddingGeneratorServiceCollectionExtensions
{
    /// <summary>
    /// Adds a singleton <c>IEmbeddingGenerator&lt;string, Embedding&lt;float&gt;&gt;</c> made by <paramref name="factory"/>
    /// the first time it is asked for (loading a pretrained encoder takes a moment; the generator is thread-safe).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="factory">Makes the generator, e.g. <c>_ =&gt; new TransformerEmbeddingGenerator(MiniLM.Load())</c>.</param>
    /// <example>
    /// <code>
    /// builder.Services.AddTransformerEmbeddingGenerator(_ => new TransformerEmbeddingGenerator(MiniLM.Load()));
    /// // later: app.Services.GetRequiredService&lt;IEmbeddingGenerator&lt;string, Embedding&lt;float&gt;&gt;&gt;()
    /// </code>
    /// </example>
    public static IServiceCollection AddTransformerEmbeddingGenerator(this IServiceCollection services, Func<IServiceProvider, TransformerEmbeddingGenerator> factory)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(factory);
        services.AddSingleton(factory);
        services.AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(sp => sp.GetRequiredService<TransformerEmbeddingGenerator>());
        return services;
    }
}
