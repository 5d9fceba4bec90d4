namespace MLNetTransformers.Core.Models;

/// <summary>A GPT-style stack of causal <see cref="DecoderBlock"/>s (with cross-attention when the config asks).</summary>
public sealed class TransformerDecoder : TransformerStack
{
    private readonly DecoderBlock[] _blocks;
    private int[]? _starts;
    private float[][]? _layerKeys, _layerValues, _stepCross;

    /// <summary>Declares the stack's parameters; blocks are <c>{prefix}layers.{i}.</c>.</summary>
    /// <param name="parameters">The parameter set the weights are declared in (and allocated by its owner).</param>
    /// <param name="prefix">Prefix of the parameter names.</param>
    /// <param name="config">The model's shape.</param>
    /// <param name="seed">Seed of the dropout masks.</param>
    /// <param name="tokens">Another stack's token embedding to share (tied embeddings); null = its own <c>{prefix}tok.weight</c>.</param>
    public TransformerDecoder(ParameterSet parameters, string prefix, TransformerConfig config, ulong seed, Embedding? tokens = null)
        : base(parameters, prefix, config, seed, tokens)
    {
        // Incremental decoding adds token and position vectors only (TransformerDecoder.Extend).
        if (config.TypeVocabSize > 0 || config.EmbeddingNorm || config.PositionOffset != 0 || config.ProjectsEmbeddings || config.RelativeAttentionBuckets > 0 || config.LayerGroups > 0
            || config.DisentangledSpan > 0 || config.PositionalEncoding == PositionalEncodingKind.None || !config.Biases || !config.NormBiases || config.GatedFeedForward || config.RotaryTheta > 0f
            || config.SlidingWindow > 0 || !config.FirstBlockAttentionNorm || config.PoolerNorm || config.Alibi || !config.ExpansionBias || !config.ActivatedHalfFirst || config.RotaryScaling != 1f)
            throw new NotSupportedException("A decoder's embeddings are token + position only and its blocks its own: TypeVocabSize, EmbeddingNorm, PositionOffset, EmbeddingDim, RelativeAttentionBuckets, LayerGroups, DisentangledSpan, PositionalEncoding None, Biases or NormBiases false, GatedFeedForward, RotaryTheta, SlidingWindow, FirstBlockAttentionNorm false, PoolerNorm, Alibi, ExpansionBias false, ActivatedHalfFirst false and RotaryScaling are for encoders.");
        _blocks = new DecoderBlock[config.Layers];
        for (int i = 0; i < _blocks.Length; i++)
            _blocks[i] = new DecoderBlock(parameters, $"{prefix}layers.{i}.", config, seed + 16 * (ulong)(i + 1));
    }

    /// <summary>The blocks.</summary>
    public IReadOnlyList<DecoderBlock> Blocks => _blocks;

    /// <summary>ids [B, T] → hidden states [B, T, d]; <paramref name="memory"/> [B, Tm, d] for cross-attention.</summary>
    /// <param name="ids">Token ids [B, T].</param>
    /// <param name="batch">Sequences in the batch (B).</param>
    /// <param name="seqLen">Tokens per sequence (T).</param>
    /// <param name="keyPadding">[B, T] flags, true where a key position is padding (never attended to); null = none.</param>
    /// <param name="training">Whether this is a training forward (dropout active, activations kept for Backward); false = inference, after which no Backward may follow.</param>
    /// <param name="memory">Encoder states [B, Tm, d] for cross-attention (null = none).</param>
    /// <param name="memoryLength">Encoder positions per sequence (Tm).</param>
    /// <param name="memoryPadding">[B, Tm] flags, true where an encoder position is padding; null = none.</param>
    public float[] Forward(int[] ids, int batch, int seqLen, bool[]? keyPadding, bool training,
        float[]? memory = null, int memoryLength = 0, bool[]? memoryPadding = null)
    {
        var x = Embed(ids, null, batch, seqLen, training);
        foreach (var block in _blocks) x = block.Forward(x, batch, seqLen, keyPadding, memory, memoryLength, memoryPadding, training, inference: !training);
        return Finish(x, batch * seqLen);
    }

    /// <summary>Hidden states [n, d] of <paramref name="n"/> new tokens of one sequence, continuing the positions held in <paramref name="cache"/>.</summary>
    /// <param name="ids">Ids of the new tokens of one sequence.</param>
    /// <param name="n">New tokens.</param>
    /// <param name="cache">Keys and values of the positions already processed.</param>
    /// <param name="memory">With cross-attention: this sequence's encoder states [Tm, d].</param>
    /// <param name="memoryLength">Encoder positions (Tm).</param>
    /// <param name="memoryPadding">[Tm] flags, true where an encoder position is padding; null = none.</param>
    public float[] ForwardIncremental(int[] ids, int n, KvCache cache, float[]? memory = null, int memoryLength = 0, bool[]? memoryPadding = null) =>
        ForwardIncremental(ids, new[] { n }, new[] { cache }, memory, memoryLength, memoryPadding);

    /// <summary>
    /// Hidden states of new tokens of several sequences at once (prompts read together): sequence s brings the next
    /// <paramref name="lengths"/>[s] ids and continues <paramref name="caches"/>[s]. Every row is computed as in a call
    /// of its own sequence alone; the products run over all rows.
    /// </summary>
    internal float[] ForwardIncremental(int[] ids, int[] lengths, IReadOnlyList<KvCache> caches, float[]? memory = null, int memoryLength = 0, bool[]? memoryPadding = null) =>
        Extend(ids, lengths, lengths.Length, caches, (block, x, keys, values, starts) =>
            _blocks[block].ForwardIncremental(x, lengths, keys, values, starts, memory, memoryLength, memoryPadding));

    // Embeds new tokens (sequence s brings lengths[s] of them, or one each when lengths is null) at the positions after
    // those in caches[s], runs every block through `block` with that layer's caches, and extends the caches.
    private float[] Extend(int[] ids, int[]? lengths, int count, IReadOnlyList<KvCache> caches, Func<int, float[], float[][], float[][], int[], float[]> block)
    {
        int n = 0, d = Config.ModelDim;
        var starts = Workspace.Ensure(ref _starts, count);
        for (int s = 0; s < count; s++)
        {
            int len = lengths?[s] ?? 1;
            starts[s] = caches[s].Length;
            if (starts[s] + len > Config.MaxLength)
                throw new ArgumentOutOfRangeException(nameof(caches), $"{(count > 1 ? $"Sequence {s}: p" : "P")}ositions {starts[s]}..{starts[s] + len - 1} exceed the model's maximum length {Config.MaxLength}.");
            n += len;
        }
        var x = Tok.Forward(ids, n);
        for (int s = 0, r = 0; s < count; s++)
            for (int j = 0; j < (lengths?[s] ?? 1); j++, r++) Pos!.AddAt(x.AsSpan(r * d, d), starts[s] + j);
        var keys = Workspace.Ensure(ref _layerKeys, count);
        var values = Workspace.Ensure(ref _layerValues, count);
        for (int i = 0; i < _blocks.Length; i++)
        {
            for (int s = 0; s < count; s++) (keys[s], values[s]) = (caches[s].Layers[i].Keys, caches[s].Layers[i].Values);
            x = block(i, x, keys, values, starts);
        }
        for (int s = 0; s < count; s++) caches[s].Length = starts[s] + (lengths?[s] ?? 1);
        return Finish(x, n);
    }

    /// <summary>
    /// Hidden states [rows, d] of one decoding step of many hypotheses: row r feeds token <paramref name="ids"/>[r] at
    /// the position after those in its own <paramref name="caches"/>[r] (which it extends); with cross-attention it
    /// attends to its source's <paramref name="crossKeysValues"/>[r] (from <see cref="ProjectMemory"/>, shared by the
    /// rows of one source). Finished hypotheses simply leave: rows need not share a length or a source.
    /// </summary>
    /// <param name="ids">One token id per row.</param>
    /// <param name="rows">Hypotheses in the step.</param>
    /// <param name="caches">Each row's cache (extended by one position).</param>
    /// <param name="crossKeysValues">With cross-attention: each row's per-layer memory projections; null otherwise.</param>
    /// <param name="memoryLengths">With cross-attention: each row's encoder positions.</param>
    public float[] ForwardStep(int[] ids, int rows, IReadOnlyList<KvCache> caches, IReadOnlyList<float[][]>? crossKeysValues = null, int[]? memoryLengths = null)
    {
        var cross = crossKeysValues is null ? null : Workspace.Ensure(ref _stepCross, rows);
        return Extend(ids, null, rows, caches, (block, x, keys, values, starts) =>
        {
            if (cross is not null)
                for (int r = 0; r < rows; r++) cross[r] = crossKeysValues![r][block];
            return _blocks[block].ForwardStep(x, rows, keys, values, starts, cross, memoryLengths);
        });
    }

    /// <summary>Each block's cross-attention keys and values of one sequence's encoder memory, computed once per source.</summary>
    /// <param name="memory">This sequence's encoder states [Tm, d].</param>
    /// <param name="memoryLength">Encoder positions (Tm).</param>
    public float[][] ProjectMemory(float[] memory, int memoryLength)
    {
        var result = new float[_blocks.Length][];
        for (int i = 0; i < _blocks.Length; i++)
        {
            result[i] = new float[memoryLength * 2 * Config.ModelDim];
            _blocks[i].ProjectMemory(memory, memoryLength, result[i]);
        }
        return result;
    }

    /// <summary>Backward down to the embeddings; the memory gradient is added into <paramref name="memoryGrad"/>.</summary>
    /// <param name="dhidden">Gradient of the loss with respect to the hidden states, [B, T, d].</param>
    /// <param name="batch">Sequences in the batch (B).</param>
    /// <param name="seqLen">Tokens per sequence (T).</param>
    /// <param name="memoryGrad">Receives (adds into) the gradient with respect to the encoder memory; null when there is none.</param>
    public void Backward(float[] dhidden, int batch, int seqLen, float[]? memoryGrad = null)
    {
        var d = FinishBackward(dhidden, batch * seqLen);
        for (int i = _blocks.Length - 1; i >= 0; i--) d = _blocks[i].Backward(d, batch, seqLen, memoryGrad);
        EmbedBackward(d, batch, seqLen);
    }
}
