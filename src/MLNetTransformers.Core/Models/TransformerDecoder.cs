using MLNetTransformers.Core.Layers;

namespace MLNetTransformers.Core.Models;

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
