using System.Text.Json;
using System.Text.Json.Serialization;

namespace MLNetTransformers.Core.Models;

/// <summary>Shape and options of a transformer encoder or decoder; every model is built from one of these.</summary>
public sealed record TransformerConfig
{
    /// <summary>Token ids are 0..VocabSize−1.</summary>
    public int VocabSize { get; init; } = 8000;
    /// <summary>d_model.</summary>
    public int ModelDim { get; init; } = 256;
    /// <summary>Attention heads; must divide <see cref="ModelDim"/>.</summary>
    public int Heads { get; init; } = 4;
    /// <summary>Number of blocks.</summary>
    public int Layers { get; init; } = 4;
    /// <summary>Hidden size of the feed-forward block.</summary>
    public int FeedForwardDim { get; init; } = 1024;
    /// <summary>Longest sequence (positions 0..MaxLength−1).</summary>
    public int MaxLength { get; init; } = 128;
    /// <summary>Dropout probability on embeddings, attention outputs and feed-forward.</summary>
    public float Dropout { get; init; } = 0.1f;
    /// <summary>Pre-norm or post-norm blocks.</summary>
    public NormPlacement Norm { get; init; } = NormPlacement.PreNorm;
    /// <summary>Feed-forward non-linearity.</summary>
    public Activation Activation { get; init; } = Activation.Gelu;
    /// <summary>Learned or sinusoidal positions.</summary>
    public PositionalEncodingKind PositionalEncoding { get; init; } = PositionalEncodingKind.Learned;
    /// <summary>Classifier pooling.</summary>
    public Pooling Pooling { get; init; } = Pooling.Mean;
    /// <summary>Classifier outputs.</summary>
    public int NumClasses { get; init; } = 2;
    /// <summary>
    /// Classifier: rows of the hashed bigram table of a <see cref="BagOfNGrams"/> branch trained beside the encoder and
    /// mixed with it (0 = no branch; models saved before the branch existed read as 0).
    /// </summary>
    public int NGramBuckets { get; init; }
    /// <summary>
    /// Classifier: independently initialised encoders (each with its own head) trained side by side, whose logits are
    /// averaged (a deep ensemble in one model). Member 0 keeps the plain parameter names; member k's start <c>members.k.</c>.
    /// </summary>
    public int Members { get; init; } = 1;
    /// <summary>Decoder blocks also attend to an encoder memory.</summary>
    public bool CrossAttention { get; init; }
    /// <summary>LayerNorm epsilon.</summary>
    public float LayerNormEps { get; init; } = 1e-5f;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public TransformerConfig Validate()
    {
        Positive(VocabSize, nameof(VocabSize));
        Positive(ModelDim, nameof(ModelDim));
        Positive(Heads, nameof(Heads));
        Positive(Layers, nameof(Layers));
        Positive(FeedForwardDim, nameof(FeedForwardDim));
        Positive(MaxLength, nameof(MaxLength));
        Positive(NumClasses, nameof(NumClasses));
        Positive(Members, nameof(Members));
        if (NGramBuckets < 0) throw new ArgumentException($"{nameof(NGramBuckets)} must be non-negative, got {NGramBuckets}.");
        if (ModelDim % Heads != 0) throw new ArgumentException($"{nameof(ModelDim)} {ModelDim} is not divisible by {nameof(Heads)} {Heads}.");
        if (!(Dropout >= 0f && Dropout < 1f)) throw new ArgumentException($"{nameof(Dropout)} must be in [0, 1), got {Dropout}.");
        if (!(LayerNormEps > 0f)) throw new ArgumentException($"{nameof(LayerNormEps)} must be positive, got {LayerNormEps}.");
        if (!Enum.IsDefined(Norm)) throw new ArgumentException($"Unknown {nameof(Norm)} {Norm}.");
        if (!Enum.IsDefined(Activation)) throw new ArgumentException($"Unknown {nameof(Activation)} {Activation}.");
        if (!Enum.IsDefined(PositionalEncoding)) throw new ArgumentException($"Unknown {nameof(PositionalEncoding)} {PositionalEncoding}.");
        if (!Enum.IsDefined(Pooling)) throw new ArgumentException($"Unknown {nameof(Pooling)} {Pooling}.");
        return this;
    }

    /// <summary>
    /// A lower bound on the number of weights a model of this config holds (embeddings, attention and feed-forward
    /// weights, the n-gram tables), computed without building it: a reader compares it with the weights a file really
    /// contains before allocating anything.
    /// </summary>
    /// <param name="kind">The kind of model built from this config.</param>
    public long MinimumParameterCount(ModelKind kind)
    {
        long d = ModelDim, perEncoder = (long)VocabSize * d + Layers * (4 * d * d + 2 * d * FeedForwardDim);
        return kind == ModelKind.Classifier ? Members * perEncoder + (long)NGramBuckets * NumClasses : perEncoder;
    }

    private static void Positive(int value, string name)
    {
        if (value <= 0) throw new ArgumentException($"{name} must be positive, got {value}.");
    }

    private static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter() } };

    /// <summary>The config as JSON (enums by name), as stored in checkpoints and model metadata.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Parses <see cref="ToJson"/> output and validates it.</summary>
    /// <param name="json">The JSON written by ToJson.</param>
    public static TransformerConfig FromJson(string json) =>
        (JsonSerializer.Deserialize<TransformerConfig>(json, Json) ?? throw new ArgumentException("Config JSON is null.")).Validate();
}
