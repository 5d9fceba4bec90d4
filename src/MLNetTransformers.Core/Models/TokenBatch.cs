namespace MLNetTransformers.Core.Models;

/// <summary>
/// A batch of token sequences, [B, T] row-major: <see cref="Ids"/>, an optional <see cref="AttentionMask"/>
/// (1 = real token, 0 = padding, as Hugging Face and ONNX exports use) and optional <see cref="Labels"/>:
/// [B] class indices for a classifier, [B, T] next-token targets for a language model (−100 = ignored).
/// </summary>
public sealed class TokenBatch
{
    /// <summary>Wraps existing arrays (not copied) after checking their sizes.</summary>
    /// <param name="batchSize">Sequences (B).</param>
    /// <param name="seqLen">Tokens per sequence (T).</param>
    /// <param name="ids">Token ids [B, T] row-major (the array may be longer).</param>
    /// <param name="attentionMask">Attention mask [B, T] (1 = real token, 0 = padding); null = all real.</param>
    /// <param name="labels">Labels (one per sequence) or targets (one per token); null when not training.</param>
    public TokenBatch(int batchSize, int seqLen, int[] ids, int[]? attentionMask = null, int[]? labels = null)
    {
        if (batchSize <= 0 || seqLen <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), $"Batch shape must be positive, got [{batchSize}, {seqLen}].");
        int n = batchSize * seqLen;
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Length < n) throw new ArgumentException($"Ids hold {ids.Length} values; a [{batchSize}, {seqLen}] batch needs {n}.", nameof(ids));
        if (attentionMask is not null && attentionMask.Length < n)
            throw new ArgumentException($"Attention mask holds {attentionMask.Length} values; a [{batchSize}, {seqLen}] batch needs {n}.", nameof(attentionMask));
        (BatchSize, SeqLen, Ids, AttentionMask, Labels) = (batchSize, seqLen, ids, attentionMask, labels);
    }

    /// <summary>B.</summary>
    public int BatchSize { get; }
    /// <summary>T.</summary>
    public int SeqLen { get; }
    /// <summary>[B, T] token ids.</summary>
    public int[] Ids { get; }
    /// <summary>[B, T], 1 = attend, 0 = padding; null = no padding.</summary>
    public int[]? AttentionMask { get; }
    /// <summary>
    /// [B, T] token type (segment) ids: 0 for the first sentence of a pair, 1 for the second; null = all 0. Read by
    /// encoders with a token-type embedding (<see cref="TransformerConfig.TypeVocabSize"/>).
    /// </summary>
    public int[]? TokenTypeIds
    {
        get => _tokenTypeIds;
        init
        {
            if (value is not null && value.Length < BatchSize * SeqLen)
                throw new ArgumentException($"Token type ids hold {value.Length} values; a [{BatchSize}, {SeqLen}] batch needs {BatchSize * SeqLen}.", nameof(TokenTypeIds));
            _tokenTypeIds = value;
        }
    }
    private readonly int[]? _tokenTypeIds;
    /// <summary>[B] or [B, T] targets; null when only predicting.</summary>
    public int[]? Labels { get; }
    /// <summary>[B] next-sentence labels of a masked LM with a next-sentence head: 0 = the second segment follows the first, 1 = a random one (BERT's convention); null = none.</summary>
    public int[]? NextSentenceLabels { get; init; }
    /// <summary>
    /// Real-valued targets, one per example, null otherwise: [B] for a regression (a one-output
    /// <see cref="TransformerClassifier"/>), [B/2] for a <see cref="BiEncoder"/>'s B/2 pairs. The model checks the count.
    /// </summary>
    public float[]? Targets { get; init; }
    /// <summary>
    /// For an encoder-decoder: the source sequences [B, S] (ids and mask) the encoder reads; this batch is then the
    /// target side (decoder inputs, mask, next-token targets). Null for single-sequence models.
    /// </summary>
    public TokenBatch? Source { get; init; }

    /// <summary>
    /// Sequences of different lengths as one batch [n, longest]: each padded after its tokens with id 0 and mask 0
    /// (what an encoder reads when many sources are encoded together).
    /// </summary>
    /// <param name="sequences">Token ids, one array per sequence, each 1 to <paramref name="maxLength"/> long.</param>
    /// <param name="maxLength">Longest sequence accepted.</param>
    public static TokenBatch Padded(IReadOnlyList<int[]> sequences, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        int n = sequences.Count, s = 0;
        if (n == 0) throw new ArgumentException("There is no sequence to batch.", nameof(sequences));
        for (int i = 0; i < n; i++)
        {
            int len = sequences[i]?.Length ?? 0;
            if (len == 0 || len > maxLength)
                throw new ArgumentOutOfRangeException(nameof(sequences), len, $"Sequence {i} holds {len} tokens; a sequence must hold 1 to {maxLength}.");
            s = Math.Max(s, len);
        }
        var ids = new int[n * s];
        var mask = new int[n * s];
        for (int i = 0; i < n; i++)
        {
            sequences[i].CopyTo(ids, i * s);
            mask.AsSpan(i * s, sequences[i].Length).Fill(1);
        }
        return new TokenBatch(n, s, ids, mask);
    }

    /// <summary>Writes the key-padding flags (true = padded) into <paramref name="padding"/>, or returns null when nothing is padded.</summary>
    internal bool[]? PaddingFlags(ref bool[]? padding)
    {
        if (AttentionMask is null) return null;
        int n = BatchSize * SeqLen;
        if (padding is null || padding.Length < n) padding = new bool[n];
        for (int i = 0; i < n; i++) padding[i] = AttentionMask[i] == 0;
        return padding;
    }
}
