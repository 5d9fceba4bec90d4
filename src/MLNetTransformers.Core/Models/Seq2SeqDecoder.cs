namespace MLNetTransformers.Core.Models;

/// <summary>One output of <see cref="Seq2SeqDecoder"/>.</summary>
/// <param name="Tokens">The generated ids, without the start and end tokens.</param>
/// <param name="LogProbability">Sum of the tokens' log-probabilities (the end token's included when it was produced).</param>
/// <param name="Score">The length-normalised score the hypotheses were ranked by.</param>
public sealed record Seq2SeqHypothesis(int[] Tokens, double LogProbability, double Score);

/// <summary>
/// Greedy search, beam search (GNMT length penalty, n-best) and sampling (temperature, top-k, top-p, seed) for an
/// encoder-decoder, over an <see cref="IIncrementalDecoder"/>: the managed engine or ONNX Runtime sessions. Many sources
/// decode together: every live hypothesis of every source is one row of each step's matrix products, and a source whose
/// search has ended leaves the batch. Not thread-safe: one decoder per thread.
/// </summary>
public sealed class Seq2SeqDecoder
{
    private readonly IIncrementalDecoder _decoder;
    private readonly TokenSampler _sampler;
    private readonly float[] _logProbs, _exp;

    /// <summary>Decodes with the managed engine (<paramref name="model"/> is not changed; use one decoder per thread).</summary>
    /// <param name="model">The encoder-decoder.</param>
    public Seq2SeqDecoder(ISeq2SeqModel model) : this((model ?? throw new ArgumentNullException(nameof(model))).CreateIncrementalDecoder()) { }

    /// <summary>Decodes with any incremental decoder (for example an exported model run by ONNX Runtime).</summary>
    /// <param name="decoder">Encodes sources and advances hypotheses one token at a time.</param>
    public Seq2SeqDecoder(IIncrementalDecoder decoder)
    {
        _decoder = decoder ?? throw new ArgumentNullException(nameof(decoder));
        _sampler = new TokenSampler(decoder.VocabSize);
        (_logProbs, _exp) = (new float[decoder.VocabSize], new float[decoder.VocabSize]);
    }

    /// <summary>The likeliest next token at each step until <paramref name="endId"/> or <paramref name="maxLength"/> tokens.</summary>
    /// <param name="sourceIds">Source token ids (no padding).</param>
    /// <param name="startId">The token the decoder starts from.</param>
    /// <param name="endId">The token that ends the output (not included).</param>
    /// <param name="maxLength">Output tokens at most (below the model's MaxLength).</param>
    public int[] Greedy(ReadOnlySpan<int> sourceIds, int startId, int endId, int maxLength) =>
        BeamSearch(sourceIds, startId, endId, maxLength, beamWidth: 1, lengthPenalty: 0f)[0].Tokens;

    /// <summary>Beam search of one source with a fixed output limit (see <see cref="Decode"/>); width 1 is greedy decoding.</summary>
    /// <param name="sourceIds">Source token ids (no padding).</param>
    /// <param name="startId">The token the decoder starts from.</param>
    /// <param name="endId">The token that ends a hypothesis (not included in its tokens).</param>
    /// <param name="maxLength">Output tokens at most (below the model's MaxLength).</param>
    /// <param name="beamWidth">Hypotheses kept per step (1 = greedy).</param>
    /// <param name="lengthPenalty">α of the length penalty (0 = rank by log-probability alone).</param>
    /// <param name="nBest">Hypotheses returned, best first (at most <paramref name="beamWidth"/>).</param>
    public IReadOnlyList<Seq2SeqHypothesis> BeamSearch(ReadOnlySpan<int> sourceIds, int startId, int endId, int maxLength, int beamWidth = 4,
        float lengthPenalty = 0.6f, int nBest = 1) =>
        Decode(new[] { sourceIds.ToArray() }, startId, endId, new Seq2SeqDecodingOptions
        {
            BeamWidth = beamWidth, LengthPenalty = lengthPenalty, NBest = Math.Clamp(nBest, 1, Math.Max(1, beamWidth)),
            MaxLengthRatio = 0f, MaxLengthOffset = Math.Max(1, maxLength),
        })[0];

    /// <summary>
    /// Decodes every source, <see cref="Seq2SeqDecodingOptions.BatchSize"/> at a time. Beam search keeps the
    /// <see cref="Seq2SeqDecodingOptions.BeamWidth"/> likeliest prefixes per source at each step; a prefix that produces
    /// <paramref name="endId"/> is finished; a source's search stops when that many are finished or after its
    /// <see cref="Seq2SeqDecodingOptions.MaxOutputTokens"/> tokens. Finished hypotheses are ranked by log P / lp with
    /// GNMT's length penalty lp = ((5 + |Y|) / 6)^α (unfinished ones compete when too few finished). Width 1 is greedy
    /// search; with <see cref="Seq2SeqDecodingOptions.Sample"/> each token is drawn instead.
    /// </summary>
    /// <param name="sources">Source token ids, one array per source (no padding).</param>
    /// <param name="startId">The token the decoder starts from.</param>
    /// <param name="endId">The token that ends a hypothesis (not included in its tokens).</param>
    /// <param name="options">Search settings (null = beam 4, α 0.6, one output per source).</param>
    /// <returns>For each source, its best hypotheses, best first.</returns>
    public IReadOnlyList<Seq2SeqHypothesis>[] Decode(IReadOnlyList<int[]> sources, int startId, int endId, Seq2SeqDecodingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(sources);
        var o = (options ?? new Seq2SeqDecodingOptions()).Validate();
        int v = _decoder.VocabSize;
        if ((uint)startId >= (uint)v) throw new ArgumentOutOfRangeException(nameof(startId), startId, $"The start token is outside the vocabulary [0, {v}).");
        for (int i = 0; i < sources.Count; i++)
            if (sources[i] is null || sources[i].Length == 0 || sources[i].Length > _decoder.MaxSourceLength)
                throw new ArgumentOutOfRangeException(nameof(sources), sources[i]?.Length ?? 0, $"Source {i} holds {sources[i]?.Length ?? 0} tokens; a source must hold 1 to {_decoder.MaxSourceLength}.");
        var results = new IReadOnlyList<Seq2SeqHypothesis>[sources.Count];
        for (int start = 0; start < sources.Count; start += o.BatchSize)
        {
            int n = Math.Min(o.BatchSize, sources.Count - start);
            var chunk = new int[n][];
            for (int i = 0; i < n; i++) chunk[i] = sources[start + i];
            DecodeBatch(chunk, start, startId, endId, o, results);
        }
        return results;
    }

    private sealed class Live(List<int> tokens, double logP, int row)
    {
        public List<int> Tokens = tokens;
        public double LogP = logP;
        public int Row = row;
    }

    private sealed class Search(int maxTokens, DeterministicRandom rng)
    {
        public List<Live> Live = new();
        public readonly List<Seq2SeqHypothesis> Finished = new();
        public readonly int MaxTokens = maxTokens;
        public DeterministicRandom Rng = rng;
        public bool Done;
    }

    private void DecodeBatch(int[][] sources, int offset, int startId, int endId, Seq2SeqDecodingOptions o, IReadOnlyList<Seq2SeqHypothesis>[] results)
    {
        int n = sources.Length, v = _decoder.VocabSize, beam = o.BeamWidth;
        _decoder.Encode(sources);
        var searches = new Search[n];
        var parents = new List<int>(n * beam);
        var tokens = new List<int>(n * beam);
        for (int i = 0; i < n; i++)
        {
            searches[i] = new Search(o.MaxOutputTokens(sources[i].Length, _decoder.MaxLength), DeterministicRandom.Derive(o.Seed, (ulong)(offset + i)));
            searches[i].Live.Add(new Live(new List<int>(), 0, parents.Count));
            parents.Add(i);
            tokens.Add(startId);
        }
        double Score(int length, double logP) => o.LengthPenalty == 0f ? logP : logP / Math.Pow((5.0 + length) / 6.0, o.LengthPenalty);
        var candidates = new List<(int Parent, int Token, double LogP)>();
        for (int step = 0; parents.Count > 0; step++)
        {
            var logits = _decoder.Advance(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(parents), System.Runtime.InteropServices.CollectionsMarshal.AsSpan(tokens));
            parents.Clear();
            tokens.Clear();
            foreach (var s in searches)
            {
                if (s.Done) continue;
                candidates.Clear();
                for (int h = 0; h < s.Live.Count; h++)
                {
                    var row = logits.AsSpan(s.Live[h].Row * v, v);
                    LogSoftmax(row, _logProbs);
                    if (o.Sample)
                    {
                        int t = _sampler.Sample(row, o.Temperature, o.TopK, o.TopP, ref s.Rng);
                        candidates.Add((h, t, s.Live[h].LogP + _logProbs[t]));
                    }
                    else
                        foreach (int t in TopK(_logProbs, beam)) candidates.Add((h, t, s.Live[h].LogP + _logProbs[t]));
                }
                // Best candidates first; equal scores keep the earlier parent and the lower token (deterministic).
                candidates.Sort((a, b) => b.LogP.CompareTo(a.LogP) is var c && c != 0 ? c : a.Parent != b.Parent ? a.Parent.CompareTo(b.Parent) : a.Token.CompareTo(b.Token));
                var next = new List<Live>(beam);
                foreach (var (parent, token, logP) in candidates)
                {
                    if (next.Count + s.Finished.Count >= beam) break;
                    var prefix = s.Live[parent].Tokens;
                    if (token == endId) { s.Finished.Add(new Seq2SeqHypothesis(prefix.ToArray(), logP, Score(prefix.Count + 1, logP))); continue; }
                    next.Add(new Live(new List<int>(prefix) { token }, logP, s.Live[parent].Row));
                }
                s.Live = next;
                if (step + 1 >= s.MaxTokens || next.Count == 0 || s.Finished.Count >= beam)
                {
                    s.Done = true; // unfinished hypotheses compete when too few finished
                    foreach (var h in next) s.Finished.Add(new Seq2SeqHypothesis(h.Tokens.ToArray(), h.LogP, Score(h.Tokens.Count, h.LogP)));
                    continue;
                }
                foreach (var h in next)
                {
                    parents.Add(h.Row); // the row it continues; its own row in the next step:
                    tokens.Add(h.Tokens[^1]);
                    h.Row = parents.Count - 1;
                }
            }
        }
        for (int i = 0; i < n; i++)
            results[offset + i] = searches[i].Finished.OrderByDescending(h => h.Score).Take(Math.Min(o.NBest, beam)).ToArray();
    }

    private void LogSoftmax(ReadOnlySpan<float> logits, Span<float> result)
    {
        float max = TensorPrimitives.Max(logits);
        var exp = _exp.AsSpan(0, logits.Length);
        TensorPrimitives.Subtract(logits, max, result);
        TensorPrimitives.Exp(result, exp);
        TensorPrimitives.Subtract(result, MathF.Log(TensorPrimitives.Sum(exp)), result);
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
