using System.Text.Json;

namespace MLNetTransformers.Interpretability;

/// <summary>
/// One attention matrix of one input: row i holds how much query position i attends to each key position (each row
/// sums to 1 over the keys it may see). For a transformer, one map per layer and head; for an encoder-decoder's
/// cross-attention or an RNN decoder's attention, rows are the output tokens (each row is the attention used to
/// predict that token) and columns the source tokens, as in Bahdanau et al.'s alignment figure.
/// </summary>
/// <param name="Title">What the map is, e.g. "layer 1, head 2, self-attention".</param>
/// <param name="QueryTokens">Row labels.</param>
/// <param name="KeyTokens">Column labels.</param>
/// <param name="Weights">The weights, [rows, columns] row-major.</param>
public sealed record AttentionMap(string Title, IReadOnlyList<string> QueryTokens, IReadOnlyList<string> KeyTokens, float[] Weights)
{
    /// <summary>Query positions.</summary>
    public int Rows => QueryTokens.Count;
    /// <summary>Key positions.</summary>
    public int Columns => KeyTokens.Count;

    /// <summary>The weight of query <paramref name="query"/> on key <paramref name="key"/>.</summary>
    /// <param name="query">Row.</param>
    /// <param name="key">Column.</param>
    public float Weight(int query, int key) => Weights[query * Columns + key];

    /// <summary>Maps as a JSON array of {title, query_tokens, key_tokens, weights (nested rows)}.</summary>
    /// <param name="maps">The maps to write.</param>
    public static string ToJson(IEnumerable<AttentionMap> maps) => JsonSerializer.Serialize(maps.Select(m => new
    {
        title = m.Title, query_tokens = m.QueryTokens, key_tokens = m.KeyTokens,
        weights = Enumerable.Range(0, m.Rows).Select(r => m.Weights.AsSpan(r * m.Columns, m.Columns).ToArray()).ToArray(),
    }));

    /// <summary>One map per head of each layer from weights [1, H, Tq, Tk] laid out as MultiHeadAttention.Weights gives them.</summary>
    internal static IEnumerable<AttentionMap> PerHead(string what, int layer, ReadOnlySpan<float> weights, int heads, IReadOnlyList<string> queries, IReadOnlyList<string> keys)
    {
        int tq = queries.Count, tk = keys.Count;
        var maps = new List<AttentionMap>(heads);
        for (int h = 0; h < heads; h++)
            maps.Add(new AttentionMap($"layer {layer + 1}, head {h + 1}, {what}", queries, keys, weights.Slice(h * tq * tk, tq * tk).ToArray()));
        return maps;
    }
}
