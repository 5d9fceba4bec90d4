namespace MLNetTransformers.Core.Layers;

/// <summary>
/// ALiBi (Press et al., "Train Short, Test Long: Attention with Linear Biases"), as bidirectional encoders use it
/// (JinaBERT, MosaicBERT): no position embeddings; instead the score of query i for key j gains −m_h·|i − j| in head h,
/// after the scale and before the softmax. The slopes m_h are fixed (a geometric sequence), so nothing here trains. One
/// instance serves every layer of a stack.
/// </summary>
public sealed class AttentionLinearBiases
{
    private readonly float[] _slopes;
    private float[]? _offsets;
    private int _bound = -1;

    /// <summary>The slopes of <paramref name="heads"/> heads.</summary>
    /// <param name="heads">Attention heads.</param>
    public AttentionLinearBiases(int heads)
    {
        if (heads < 1) throw new ArgumentOutOfRangeException(nameof(heads), heads, "ALiBi needs at least one head.");
        _slopes = Slopes(heads);
    }

    /// <summary>Heads.</summary>
    public int Heads => _slopes.Length;

    /// <summary>Each head's slope m_h.</summary>
    public ReadOnlySpan<float> HeadSlopes => _slopes;

    /// <summary>
    /// The slopes as the ALiBi paper's code (and JinaBERT's and MosaicBERT's <c>_get_alibi_head_slopes</c>) computes them in
    /// double, then rounds to float32: for n a power of two, start·start^i with start = 2^(−8/n); otherwise those of the
    /// power of two below n, then every other slope of twice that power for the rest.
    /// </summary>
    /// <param name="heads">Attention heads.</param>
    public static float[] Slopes(int heads)
    {
        static List<double> PowerOfTwo(int n)
        {
            double start = Math.Pow(2, -Math.Pow(2, -(Math.Log2(n) - 3)));
            return Enumerable.Range(0, n).Select(i => start * Math.Pow(start, i)).ToList();
        }
        static List<double> Of(int n)
        {
            if (Math.Log2(n) % 1 == 0) return PowerOfTwo(n);
            int closest = 1 << (int)Math.Floor(Math.Log2(n));
            var slopes = PowerOfTwo(closest);
            slopes.AddRange(Of(2 * closest).Where((_, i) => i % 2 == 0).Take(n - closest));
            return slopes;
        }
        return Of(heads).Select(s => (float)s).ToArray();
    }

    /// <summary>
    /// The bias of every offset for sequences of at most <paramref name="bound"/> tokens, [heads, 2·bound − 1] laid out as
    /// <see cref="RelativePositionBias"/>'s offsets (offset j − i of head h at <c>h·(2·bound − 1) + bound − 1 + j − i</c>),
    /// each −m_h·|j − i| in float32 as PyTorch forms it. Made again only when the bound changes.
    /// </summary>
    /// <param name="bound">Longest sequence in the batch.</param>
    internal float[] Offsets(int bound)
    {
        int width = 2 * bound - 1;
        var offsets = Workspace.Ensure(ref _offsets, Heads * width);
        if (bound == _bound) return offsets;
        for (int h = 0; h < Heads; h++)
        {
            float negative = -_slopes[h];
            for (int r = 0; r < width; r++) offsets[h * width + r] = negative * Math.Abs(r - (bound - 1));
        }
        _bound = bound;
        return offsets;
    }
}
