using System.Text.Json;
using System.Text.Json.Serialization;

namespace MLNetTransformers.Core.Models;

/// <summary>
/// A <see cref="TransformerSeq2Seq"/>'s config: the shape of both stacks (<see cref="TransformerConfig"/>;
/// <see cref="TransformerConfig.VocabSize"/> is the target vocabulary) and what only an encoder-decoder has.
/// </summary>
public sealed record Seq2SeqConfig : TransformerConfig
{
    /// <summary>An encoder-decoder config with the default shape.</summary>
    public Seq2SeqConfig() => CrossAttention = true;

    /// <summary>An encoder-decoder config with the shape of <paramref name="shape"/> (set the other fields with an initializer).</summary>
    /// <param name="shape">The shape of both stacks.</param>
    public Seq2SeqConfig(TransformerConfig shape) : base(shape) => CrossAttention = true;

    /// <summary>Source vocabulary size when the source has its own tokenizer; 0 = one vocabulary shared by both sides.</summary>
    public int SourceVocabSize { get; init; }
    /// <summary>
    /// One embedding matrix for source tokens, target tokens and the output projection (as in "Attention Is All You
    /// Need" and T5): fewer weights and every side's updates train it. Needs the shared vocabulary.
    /// </summary>
    public bool TiedEmbeddings { get; init; }

    /// <summary>Transformer (default) or a GRU encoder-decoder with or without attention.</summary>
    public Seq2SeqArchitecture Architecture { get; init; }
    /// <summary>GRU with attention: how the decoder scores the encoder states.</summary>
    public RnnAttentionKind Attention { get; init; } = RnnAttentionKind.Additive;
    /// <summary>GRU models: hidden width of each direction of the bidirectional encoder (0 = <see cref="TransformerConfig.ModelDim"/>, the decoder's).</summary>
    public int EncoderHiddenSize { get; init; }

    /// <summary>The encoder's vocabulary size.</summary>
    [JsonIgnore] public int EncoderVocabSize => SourceVocabSize == 0 ? VocabSize : SourceVocabSize;
    /// <summary>GRU models: each encoder direction's hidden width in effect.</summary>
    [JsonIgnore] public int EncoderHidden => EncoderHiddenSize == 0 ? ModelDim : EncoderHiddenSize;

    /// <inheritdoc/>
    public override Seq2SeqConfig Validate()
    {
        base.Validate();
        if (SourceVocabSize < 0) throw new ArgumentException($"{nameof(SourceVocabSize)} must be non-negative (0 = shared), got {SourceVocabSize}.");
        if (!Enum.IsDefined(Architecture)) throw new ArgumentException($"Unknown {nameof(Architecture)} {Architecture}.");
        if (!Enum.IsDefined(Attention)) throw new ArgumentException($"Unknown {nameof(Attention)} {Attention}.");
        if (Architecture == Seq2SeqArchitecture.Transformer && ProjectsEmbeddings)
            throw new ArgumentException($"{nameof(EmbeddingDim)} is for the GRU architectures; the transformer's embeddings have ModelDim's width.");
        if (EncoderHiddenSize < 0) throw new ArgumentException($"{nameof(EncoderHiddenSize)} must be non-negative (0 = ModelDim), got {EncoderHiddenSize}.");
        if (Architecture != Seq2SeqArchitecture.Transformer && TiedEmbeddings)
            throw new ArgumentException($"{nameof(TiedEmbeddings)} is for the transformer; the GRU models keep their own embeddings and output layer.");
        if (Architecture == Seq2SeqArchitecture.GruAttention && Attention == RnnAttentionKind.Dot && 2 * EncoderHidden != ModelDim)
            throw new ArgumentException($"Dot attention compares the decoder state ({ModelDim}) with the bidirectional encoder's states (2 × {EncoderHidden}); set {nameof(EncoderHiddenSize)} to {ModelDim / 2} or use general attention.");
        if (TiedEmbeddings && SourceVocabSize != 0 && SourceVocabSize != VocabSize)
            throw new ArgumentException($"{nameof(TiedEmbeddings)} needs one vocabulary for both sides; the source has {SourceVocabSize} tokens and the target {VocabSize}.");
        return this;
    }

    /// <inheritdoc/>
    public override long MinimumParameterCount(ModelKind kind)
    {
        if (Architecture != Seq2SeqArchitecture.Transformer) // embeddings, the GRUs' recurrent weights and the output layer
            return ((long)EncoderVocabSize + VocabSize) * EmbeddingWidth + 6L * EncoderHidden * EncoderHidden + 3L * ModelDim * ModelDim + (long)VocabSize * ModelDim;
        long d = ModelDim;
        long positions = PositionalEncoding == PositionalEncodingKind.Learned ? 2L * MaxLength * d : 0;
        long embeddings = TiedEmbeddings ? (long)VocabSize * d : ((long)EncoderVocabSize + 2L * VocabSize) * d;
        return embeddings + positions + Layers * (12 * d * d + 4 * d * FeedForwardDim);
    }

    /// <summary>Parses <see cref="TransformerConfig.ToJson"/> output of an encoder-decoder and validates it (older files, a plain shape, read as shared untied vocabularies).</summary>
    /// <param name="json">The JSON written by ToJson.</param>
    public static new Seq2SeqConfig FromJson(string json)
    {
        var c = JsonSerializer.Deserialize<Seq2SeqConfig>(json, Json) ?? throw new ArgumentException("Config JSON is null.");
        // Files written before EmbeddingDim shaped transformers could store one for a transformer, which ignored it.
        if (c.Architecture == Seq2SeqArchitecture.Transformer) c = c with { EmbeddingDim = 0 };
        return c.Validate() with { CrossAttention = true };
    }
}
