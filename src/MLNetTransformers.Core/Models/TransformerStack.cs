namespace MLNetTransformers.Core.Models;

/// <summary>
/// What encoder and decoder stacks share: token embedding <c>tok</c>, positions <c>pos</c>, embedding dropout,
/// and for pre-norm a final LayerNorm <c>lnf</c>.
/// </summary>
public abstract class TransformerStack
{
    private readonly Dropout _embDrop;

    /// <summary>Declares the shared parameters under <paramref name="prefix"/>; <paramref name="tokens"/>, when given, is another stack's token embedding used instead of a new one (tied embeddings).</summary>
    protected TransformerStack(ParameterSet parameters, string prefix, TransformerConfig config, ulong seed, Embedding? tokens = null)
    {
        Config = config.Validate();
        if (tokens is not null && (tokens.Vocab != config.VocabSize || tokens.Dim != config.ModelDim))
            throw new ArgumentException($"A shared token embedding [{tokens.Vocab}, {tokens.Dim}] does not fit a stack of vocabulary {config.VocabSize} and width {config.ModelDim}.", nameof(tokens));
        Tok = tokens is null ? new Embedding(parameters, prefix + "tok.", config.VocabSize, config.ModelDim) : new Embedding(tokens.Weight);
        Pos = PositionalEncoding.Create(config.PositionalEncoding, parameters, prefix + "pos.", config.MaxLength, config.ModelDim);
        FinalNorm = config.Norm == NormPlacement.PreNorm ? new LayerNorm(parameters, prefix + "lnf.", config.ModelDim, config.LayerNormEps) : null;
        _embDrop = new Dropout(config.Dropout, seed);
    }

    /// <summary>The configuration.</summary>
    public TransformerConfig Config { get; }
    /// <summary>Token embedding.</summary>
    public Embedding Tok { get; }
    /// <summary>Positional encoding.</summary>
    public PositionalEncoding Pos { get; }
    /// <summary>Final LayerNorm (pre-norm stacks only).</summary>
    public LayerNorm? FinalNorm { get; }

    /// <summary>ids [B, T] → token + position embeddings (after dropout), [B, T, d].</summary>
    protected float[] Embed(int[] ids, int batch, int seqLen, bool training)
    {
        if (seqLen > Config.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(seqLen), $"Sequence length {seqLen} exceeds the model's maximum length {Config.MaxLength}.");
        int n = batch * seqLen;
        var x = Tok.Forward(ids, n);
        Pos.AddTo(x, batch, seqLen);
        return _embDrop.Forward(x, n * Config.ModelDim, training);
    }

    /// <summary>Backward of <see cref="Embed"/>.</summary>
    protected void EmbedBackward(float[] dx, int batch, int seqLen)
    {
        int n = batch * seqLen;
        var d = _embDrop.Backward(dx, n * Config.ModelDim);
        Pos.Backward(d, batch, seqLen);
        Tok.Backward(d, n);
    }

    /// <summary>Applies the final norm, if any.</summary>
    protected float[] Finish(float[] x, int n) => FinalNorm is null ? x : FinalNorm.Forward(x, n);

    /// <summary>Backward of <see cref="Finish"/>.</summary>
    protected float[] FinishBackward(float[] dy, int n) => FinalNorm is null ? dy : FinalNorm.Backward(dy, n);
}
