namespace MLNetTransformers.Core.Models;

/// <summary>
/// What encoder and decoder stacks share: the <see cref="InputEmbeddings"/> block (token <c>tok</c>, positions
/// <c>pos</c>, and what a family adds) and for pre-norm a final LayerNorm <c>lnf</c>.
/// </summary>
public abstract class TransformerStack
{
    /// <summary>Declares the shared parameters under <paramref name="prefix"/>; <paramref name="tokens"/>, when given, is another stack's token embedding used instead of a new one (tied embeddings).</summary>
    protected TransformerStack(ParameterSet parameters, string prefix, TransformerConfig config, ulong seed, Embedding? tokens = null)
    {
        Config = config.Validate();
        if (tokens is not null && (tokens.Vocab != config.VocabSize || tokens.Dim != config.ModelDim))
            throw new ArgumentException($"A shared token embedding [{tokens.Vocab}, {tokens.Dim}] does not fit a stack of vocabulary {config.VocabSize} and width {config.ModelDim}.", nameof(tokens));
        Embeddings = new InputEmbeddings(parameters, prefix, config, seed, tokens);
        FinalNorm = config.Norm == NormPlacement.PreNorm ? new LayerNorm(parameters, prefix + "lnf.", config.ModelDim, config.LayerNormEps, config.NormBiases) : null;
    }

    /// <summary>The configuration.</summary>
    public TransformerConfig Config { get; }
    /// <summary>The embedding block.</summary>
    public InputEmbeddings Embeddings { get; }
    /// <summary>Token embedding.</summary>
    public Embedding Tok => Embeddings.Tok;
    /// <summary>Positional encoding (null without absolute positions: DeBERTa's encoders).</summary>
    public PositionalEncoding? Pos => Embeddings.Pos;
    /// <summary>Final LayerNorm (pre-norm stacks only).</summary>
    public LayerNorm? FinalNorm { get; }

    /// <summary>ids [B, T] (token types [B, T] or null) → input embeddings (after dropout), [B, T, d].</summary>
    protected float[] Embed(int[] ids, int[]? tokenTypes, int batch, int seqLen, bool training, bool[]? keyPadding = null)
    {
        if (seqLen > Config.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(seqLen), $"Sequence length {seqLen} exceeds the model's maximum length {Config.MaxLength}.");
        return Embeddings.Forward(ids, tokenTypes, batch, seqLen, keyPadding, training);
    }

    /// <summary>Packed ids and token types [N] of <paramref name="packed"/>'s rows → input embeddings (after dropout), [N, d].</summary>
    protected float[] Embed(int[] ids, int[]? tokenTypes, PackedSequences packed, bool training)
    {
        if (packed.SeqLen > Config.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(packed), $"Sequence length {packed.SeqLen} exceeds the model's maximum length {Config.MaxLength}.");
        return Embeddings.Forward(ids, tokenTypes, packed, training);
    }

    /// <summary>Backward of <see cref="Embed(int[], int[], int, int, bool, bool[])"/>.</summary>
    protected void EmbedBackward(float[] dx, int batch, int seqLen) => Embeddings.Backward(dx, batch, seqLen);

    /// <summary>Applies the final norm, if any.</summary>
    protected float[] Finish(float[] x, int n) => FinalNorm is null ? x : FinalNorm.Forward(x, n);

    /// <summary>Backward of <see cref="Finish"/>.</summary>
    protected float[] FinishBackward(float[] dy, int n) => FinalNorm is null ? dy : FinalNorm.Backward(dy, n);
}
