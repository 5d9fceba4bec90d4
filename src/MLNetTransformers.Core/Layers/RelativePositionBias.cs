namespace MLNetTransformers.Core.Layers;

/// <summary>
/// A learned bias on self-attention scores by relative position (T5's buckets, as MPNet's encoder uses them): the score of
/// query i for key j gains <c>weight[bucket(j − i), h]</c> in head h, after the scale and before the softmax. Buckets:
/// half for keys before the query, half for keys after; within each half, offsets below a quarter of the buckets get one
/// each, longer ones share buckets on a log scale up to <see cref="MaxDistance"/>, beyond which all share the last. One
/// table serves every layer of a stack (MPNet's <c>encoder.relative_attention_bias</c>), so its gradient adds up over them.
/// </summary>
public sealed class RelativePositionBias
{
    private float[]? _offsets;
    private int[]? _buckets; // bucket of each offset of the last Offsets' bound
    private int _bound = -1;

    /// <summary>Declares <c>{prefix}weight</c> [buckets, heads].</summary>
    /// <param name="parameters">The parameter set the table is declared in (and allocated by its owner).</param>
    /// <param name="prefix">Prefix of the parameter name.</param>
    /// <param name="buckets">Buckets (MPNet's <c>relative_attention_num_buckets</c>, 32); even, at least 4.</param>
    /// <param name="heads">Attention heads.</param>
    public RelativePositionBias(ParameterSet parameters, string prefix, int buckets, int heads)
    {
        if (buckets < 4 || buckets % 2 != 0) throw new ArgumentOutOfRangeException(nameof(buckets), buckets, "Relative position buckets must be even and at least 4.");
        (Buckets, Heads) = (buckets, heads);
        Weight = parameters.Add(prefix + "weight", new[] { buckets, heads }, Init.Normal(0.02f), decay: false);
    }

    /// <summary>Offsets from this far on share the last bucket of their side (T5's and MPNet's 128).</summary>
    public const int MaxDistance = 128;

    /// <summary>Buckets per head.</summary>
    public int Buckets { get; }
    /// <summary>Heads.</summary>
    public int Heads { get; }
    /// <summary>The table [buckets, heads].</summary>
    public ParameterTensor Weight { get; }

    /// <summary>The bucket of a key <paramref name="relative"/> = j − i positions from its query (MPNet's <c>relative_position_bucket</c>).</summary>
    /// <param name="relative">Key position minus query position.</param>
    /// <param name="buckets">Buckets in all.</param>
    public static int Bucket(int relative, int buckets)
    {
        int half = buckets / 2, exact = half / 2;
        int n = -relative;
        int bucket = n < 0 ? half : 0;
        n = Math.Abs(n);
        if (n < exact) return bucket + n;
        // As PyTorch computes it: log(n / exact) / log(max / exact) · (half − exact), truncated (equal at every offset in ±700).
        int large = exact + (int)(Math.Log(n / (double)exact) / Math.Log(MaxDistance / (double)exact) * (half - exact));
        return bucket + Math.Min(large, half - 1);
    }

    /// <summary>
    /// The bias of every offset for sequences of at most <paramref name="bound"/> tokens, [heads, 2·bound − 1]: offset
    /// j − i of head h at <c>h·(2·bound − 1) + bound − 1 + j − i</c>, so that query i's row of biases for keys 0.. is one
    /// contiguous slice. Made once per forward (the table changes between steps).
    /// </summary>
    /// <param name="bound">Longest sequence in the batch.</param>
    internal float[] Offsets(int bound)
    {
        int width = 2 * bound - 1;
        var offsets = Workspace.Ensure(ref _offsets, Heads * width);
        var buckets = Workspace.Ensure(ref _buckets, width);
        if (bound != _bound)
            for (int r = 0; r < width; r++) buckets[r] = Bucket(r - (bound - 1), Buckets);
        var table = Weight.Value;
        for (int r = 0; r < width; r++)
        {
            int row = buckets[r] * Heads;
            for (int h = 0; h < Heads; h++) offsets[h * width + r] = table[row + h];
        }
        _bound = bound;
        return offsets;
    }

    /// <summary>Bound of the last <see cref="Offsets"/>.</summary>
    internal int Bound => _bound;

    /// <summary>
    /// Adds the gradient of the offsets' biases, [pieces, 2·bound − 1] with piece p in head p mod heads (one attention
    /// backward's per (sequence, head) sums), into the table's gradient by bucket.
    /// </summary>
    /// <param name="offsetGrads">Gradients per piece and offset.</param>
    /// <param name="pieces">Sequences × heads.</param>
    /// <param name="bound">The bound the offsets were made for.</param>
    internal void AddGradient(ReadOnlySpan<float> offsetGrads, int pieces, int bound)
    {
        if (bound != _bound) throw new InvalidOperationException($"The offsets' gradient is for sequences of up to {bound}; the last forward's bound was {_bound}.");
        int width = 2 * bound - 1;
        var grad = Weight.Grad;
        var buckets = _buckets!;
        for (int p = 0; p < pieces; p++)
        {
            int h = p % Heads;
            var row = offsetGrads.Slice(p * width, width);
            for (int r = 0; r < width; r++) grad[buckets[r] * Heads + h] += row[r];
        }
    }
}
