namespace MLNetTransformers.Core.Models;

/// <summary>
/// A BERT-style encoder: token embedding + positions, <see cref="TransformerConfig.Layers"/> bidirectional
/// <see cref="EncoderBlock"/>s and (pre-norm) a final LayerNorm → hidden states [B, T, d], and pooled sentence vectors
/// [B, d] (<see cref="TransformerConfig.Pooling"/>). It is a model of its own (a sentence featurizer, what masked-LM
/// pretraining produces, what a classifier starts from) and the part of the classifier and the masked LM that reads
/// text: those declare it inside their own parameters under a prefix.
/// </summary>
public sealed class TransformerEncoder : TransformerStack, ITransformerModel
{
    private readonly EncoderBlock[] _blocks;
    private readonly SequencePooling _pool;
    private bool[]? _padding, _chunkPadding;
    private float[]? _output;
    private int[]? _chunkIds, _chunkTypes;
    private float[]? _normalized;
    // Padded batches run packed: only real tokens go through the stack (PackedSequences).
    private readonly PackedSequences _packed = new();
    private bool _lastPacked;
    private int[]? _packedIds, _packedTypes;
    private float[]? _unpacked, _dpacked;

    /// <summary>A standalone encoder with its own parameters, initialised from <paramref name="seed"/>.</summary>
    /// <param name="config">The shape (classifier fields such as NumClasses are not used).</param>
    /// <param name="seed">Seed of the initial weights and of dropout.</param>
    public TransformerEncoder(TransformerConfig config, ulong seed = 0) : this(new ParameterSet(), "", config, seed)
    {
        OwnsParameters = true;
        Parameters.Allocate(seed);
    }

    /// <summary>Declares the encoder's parameters inside <paramref name="parameters"/>; blocks are <c>{prefix}layers.{i}.</c>.</summary>
    /// <param name="parameters">The owning model's parameters (allocated by the owner).</param>
    /// <param name="prefix">Prefix of every parameter name ("" or e.g. "members.1.").</param>
    /// <param name="config">The shape.</param>
    /// <param name="seed">Seed of dropout.</param>
    public TransformerEncoder(ParameterSet parameters, string prefix, TransformerConfig config, ulong seed)
        : base(parameters, prefix, config, seed)
    {
        Parameters = parameters;
        Prefix = prefix;
        _blocks = new EncoderBlock[config.Layers];
        for (int i = 0; i < _blocks.Length; i++)
        {
            // Blocks sharing a set of weights (ALBERT) declare it once; the later ones get the same tensors.
            int set = config.ParameterLayerOf(i);
            using var shared = set < i ? parameters.ReuseDeclared() : null;
            _blocks[i] = new EncoderBlock(parameters, $"{prefix}layers.{set}.", config, causal: false, seed + 16 * (ulong)(i + 1), i);
        }
        if (config.RotaryTheta > 0f)
        {
            // One table of angles per base, shared by the blocks that use it (ModernBERT's global and local layers differ).
            var rotations = new Dictionary<float, RotaryPositions>();
            for (int i = 0; i < _blocks.Length; i++)
            {
                float theta = config.RotaryThetaOf(i);
                _blocks[i].SelfAttention.Rotary = rotations.TryGetValue(theta, out var r) ? r : rotations[theta] = new RotaryPositions(config.ModelDim / config.Heads, theta, config.RotaryScaling, config.RotaryInterleaved);
            }
        }
        if (config.Alibi)
        {
            Alibi = new AttentionLinearBiases(config.Heads);
            foreach (var block in _blocks) block.SelfAttention.Alibi = Alibi;
        }
        _pool = new SequencePooling(config.ModelDim, config.Pooling);
        if (config.Pooler) Pooler = new Pooler(parameters, prefix + "pooler.", config.ModelDim, config.PoolerActivation, config.PoolerBias, config.PoolerNorm ? config.LayerNormEps : 0f, config.NormBiases);
        if (config.SentenceDense > 0)
            SentenceDense = new Pooler(parameters, prefix + SentenceDensePrefix, config.ModelDim, config.SentenceDenseActivation, config.SentenceDenseBias, outDim: config.SentenceDense);
        if (config.DisentangledSpan > 0)
        {
            Disentangled = new DisentangledPositions(parameters, prefix + "rel_embeddings.", config.DisentangledSpan, config.DisentangledMaxDistance, config.ModelDim,
                config.LayerNormEps, dropout: config.Dropout, normalized: config.DisentangledNorm);
            foreach (var block in _blocks) block.SelfAttention.Disentangled = Disentangled;
        }
        if (config.RelativeAttentionBuckets > 0)
        {
            PositionBias = new RelativePositionBias(parameters, prefix + "rel_attn_bias.", config.RelativeAttentionBuckets, config.Heads);
            foreach (var block in _blocks) block.SelfAttention.PositionBias = PositionBias;
        }
        if (config.ConvKernel > 0)
            Conv = new ConvLayer(parameters, prefix + "conv.", config.ModelDim, config.ConvKernel, config.ConvActivation, config.LayerNormEps, config.Dropout, seed + 7919);
    }

    /// <summary>DeBERTa-v2's convolution after the first block (<see cref="TransformerConfig.ConvKernel"/>: deberta-v2-xlarge's), or null.</summary>
    public ConvLayer? Conv { get; }

    /// <summary>DeBERTa's relative positions every block's self-attention projects (<see cref="TransformerConfig.DisentangledSpan"/>), or null.</summary>
    public DisentangledPositions? Disentangled { get; }

    /// <summary>The relative position bias every block's self-attention adds (<see cref="TransformerConfig.RelativeAttentionBuckets"/>: MPNet's), or null.</summary>
    public RelativePositionBias? PositionBias { get; }

    /// <summary>ALiBi's fixed biases every block's self-attention adds (<see cref="TransformerConfig.Alibi"/>: JinaBERT's), or null.</summary>
    public AttentionLinearBiases? Alibi { get; }

    /// <summary>BERT's pooler (<see cref="TransformerConfig.Pooler"/>), which a classifier's head applies to the pooled vector; null without one.</summary>
    public Pooler? Pooler { get; }

    /// <summary>
    /// Whether right-padded batches run packed, the padding taken out before the first layer (on by default): the same
    /// hidden states on every real token, zeros at padding, no work spent on padding. Off, padding positions are
    /// computed like tokens (as ONNX Runtime does) and masked in attention.
    /// </summary>
    public bool Packing { get; set; } = true;

    /// <summary>The parameters the encoder lives in (its own, or its owner's).</summary>
    public ParameterSet Parameters { get; }
    /// <summary>Whether <see cref="Parameters"/> are the encoder's alone (false when it is part of a classifier or masked LM).</summary>
    public bool OwnsParameters { get; }
    /// <summary>Prefix of the encoder's parameter names inside <see cref="Parameters"/>.</summary>
    public string Prefix { get; }
    /// <inheritdoc/>
    public ModelKind Kind => ModelKind.Encoder;
    /// <summary>The blocks.</summary>
    public IReadOnlyList<EncoderBlock> Blocks => _blocks;

    /// <summary>ids [B, T] → hidden states [B, T, d]. <paramref name="keyPadding"/>: [B, T], true = padded.</summary>
    /// <param name="ids">Token ids [B, T].</param>
    /// <param name="batch">Sequences in the batch (B).</param>
    /// <param name="seqLen">Tokens per sequence (T).</param>
    /// <param name="keyPadding">[B, T] flags, true where a key position is padding (never attended to); null = none.</param>
    /// <param name="training">Whether this is a training forward (dropout active, activations kept for Backward); false = inference, after which no Backward may follow.</param>
    public float[] Forward(int[] ids, int batch, int seqLen, bool[]? keyPadding, bool training) => Forward(ids, null, batch, seqLen, keyPadding, training);

    /// <summary>ids and token types [B, T] → hidden states [B, T, d] (sentence pairs: type 0 for the first sentence, 1 for the second).</summary>
    /// <param name="ids">Token ids [B, T].</param>
    /// <param name="tokenTypes">Token type ids [B, T]; null = all 0.</param>
    /// <param name="batch">Sequences in the batch (B).</param>
    /// <param name="seqLen">Tokens per sequence (T).</param>
    /// <param name="keyPadding">[B, T] flags, true where a key position is padding (never attended to); null = none.</param>
    /// <param name="training">Whether this is a training forward (dropout active, activations kept for Backward); false = inference, after which no Backward may follow.</param>
    public float[] Forward(int[] ids, int[]? tokenTypes, int batch, int seqLen, bool[]? keyPadding, bool training)
    {
        // Inference takes the batch a few sequences at a time (about InferenceChunkTokens tokens), so the activation
        // buffers of every layer are sized for one chunk, not for the whole batch: peak memory stops growing with the
        // batch. Rows never mix, so the hidden states are the same bit for bit. Not when attention weights are recorded
        // (they would be the last chunk's).
        int perChunk = Math.Max(1, InferenceChunkTokens / seqLen);
        if (training || batch <= perChunk || Array.Exists(_blocks, b => b.SelfAttention.RecordWeights)) return ForwardRows(ids, tokenTypes, batch, seqLen, keyPadding, training);
        int d = Config.ModelDim;
        var output = Workspace.Ensure(ref _output, batch * seqLen * d);
        var chunkIds = Workspace.Ensure(ref _chunkIds, perChunk * seqLen);
        var chunkPadding = keyPadding is null ? null : Workspace.Ensure(ref _chunkPadding, perChunk * seqLen);
        var chunkTypes = tokenTypes is null ? null : Workspace.Ensure(ref _chunkTypes, perChunk * seqLen);
        for (int b0 = 0; b0 < batch; b0 += perChunk)
        {
            int rows = Math.Min(perChunk, batch - b0), n = rows * seqLen;
            Array.Copy(ids, b0 * seqLen, chunkIds, 0, n);
            if (keyPadding is not null) Array.Copy(keyPadding, b0 * seqLen, chunkPadding!, 0, n);
            if (tokenTypes is not null) Array.Copy(tokenTypes, b0 * seqLen, chunkTypes!, 0, n);
            Array.Copy(ForwardRows(chunkIds, chunkTypes, rows, seqLen, chunkPadding, training: false), 0, output, (long)b0 * seqLen * d, (long)n * d);
        }
        return output;
    }

    /// <summary>Tokens an inference forward runs through the stack at a time (whole sequences; at least one).</summary>
    internal const int InferenceChunkTokens = 4096;

    private float[] ForwardRows(int[] ids, int[]? tokenTypes, int batch, int seqLen, bool[]? keyPadding, bool training)
    {
        // Right-padded batches run packed: the stack sees the N real tokens only, and the hidden states come back as
        // [B, T, d] with zeros at padding (what no pooling, head or loss reads). Not when attention maps are recorded.
        _lastPacked = Packing && !Array.Exists(_blocks, b => b.SelfAttention.RecordWeights) && _packed.TryPack(keyPadding, batch, seqLen);
        Disentangled?.Prepare(seqLen); // the relative positions' rows these lengths reach, normalized once for every layer
        if (_lastPacked)
        {
            int n = _packed.Rows, d = Config.ModelDim;
            var packedIds = Workspace.Ensure(ref _packedIds, n);
            _packed.Gather(ids, packedIds);
            int[]? packedTypes = null;
            if (tokenTypes is not null) _packed.Gather(tokenTypes, packedTypes = Workspace.Ensure(ref _packedTypes, n));
            var h = Embed(packedIds, packedTypes, _packed, training);
            var h0 = h;
            for (int i = 0; i < _blocks.Length; i++)
            {
                h = _blocks[i].Forward(h, _packed, training, inference: !training);
                if (i == 0 && Conv is not null) h = Conv.Forward(h0, h, _packed, training);
            }
            h = Finish(h, n);
            var unpacked = Workspace.Ensure(ref _unpacked, batch * seqLen * d);
            _packed.Scatter(h, unpacked, d);
            return unpacked;
        }
        var x = Embed(ids, tokenTypes, batch, seqLen, training, keyPadding);
        var x0 = x;
        for (int i = 0; i < _blocks.Length; i++)
        {
            x = _blocks[i].Forward(x, batch, seqLen, keyPadding, training, inference: !training);
            if (i == 0 && Conv is not null) x = Conv.Forward(x0, x, batch, seqLen, keyPadding, training);
        }
        return Finish(x, batch * seqLen);
    }

    /// <summary>Backward from d(hidden states) down to the embeddings.</summary>
    /// <param name="dhidden">Gradient of the loss with respect to the hidden states, [B, T, d].</param>
    /// <param name="batch">Sequences in the batch (B).</param>
    /// <param name="seqLen">Tokens per sequence (T).</param>
    public void Backward(float[] dhidden, int batch, int seqLen)
    {
        if (_lastPacked)
        {
            int n = _packed.Rows;
            var dpacked = Workspace.Ensure(ref _dpacked, n * Config.ModelDim);
            _packed.Gather(dhidden, dpacked, Config.ModelDim);
            var dp = FinishBackward(dpacked, n);
            for (int i = _blocks.Length - 1; i >= 0; i--)
            {
                if (i == 0 && Conv is not null) dp = Conv.Backward(dp);
                dp = _blocks[i].Backward(dp, n);
                if (i == 0 && Conv is not null) AddEmbeddingGradient(dp, n);
            }
            Disentangled?.Backward();
            Embeddings.Backward(dp);
            return;
        }
        var d = FinishBackward(dhidden, batch * seqLen);
        for (int i = _blocks.Length - 1; i >= 0; i--)
        {
            if (i == 0 && Conv is not null) d = Conv.Backward(d);
            d = _blocks[i].Backward(d, batch, seqLen);
            if (i == 0 && Conv is not null) AddEmbeddingGradient(d, batch * seqLen);
        }
        Disentangled?.Backward();
        EmbedBackward(d, batch, seqLen);
    }

    // The convolution reads the embeddings too: its input gradient joins the first block's.
    private void AddEmbeddingGradient(float[] dx, int rows)
    {
        int n = rows * Config.ModelDim;
        TensorPrimitives.Add(dx.AsSpan(0, n), Conv!.EmbeddingGradient.AsSpan(0, n), dx.AsSpan(0, n));
    }

    /// <summary>sentence-transformers' Dense module after the pooling (<see cref="TransformerConfig.SentenceDense"/>), or null.</summary>
    public Pooler? SentenceDense { get; }

    /// <summary>Prefix of the Dense module's weights (<c>sentence_dense.dense.weight</c>, <c>.bias</c>).</summary>
    public const string SentenceDensePrefix = "sentence_dense.";

    /// <summary>
    /// Sentence vectors [B, SentenceDim] of a batch in inference mode (a buffer reused by the next call): the pooled hidden
    /// states, through the Dense module when there is one, scaled to unit length when <see cref="TransformerConfig.NormalizeEmbeddings"/>.
    /// </summary>
    /// <param name="batch">Token ids, attention mask and token types, [B, T].</param>
    public float[] Embed(TokenBatch batch)
    {
        var padding = batch.PaddingFlags(ref _padding);
        var pooled = _pool.Forward(Forward(batch.Ids, batch.TokenTypeIds, batch.BatchSize, batch.SeqLen, padding, training: false), batch.BatchSize, batch.SeqLen, padding);
        if (SentenceDense is not null) pooled = SentenceDense.Forward(pooled, batch.BatchSize);
        if (!Config.NormalizeEmbeddings) return pooled;
        int d = Config.SentenceDim;
        var unit = Workspace.Ensure(ref _normalized, batch.BatchSize * d);
        for (int b = 0; b < batch.BatchSize; b++)
        {
            var row = pooled.AsSpan(b * d, d);
            // sentence-transformers: x / max(‖x‖, 1e-12)
            TensorPrimitives.Multiply(row, 1f / MathF.Max(TensorPrimitives.Norm(row), 1e-12f), unit.AsSpan(b * d, d));
        }
        return unit;
    }

    /// <summary>A standalone encoder holding a copy of this one's weights (from its owner's parameters when it is part of a model).</summary>
    public TransformerEncoder Copy()
    {
        var copy = new TransformerEncoder(Config.Shape()); // an owner's classifier fields do not describe the encoder
        foreach (var t in copy.Parameters.Tensors) Parameters[Prefix + t.Name].Value.CopyTo(t.Value);
        return copy;
    }
}
