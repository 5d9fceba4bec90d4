using System.Text.Json;

namespace MLNetTransformers.Core.Models;

/// <summary>
/// A <see cref="TransformerClassifier"/>'s config: the encoder's shape (<see cref="TransformerConfig"/>) and what only
/// a classifier has.
/// </summary>
public sealed record ClassifierConfig : TransformerConfig
{
    /// <summary>A classifier config with the default shape.</summary>
    public ClassifierConfig() { }

    /// <summary>A classifier config with the shape of <paramref name="shape"/> (set the classifier's fields with an initializer).</summary>
    /// <param name="shape">The encoder's shape.</param>
    public ClassifierConfig(TransformerConfig shape) : base(shape) { }

    /// <summary>Classes predicted; 1 = a regressor (one real-valued output, mean squared error).</summary>
    public int NumClasses { get; init; } = 2;
    /// <summary>
    /// Rows of the hashed bigram table of a <see cref="BagOfNGrams"/> branch trained beside the encoder and mixed with
    /// it (0 = no branch; models saved before the branch existed read as 0).
    /// </summary>
    public int NGramBuckets { get; init; }
    /// <summary>
    /// Independently initialised encoders (each with its own head) trained side by side, whose logits are averaged (a
    /// deep ensemble in one model). Member 0 keeps the plain parameter names; member k's start <c>members.k.</c>.
    /// </summary>
    public int Members { get; init; } = 1;

    /// <inheritdoc/>
    public override ClassifierConfig Validate()
    {
        base.Validate();
        Positive(NumClasses, nameof(NumClasses));
        Positive(Members, nameof(Members));
        if (NGramBuckets < 0) throw new ArgumentException($"{nameof(NGramBuckets)} must be non-negative, got {NGramBuckets}.");
        if (NGramBuckets > 0 && NumClasses == 1) throw new ArgumentException($"{nameof(NGramBuckets)} is {NGramBuckets}: the n-gram branch is for classification, not a one-output regressor.");
        return this;
    }

    /// <inheritdoc/>
    public override long MinimumParameterCount(ModelKind kind) => Members * base.MinimumParameterCount(kind) + (long)NGramBuckets * NumClasses;

    /// <summary>Parses <see cref="TransformerConfig.ToJson"/> output of a classifier and validates it.</summary>
    /// <param name="json">The JSON written by ToJson.</param>
    public static new ClassifierConfig FromJson(string json) =>
        (JsonSerializer.Deserialize<ClassifierConfig>(json, Json) ?? throw new ArgumentException("Config JSON is null.")).Validate();
}
