namespace MLNetTransformers.Core.Models;

/// <summary>One output of <see cref="Seq2SeqDecoder.BeamSearch"/>.</summary>
/// <param name="Tokens">The generated ids, without the start and end tokens.</param>
/// <param name="LogProbability">Sum of the tokens' log-probabilities (the end token's included when it was produced).</param>
/// <param name="Score">The length-normalised score the hypotheses were ranked by.</param>
public sealed record Seq2SeqHypothesis(int[] Tokens, double LogProbability, double Score);

/// <summary>
/// Decodes a <see cref="TransformerSeq2Seq"/> incrementally: the source is encoded once and its cross-attention keys
/// and values projected once, the decoder keeps its self-attention keys and values in a <see cref="KvCache"/> and runs
/// one new token per step. Greedy decoding and
/// beam search (GNMT length penalty, n-best). One sequence at a time.
/// </summary>
public sealed class Seq2SeqDecoder
{
    private readonly TransformerSeq2Seq _model;

    /// <summary>Decodes with <paramref name="model"/> (not changed; use one decoder per thread).</summary>
    /// <param name="model">The encoder-decoder.</param>
    public Seq2SeqDecoder(TransformerSeq2Seq model) => _model = model ?? throw new ArgumentNullException(nameof(model));

    /// <summary>The likeliest next token at each step until <paramref name="endId"/> or <paramref name="maxLength"/> tokens.</summary>
    /// <param name="sourceIds">Source token ids (no padding).</param>
    /// <param name="startId">The token the decoder starts from.</param>
    /// <param name="endId">The token that ends the output (not included).</param>
    /// <param name="maxLength">Output tokens at most (below the model's MaxLength).</param>
    public int[] Greedy(ReadOnlySpan<int> sourceIds, int startId, int endId, int maxLength) =>
        BeamSearch(sourceIds, startId, endId, maxLength, beamWidth: 1, lengthPenalty: 0f)[0].Tokens;

    /// <summary>
    /// Beam search: keeps the <paramref name="beamWidth"/> likeliest prefixes at each step; a prefix that produces
    /// <paramref name="endId"/> is finished; stops when <paramref name="beamWidth"/> hypotheses are finished, or after
    /// <paramref name="maxLength"/> tokens. Finished hypotheses are ranked by log P / lp with GNMT's length penalty
    /// lp = ((5 + |Y|) / 6)^α; width 1 is greedy decoding.
    /// </summary>
    /// <param name="sourceIds">Source token ids (no padding).</param>
    /// <param name="startId">The token the decoder starts from.</param>
    /// <param name="endId">The token that ends a hypothesis (not included in its tokens).</param>
    /// <param name="maxLength">Output tokens at most (below the model's MaxLength).</param>
    /// <param name="beamWidth">Hypotheses kept per step (1 = greedy).</param>
    /// <param name="lengthPenalty">α of the length penalty (0 = rank by log-probability alone).</param>
    /// <param name="nBest">Hypotheses returned, best first (at most <paramref name="beamWidth"/>).</param>
    public IReadOnlyList<Seq2SeqHypothesis> BeamSearch(ReadOnlySpan<int> sourceIds, int startId, int endId, int maxLength, int beamWidth = 4,
        float lengthPenalty = 0.6f, int nBest = 1)
    {
        var config = _model.Config;
        if (sourceIds.Length == 0 || sourceIds.Length > config.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(sourceIds), sourceIds.Length, $"The source must hold 1 to {config.MaxLength} tokens.");
        if (beamWidth < 1) throw new ArgumentOutOfRangeException(nameof(beamWidth), beamWidth, "The beam width must be at least 1.");
        if (!(lengthPenalty >= 0f)) throw new ArgumentOutOfRangeException(nameof(lengthPenalty), lengthPenalty, "The length penalty must be non-negative.");
        maxLength = Math.Clamp(maxLength, 1, config.MaxLength - 1);
        int s = sourceIds.Length, v = config.VocabSize;
        var memory = _model.Encode(new TokenBatch(1, s, sourceIds.ToArray())).AsSpan(0, s * config.ModelDim).ToArray();
        var crossKeysValues = _model.Decoder.ProjectMemory(memory, s); // once per source, shared by every hypothesis

        var live = new List<(List<int> Tokens, double LogP, KvCache Cache, int Last)> { (new List<int>(), 0, new KvCache(config), startId) };
        var finished = new List<Seq2SeqHypothesis>();
        double Score(int length, double logP) => lengthPenalty == 0f ? logP : logP / Math.Pow((5.0 + length) / 6.0, lengthPenalty);
        var ids = new int[1];
        var logProbs = new float[v];
        for (int step = 0; step < maxLength && live.Count > 0 && finished.Count < beamWidth; step++)
        {
            var candidates = new List<(int Parent, int Token, double LogP)>();
            for (int h = 0; h < live.Count; h++)
            {
                ids[0] = live[h].Last;
                var hidden = _model.Decoder.ForwardIncremental(ids, 1, live[h].Cache, memory, s, crossKeysValues: crossKeysValues);
                var logits = _model.Head.Forward(hidden, 1);
                LogSoftmax(logits.AsSpan(0, v), logProbs);
                foreach (int t in TopK(logProbs, beamWidth)) candidates.Add((h, t, live[h].LogP + logProbs[t]));
            }
            // Best candidates first; equal scores keep the earlier parent and the lower token (deterministic).
            candidates.Sort((a, b) => b.LogP.CompareTo(a.LogP) is var c && c != 0 ? c : a.Parent != b.Parent ? a.Parent.CompareTo(b.Parent) : a.Token.CompareTo(b.Token));
            var next = new List<(List<int>, double, KvCache, int)>();
            var used = new bool[live.Count];
            foreach (var (parent, token, logP) in candidates)
            {
                if (next.Count + finished.Count >= beamWidth) break;
                var tokens = live[parent].Tokens;
                if (token == endId) { finished.Add(new Seq2SeqHypothesis(tokens.ToArray(), logP, Score(tokens.Count + 1, logP))); continue; }
                KvCache cache;
                if (!used[parent]) { cache = live[parent].Cache; used[parent] = true; } // the first child takes the parent's cache
                else { cache = new KvCache(config); cache.CopyFrom(live[parent].Cache); }
                next.Add((new List<int>(tokens) { token }, logP, cache, token));
            }
            live = next; // every copy above was taken before any child decodes, so a parent's cache is still its own prefix
        }
        // Unfinished hypotheses compete when too few finished.
        foreach (var (tokens, logP, _, _) in live) finished.Add(new Seq2SeqHypothesis(tokens.ToArray(), logP, Score(tokens.Count, logP)));
        return finished.OrderByDescending(h => h.Score).Take(Math.Clamp(nBest, 1, beamWidth)).ToArray();
    }

    private static void LogSoftmax(ReadOnlySpan<float> logits, Span<float> result)
    {
        float max = System.Numerics.Tensors.TensorPrimitives.Max(logits);
        double sum = 0;
        for (int i = 0; i < logits.Length; i++) sum += Math.Exp(logits[i] - max);
        float log = max + (float)Math.Log(sum);
        for (int i = 0; i < logits.Length; i++) result[i] = logits[i] - log;
    }

    // The k largest entries' indices, largest first (ties: lower index first): k passes over the vocabulary instead
    // of sorting all of it for every hypothesis at every step (k is the beam width, small).
    private static int[] TopK(float[] values, int k)
    {
        k = Math.Min(k, values.Length);
        var top = new int[k];
        for (int j = 0; j < k; j++)
        {
            int best = -1;
            for (int i = 0; i < values.Length; i++)
                if ((best < 0 || values[i] > values[best]) && Array.IndexOf(top, i, 0, j) < 0) best = i;
            top[j] = best;
        }
        return top;
    }
}
