namespace MLNetTransformers.Core.Models;

/// <summary>
/// Picks a token from next-token logits: greedy at temperature 0, otherwise a draw from softmax(logits / T),
/// optionally among the k likeliest (top-k) or the smallest set reaching probability p (top-p, nucleus). Shared by
/// the language model's <see cref="TokenGenerator"/> and the encoder-decoder's <see cref="Seq2SeqDecoder"/>.
/// </summary>
internal sealed class TokenSampler(int vocab)
{
    private readonly float[] _probs = new float[vocab];
    private readonly int[] _order = new int[vocab];

    /// <summary>A token id; <paramref name="logits"/> (one row of the vocabulary) is scaled in place.</summary>
    public int Sample(Span<float> logits, float temperature, int topK, float topP, ref DeterministicRandom rng)
    {
        if (temperature == 0f) return TensorPrimitives.IndexOfMax(logits);
        TensorPrimitives.Multiply(logits, 1f / temperature, logits);
        var probs = _probs.AsSpan(0, logits.Length);
        Softmax.Forward(logits, probs, 1, logits.Length);
        int v = probs.Length, keep = v;
        if (topK > 0 || topP < 1f)
        {
            for (int i = 0; i < v; i++) _order[i] = i;
            var p = _probs;
            Array.Sort(_order, 0, v, Comparer<int>.Create((a, b) => p[b].CompareTo(p[a]) is var c && c != 0 ? c : a.CompareTo(b)));
            if (topK > 0) keep = Math.Min(keep, topK);
            if (topP < 1f)
            {
                double cum = 0;
                for (int i = 0; i < keep; i++)
                {
                    cum += p[_order[i]];
                    if (cum >= topP) { keep = i + 1; break; }
                }
            }
            double total = 0;
            for (int i = 0; i < keep; i++) total += p[_order[i]];
            double r = rng.NextFloat() * total;
            for (int i = 0; i < keep; i++)
            {
                r -= p[_order[i]];
                if (r <= 0) return _order[i];
            }
            return _order[keep - 1];
        }
        double u = rng.NextFloat();
        for (int i = 0; i < v; i++)
        {
            u -= probs[i];
            if (u <= 0) return i;
        }
        return TensorPrimitives.IndexOfMax(probs);
    }
}
