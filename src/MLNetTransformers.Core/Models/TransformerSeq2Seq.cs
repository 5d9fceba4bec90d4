namespace MLNetTransformers.Core.Models;

/// <summary>
/// The encoder-decoder transformer of "Attention Is All You Need" (and T5, BART): a <see cref="TransformerEncoder"/>
/// reads the source (parameters <c>encoder.</c>), a <see cref="TransformerDecoder"/> with masked self-attention and
/// cross-attention to every encoder vector reads the target so far (<c>decoder.</c>), and a head <c>head</c>
/// [vocab, d] predicts the next target token. One vocabulary shared by both sides (optionally one embedding matrix for
/// source, target and head: <see cref="Seq2SeqConfig.TiedEmbeddings"/>) or a source vocabulary of its own
/// (<see cref="Seq2SeqConfig.SourceVocabSize"/>). A batch is the target side
/// (decoder inputs starting with the start token, mask, next-token targets with −100 where there is none) with the
/// source side in <see cref="TokenBatch.Source"/>.
/// </summary>
public sealed class TransformerSeq2Seq : Seq2SeqModel
{
    private bool[]? _sourcePadding, _targetPadding;
    private float[]? _dmemory;

    /// <summary>Builds the model and initialises its weights from <paramref name="seed"/>.</summary>
    /// <param name="config">The shape of both stacks (the decoder gets cross-attention); a <see cref="Seq2SeqConfig"/> for separate or tied vocabularies.</param>
    /// <param name="seed">Seed of the initial weights and the dropout masks.</param>
    public TransformerSeq2Seq(TransformerConfig config, ulong seed = 0)
        : base((config as Seq2SeqConfig ?? new Seq2SeqConfig(config.Shape())) with { CrossAttention = true }, transformer: true)
    {
        var shape = Config.Shape();
        Encoder = new TransformerEncoder(Parameters, "encoder.", shape with { CrossAttention = false, VocabSize = Config.EncoderVocabSize }, seed);
        var tied = Config.TiedEmbeddings ? Encoder.Tok : null; // decoder.tok and head.weight are encoder.tok.weight
        Decoder = new TransformerDecoder(Parameters, "decoder.", shape, seed + 104_729, tied); // its own dropout streams
        Head = tied is null ? new Linear(Parameters, "head.", Config.ModelDim, Config.VocabSize) : new Linear(Parameters, "head.", tied.Weight);
        Parameters.Allocate(seed);
    }

    /// <inheritdoc/>
    public override IIncrementalDecoder CreateIncrementalDecoder() => new TransformerIncrementalDecoder(this);
    private protected override Seq2SeqModel WithSameConfig() => new TransformerSeq2Seq(Config);
    /// <inheritdoc/>
    public override ModelKind Kind => ModelKind.Seq2Seq;
    /// <summary>The source encoder.</summary>
    public TransformerEncoder Encoder { get; }
    /// <summary>The target decoder (masked self-attention and cross-attention).</summary>
    public TransformerDecoder Decoder { get; }
    /// <summary>The output projection to the vocabulary.</summary>
    public Linear Head { get; }

    /// <summary>Encoder states [B, S, d] of the source (a buffer reused by the next call).</summary>
    /// <param name="source">Source ids and mask, [B, S].</param>
    /// <param name="training">Whether dropout is active.</param>
    public float[] Encode(TokenBatch source, bool training = false) =>
        Encoder.Forward(source.Ids, source.BatchSize, source.SeqLen, source.PaddingFlags(ref _sourcePadding), training);

    /// <inheritdoc/>
    public override float[] Forward(TokenBatch batch, bool training = false)
    {
        var source = RequireSource(batch);
        var sourcePadding = source.PaddingFlags(ref _sourcePadding); // null when nothing is padded (the buffer keeps old flags)
        var memory = Encoder.Forward(source.Ids, source.BatchSize, source.SeqLen, sourcePadding, training);
        var hidden = Decoder.Forward(batch.Ids, batch.BatchSize, batch.SeqLen, batch.PaddingFlags(ref _targetPadding), training,
            memory, source.SeqLen, sourcePadding);
        return Head.Forward(hidden, batch.BatchSize * batch.SeqLen);
    }

    /// <inheritdoc/>
    public override float ForwardBackward(TokenBatch batch)
    {
        var targets = RequireTargets(batch);
        var source = batch.Source!;
        int b = batch.BatchSize, n = b * batch.SeqLen;
        var logits = Forward(batch, training: true);
        float loss = LossGradient(logits, targets, n);
        // Cross-attention sends a gradient to every encoder state; the decoder adds it up, then the encoder goes back.
        int m = b * source.SeqLen * Config.ModelDim;
        var dmemory = Workspace.Ensure(ref _dmemory, m);
        dmemory.AsSpan(0, m).Clear();
        Decoder.Backward(Head.Backward(logits, n), b, batch.SeqLen, dmemory);
        Encoder.Backward(dmemory, b, source.SeqLen);
        return loss;
    }

    /// <summary>
    /// Greedy decoding of one source: starting from <paramref name="startId"/>, the likeliest next token until
    /// <paramref name="endId"/> or <paramref name="maxLength"/> tokens (recomputing the decoder over the prefix at each step).
    /// </summary>
    /// <param name="sourceIds">Source token ids (no padding).</param>
    /// <param name="startId">The token the decoder starts from.</param>
    /// <param name="endId">The token that ends the output (not included).</param>
    /// <param name="maxLength">Output tokens at most (below the model's MaxLength).</param>
    /// <returns>The generated ids, without the start and end tokens.</returns>
    public int[] GreedyDecode(ReadOnlySpan<int> sourceIds, int startId, int endId, int maxLength)
    {
        if (sourceIds.Length == 0 || sourceIds.Length > Config.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(sourceIds), sourceIds.Length, $"The source must hold 1 to {Config.MaxLength} tokens.");
        maxLength = Math.Min(maxLength, Config.MaxLength - 1);
        var source = new TokenBatch(1, sourceIds.Length, sourceIds.ToArray());
        var prefix = new List<int> { startId };
        int v = Config.VocabSize;
        while (prefix.Count <= maxLength)
        {
            var logits = Forward(new TokenBatch(1, prefix.Count, prefix.ToArray()) { Source = source });
            var last = logits.AsSpan((prefix.Count - 1) * v, v);
            int next = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(last);
            if (next == endId) break;
            prefix.Add(next);
        }
        return prefix.Skip(1).ToArray();
    }
}
