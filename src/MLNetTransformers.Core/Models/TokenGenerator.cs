namespace MLNetTransformers.Core.Models;

/// <summary>
/// Autoregressive generation with a <see cref="TransformerLanguageModel"/>. With the key/value cache each new token
/// costs one position's work; when the context is full the oldest half is dropped and the rest re-read. A prompt
/// longer than the context keeps its last MaxLength − 1 tokens. Not thread-safe (it uses the model's buffers):
/// one generator per model instance.
/// </summary>
public sealed class TokenGenerator
{
    private readonly TransformerLanguageModel _model;
    private readonly KvCache _cache;
    private readonly float[] _logits;
    private readonly TokenSampler _sampler;
    private readonly int[] _one = new int[1];
    private readonly KvCache[] _caches;
    private readonly List<KvCache> _rowCaches = new();
    private readonly InferencePanels _panels;
    private readonly bool _fixedWeights;

    /// <summary>A generator over <paramref name="model"/>.</summary>
    /// <param name="model">The language model to sample from.</param>
    /// <param name="fixedWeights">
    /// True when <paramref name="model"/>'s weights will not change while this generator is used (a copy kept for
    /// serving): its weights are then laid out for decoding once, instead of at the start of every call.
    /// </param>
    public TokenGenerator(TransformerLanguageModel model, bool fixedWeights = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _fixedWeights = fixedWeights;
        _panels = new InferencePanels(model.Decoder, model.Head);
        _cache = model.CreateCache();
        _caches = new[] { _cache };
        int v = model.Config.VocabSize;
        (_logits, _sampler) = (new float[v], new TokenSampler(v));
    }

    /// <summary>Generates after <paramref name="prompt"/>; <paramref name="stop"/> sees the generated tokens after each one and ends generation by returning true.</summary>
    /// <returns>The generated tokens (the prompt excluded).</returns>
    /// <param name="prompt">Token ids to continue.</param>
    /// <param name="options">Sampling settings (null = defaults).</param>
    /// <param name="stop">Token sequences that end generation (not included in the output); null = none.</param>
    public int[] Generate(ReadOnlySpan<int> prompt, GenerationOptions options, Func<IReadOnlyList<int>, bool>? stop = null)
    {
        options.Validate();
        if (prompt.IsEmpty) throw new ArgumentException("The prompt is empty; start it with at least one token (e.g. the separator).", nameof(prompt));
        int max = _model.Config.MaxLength, vocab = _model.Config.VocabSize;
        foreach (int id in prompt)
            if ((uint)id >= (uint)vocab) throw new ArgumentOutOfRangeException(nameof(prompt), id, $"Prompt token {id} is outside the vocabulary [0, {vocab}).");
        var context = new List<int>(prompt.Length > max - 1 ? prompt[^(max - 1)..].ToArray() : prompt.ToArray());
        using var panels = _panels.Attach(repack: !_fixedWeights);
        var generated = new List<int>();
        var rng = DeterministicRandom.Derive(options.Seed, 0x6E6E);
        if (options.UseKvCache) Prefill(context);
        else Recompute(context);
        for (int step = 0; step < options.MaxNewTokens; step++)
        {
            int next = Sample(_logits, context, options, ref rng);
            if (next == options.EndTokenId) break; // end of sequence: not part of the output
            context.Add(next);
            generated.Add(next);
            if (stop?.Invoke(generated) == true || step == options.MaxNewTokens - 1) break;
            if (!options.UseKvCache) { Recompute(context); continue; }
            if (_cache.Length == max)
            {
                // Full: keep the newest half and re-read it (amortised, one long forward every max/2 tokens).
                Prefill(context.GetRange(context.Count - max / 2, max / 2));
                continue;
            }
            _one[0] = next;
            // The step GenerateBatch takes, with one row: the same arithmetic, so each batched output equals this one.
            _model.Head.Forward(_model.Decoder.ForwardStep(_one, 1, _caches), 1).AsSpan(0, vocab).CopyTo(_logits);
        }
        return generated.ToArray();
    }

    /// <summary>
    /// Generates after every prompt together: each prompt is read into its own key/value cache, then every step feeds
    /// the rows still generating as one batch (one matrix product per layer for all of them); a row leaves when it
    /// produces the end token or reaches <see cref="GenerationOptions.MaxNewTokens"/>. Row i draws from the stream the
    /// same seed gives a single <see cref="Generate"/> call, so each output equals generating that prompt alone.
    /// </summary>
    /// <returns>Per prompt, the generated tokens (the prompt excluded).</returns>
    /// <param name="prompts">Token ids to continue, one array per prompt.</param>
    /// <param name="options">Sampling settings.</param>
    public int[][] GenerateBatch(IReadOnlyList<int[]> prompts, GenerationOptions options)
    {
        options.Validate();
        ArgumentNullException.ThrowIfNull(prompts);
        int max = _model.Config.MaxLength, vocab = _model.Config.VocabSize, n = prompts.Count;
        var contexts = new List<int>[n];
        var caches = new KvCache[n];
        var rngs = new DeterministicRandom[n];
        var logits = new float[n * vocab];
        using var panels = _panels.Attach(repack: !_fixedWeights);
        for (int i = 0; i < n; i++)
        {
            var prompt = prompts[i] ?? throw new ArgumentNullException(nameof(prompts), $"Prompt {i} is null.");
            if (prompt.Length == 0) throw new ArgumentException($"Prompt {i} is empty; start it with at least one token (e.g. the separator).", nameof(prompts));
            foreach (int id in prompt)
                if ((uint)id >= (uint)vocab) throw new ArgumentOutOfRangeException(nameof(prompts), id, $"Prompt {i}: token {id} is outside the vocabulary [0, {vocab}).");
            contexts[i] = new List<int>(prompt.Length > max - 1 ? prompt[^(max - 1)..] : prompt);
            if (i == _rowCaches.Count) _rowCaches.Add(_model.CreateCache()); // kept across calls: a cache is MaxLength positions of every layer
            (caches[i] = _rowCaches[i]).Clear();
            rngs[i] = DeterministicRandom.Derive(options.Seed, 0x6E6E);
        }
        // The prompts are read together: each row is computed as when its prompt is read alone.
        if (n > 0)
            _model.ForwardIncrementalLast(contexts.SelectMany(c => c).ToArray(), contexts.Select(c => c.Count).ToArray(), caches).AsSpan(0, n * vocab).CopyTo(logits);
        var generated = Enumerable.Range(0, n).Select(_ => new List<int>()).ToArray();
        // Row i's next logits: row rowOf[i] of the last step's output, or (-1) its row of `logits` after a prompt read.
        var rowOf = new int[n];
        Array.Fill(rowOf, -1);
        float[] stepLogits = Array.Empty<float>();
        var live = new List<int>(n);
        for (int i = 0; i < n; i++) live.Add(i);
        var stepping = new List<int>(n);
        var stepIds = new int[n];
        var stepCaches = new KvCache[n];
        for (int step = 0; step < options.MaxNewTokens && live.Count > 0; step++)
        {
            int kept = 0;
            for (int l = 0; l < live.Count; l++)
            {
                int i = live[l];
                var row = rowOf[i] < 0 ? logits.AsSpan(i * vocab, vocab) : stepLogits.AsSpan(rowOf[i] * vocab, vocab);
                int token = Sample(row, contexts[i], options, ref rngs[i]);
                if (token == options.EndTokenId) continue; // end of sequence: not part of the output, and the row leaves
                contexts[i].Add(token);
                generated[i].Add(token);
                if (step < options.MaxNewTokens - 1) live[kept++] = i;
            }
            live.RemoveRange(kept, live.Count - kept);
            if (live.Count == 0) break;
            // A full cache keeps its newest half, re-read alone (as Generate does); the others step together.
            stepping.Clear();
            foreach (int i in live)
            {
                if (caches[i].Length < max)
                {
                    (stepIds[stepping.Count], stepCaches[stepping.Count]) = (contexts[i][^1], caches[i]);
                    stepping.Add(i);
                    continue;
                }
                var window = contexts[i].GetRange(contexts[i].Count - max / 2, max / 2).ToArray();
                caches[i].Clear();
                _model.ForwardIncrementalLast(window, new[] { window.Length }, new[] { caches[i] }).AsSpan(0, vocab).CopyTo(logits.AsSpan(i * vocab, vocab));
                rowOf[i] = -1;
            }
            if (stepping.Count == 0) continue;
            int rows = stepping.Count;
            stepLogits = _model.Head.Forward(_model.Decoder.ForwardStep(stepIds, rows, new ArraySegment<KvCache>(stepCaches, 0, rows)), rows);
            for (int r = 0; r < rows; r++) rowOf[stepping[r]] = r;
        }
        return generated.Select(g => g.ToArray()).ToArray();
    }

    private void Prefill(List<int> tokens)
    {
        _cache.Clear();
        var ids = tokens.ToArray();
        int n = ids.Length, v = _model.Config.VocabSize;
        _model.ForwardIncrementalLast(ids, new[] { n }, _caches).AsSpan(0, v).CopyTo(_logits);
    }

    private void Recompute(List<int> context)
    {
        int max = _model.Config.MaxLength, v = _model.Config.VocabSize;
        var window = context.Count > max ? context.GetRange(context.Count - max, max).ToArray() : context.ToArray();
        int n = window.Length;
        _model.Forward(new TokenBatch(1, n, window)).AsSpan((n - 1) * v, v).CopyTo(_logits);
    }

    // logits (one row of the vocabulary) are changed in place.
    private int Sample(Span<float> logits, List<int> context, GenerationOptions o, ref DeterministicRandom rng)
    {
        if (o.RepetitionPenalty != 1f)
            foreach (int t in new HashSet<int>(context))
                logits[t] = logits[t] > 0 ? logits[t] / o.RepetitionPenalty : logits[t] * o.RepetitionPenalty;
        return _sampler.Sample(logits, o.Temperature, o.TopK, o.TopP, ref rng);
    }
}
