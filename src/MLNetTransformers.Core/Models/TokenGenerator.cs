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

    /// <summary>A generator over <paramref name="model"/>.</summary>
    /// <param name="model">The language model to sample from.</param>
    public TokenGenerator(TransformerLanguageModel model)
    {
        _model = model;
        _cache = model.CreateCache();
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
        var generated = new List<int>();
        var rng = DeterministicRandom.Derive(options.Seed, 0x6E6E);
        if (options.UseKvCache) Prefill(context);
        else Recompute(context);
        for (int step = 0; step < options.MaxNewTokens; step++)
        {
            int next = Sample(context, options, ref rng);
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
            _model.ForwardIncremental(_one, 1, _cache).AsSpan(0, vocab).CopyTo(_logits);
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
        for (int i = 0; i < n; i++)
        {
            var prompt = prompts[i] ?? throw new ArgumentNullException(nameof(prompts), $"Prompt {i} is null.");
            if (prompt.Length == 0) throw new ArgumentException($"Prompt {i} is empty; start it with at least one token (e.g. the separator).", nameof(prompts));
            foreach (int id in prompt)
                if ((uint)id >= (uint)vocab) throw new ArgumentOutOfRangeException(nameof(prompts), id, $"Prompt {i}: token {id} is outside the vocabulary [0, {vocab}).");
            contexts[i] = new List<int>(prompt.Length > max - 1 ? prompt[^(max - 1)..] : prompt);
            caches[i] = _model.CreateCache();
            rngs[i] = DeterministicRandom.Derive(options.Seed, 0x6E6E);
            var ids = contexts[i].ToArray();
            _model.ForwardIncremental(ids, ids.Length, caches[i]).AsSpan((ids.Length - 1) * vocab, vocab).CopyTo(logits.AsSpan(i * vocab, vocab));
        }
        var generated = Enumerable.Range(0, n).Select(_ => new List<int>()).ToArray();
        var live = Enumerable.Range(0, n).ToList();
        for (int step = 0; step < options.MaxNewTokens && live.Count > 0; step++)
        {
            var next = new List<int>(live.Count);
            foreach (int i in live)
            {
                logits.AsSpan(i * vocab, vocab).CopyTo(_logits);
                int token = Sample(contexts[i], options, ref rngs[i]);
                if (token == options.EndTokenId) continue; // end of sequence: not part of the output, and the row leaves
                contexts[i].Add(token);
                generated[i].Add(token);
                if (step < options.MaxNewTokens - 1) next.Add(i);
            }
            live = next;
            if (live.Count == 0) break;
            // A full cache keeps its newest half, re-read alone (as Generate does); the others step together.
            var stepping = new List<int>(live.Count);
            foreach (int i in live)
            {
                if (caches[i].Length < max) { stepping.Add(i); continue; }
                var window = contexts[i].GetRange(contexts[i].Count - max / 2, max / 2).ToArray();
                caches[i].Clear();
                _model.ForwardIncremental(window, window.Length, caches[i]).AsSpan((window.Length - 1) * vocab, vocab).CopyTo(logits.AsSpan(i * vocab, vocab));
            }
            if (stepping.Count == 0) continue;
            var ids2 = stepping.Select(i => contexts[i][^1]).ToArray();
            var rowsLogits = _model.Head.Forward(_model.Decoder.ForwardStep(ids2, stepping.Count, stepping.Select(i => caches[i]).ToArray()), stepping.Count);
            for (int r = 0; r < stepping.Count; r++) rowsLogits.AsSpan(r * vocab, vocab).CopyTo(logits.AsSpan(stepping[r] * vocab, vocab));
        }
        return generated.Select(g => g.ToArray()).ToArray();
    }

    private void Prefill(List<int> tokens)
    {
        _cache.Clear();
        var ids = tokens.ToArray();
        int n = ids.Length, v = _model.Config.VocabSize;
        _model.ForwardIncremental(ids, n, _cache).AsSpan((n - 1) * v, v).CopyTo(_logits);
    }

    private void Recompute(List<int> context)
    {
        int max = _model.Config.MaxLength, v = _model.Config.VocabSize;
        var window = context.Count > max ? context.GetRange(context.Count - max, max).ToArray() : context.ToArray();
        int n = window.Length;
        _model.Forward(new TokenBatch(1, n, window)).AsSpan((n - 1) * v, v).CopyTo(_logits);
    }

    private int Sample(List<int> context, GenerationOptions o, ref DeterministicRandom rng)
    {
        var logits = _logits.AsSpan();
        if (o.RepetitionPenalty != 1f)
            foreach (int t in new HashSet<int>(context))
                logits[t] = logits[t] > 0 ? logits[t] / o.RepetitionPenalty : logits[t] * o.RepetitionPenalty;
        return _sampler.Sample(logits, o.Temperature, o.TopK, o.TopP, ref rng);
    }
}
