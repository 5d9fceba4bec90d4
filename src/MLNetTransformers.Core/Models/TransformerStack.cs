using MLNetTransformers.Core.Kernels;
using MLNetTransformers.Core.Layers;

namespace MLNetTransformers.Core.Models;

/// <summary>
/// What encoder and decoder stacks share: token embedding <c>tok</c>, positions <c>pos</c>, embedding dropout,
/// and for pre-norm a final LayerNorm <c>lnf</c>.
/// </summary>
public abstract class TransformerStack
{
    private readonly Dropout _embDrop;

    /// <summary>Declares the shared parameters under <paramref name="prefix"/>.</summary>
    protected TransformerStack(ParameterSet parameters, string prefix, TransformerConfig config, ulong seed)
    {
        Config = config.Validate();
        Tok = new Embedding(parameters, prefix + "tok.", config.VocabSize, config.ModelDim);
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

/// <summary>A BERT-style stack: embeddings, <see cref="TransformerConfig.Layers"/> bidirectional <see cref="EncoderBlock"/>s, final norm.</summary>
public sealed class TransformerEncoder : TransformerStack
{
    private readonly EncoderBlock[] _blocks;

    /// <summary>Declares the stack's parameters; blocks are <c>{prefix}layers.{i}.</c>.</summary>
    public TransformerEncoder(ParameterSet parameters, string prefix, TransformerConfig config, ulong seed)
        : base(parameters, prefix, config, seed)
    {
        _blocks = new EncoderBlock[config.Layers];
        for (int i = 0; i < _blocks.Length; i++)
            _blocks[i] = new EncoderBlock(parameters, $"{prefix}layers.{i}.", config, causal: false, seed + 16 * (ulong)(i + 1));
    }

    /// <summary>The blocks.</summary>
    public IReadOnlyList<EncoderBlock> Blocks => _blocks;

    /// <summary>ids [B, T] → hidden states [B, T, d]. <paramref name="keyPadding"/>: [B, T], true = padded.</summary>
    public float[] Forward(int[] ids, int batch, int seqLen, bool[]? keyPadding, bool training)
    {
        var x = Embed(ids, batch, seqLen, training);
        foreach (var block in _blocks) x = block.Forward(x, batch, seqLen, keyPadding, training);
        return Finish(x, batch * seqLen);
    }

    /// <summary>Backward from d(hidden states) down to the embeddings.</summary>
    public void Backward(float[] dhidden, int batch, int seqLen)
    {
        var d = FinishBackward(dhidden, batch * seqLen);
        for (int i = _blocks.Length - 1; i >= 0; i--) d = _blocks[i].Backward(d, batch, seqLen);
        EmbedBackward(d, batch, seqLen);
    }
}

/// <summary>A GPT-style stack of causal <see cref="DecoderBlock"/>s (with cross-attention when the config asks).</summary>
public sealed class TransformerDecoder : TransformerStack
{
    private readonly DecoderBlock[] _blocks;

    /// <summary>Declares the stack's parameters; blocks are <c>{prefix}layers.{i}.</c>.</summary>
    public TransformerDecoder(ParameterSet parameters, string prefix, TransformerConfig config, ulong seed)
        : base(parameters, prefix, config, seed)
    {
        _blocks = new DecoderBlock[config.Layers];
        for (int i = 0; i < _blocks.Length; i++)
            _blocks[i] = new DecoderBlock(parameters, $"{prefix}layers.{i}.", config, seed + 16 * (ulong)(i + 1));
    }

    /// <summary>The blocks.</summary>
    public IReadOnlyList<DecoderBlock> Blocks => _blocks;

    /// <summary>ids [B, T] → hidden states [B, T, d]; <paramref name="memory"/> [B, Tm, d] for cross-attention.</summary>
    public float[] Forward(int[] ids, int batch, int seqLen, bool[]? keyPadding, bool training,
        float[]? memory = null, int memoryLength = 0, bool[]? memoryPadding = null)
    {
        var x = Embed(ids, batch, seqLen, training);
        foreach (var block in _blocks) x = block.Forward(x, batch, seqLen, keyPadding, memory, memoryLength, memoryPadding, training);
        return Finish(x, batch * seqLen);
    }

    /// <summary>Hidden states [n, d] of <paramref name="n"/> new tokens of one sequence, continuing the positions held in <paramref name="cache"/>.</summary>
    public float[] ForwardIncremental(int[] ids, int n, KvCache cache)
    {
        int start = cache.Length;
        if (start + n > Config.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(n), $"Positions {start}..{start + n - 1} exceed the model's maximum length {Config.MaxLength}.");
        var x = Tok.Forward(ids, n);
        Pos.AddTo(x, 1, n, start);
        for (int i = 0; i < _blocks.Length; i++) x = _blocks[i].ForwardIncremental(x, n, cache.Layers[i], start);
        cache.Length = start + n;
        return Finish(x, n);
    }

    /// <summary>Backward down to the embeddings; the memory gradient is added into <paramref name="memoryGrad"/>.</summary>
    public void Backward(float[] dhidden, int batch, int seqLen, float[]? memoryGrad = null)
    {
        var d = FinishBackward(dhidden, batch * seqLen);
        for (int i = _blocks.Length - 1; i >= 0; i--) d = _blocks[i].Backward(d, batch, seqLen, memoryGrad);
        EmbedBackward(d, batch, seqLen);
    }
}
