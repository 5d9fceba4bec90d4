namespace MLNetTransformers.Metrics;

/// <summary>
/// Pearson's and Spearman's correlation, the metrics of semantic similarity (STS-B), which ML.NET's regression metrics do
/// not include. Both are 0 when either side is constant.
/// </summary>
public static class Correlation
{
    /// <summary>Pearson's r of <paramref name="x"/> and <paramref name="y"/> (same length, at least 2).</summary>
    /// <param name="x">Predictions.</param>
    /// <param name="y">Labels.</param>
    public static double Pearson(IReadOnlyList<float> x, IReadOnlyList<float> y)
    {
        Check(x, y);
        int n = x.Count;
        double mx = 0, my = 0;
        for (int i = 0; i < n; i++) { mx += x[i]; my += y[i]; }
        (mx, my) = (mx / n, my / n);
        double cov = 0, vx = 0, vy = 0;
        for (int i = 0; i < n; i++) { double a = x[i] - mx, b = y[i] - my; cov += a * b; vx += a * a; vy += b * b; }
        return vx > 0 && vy > 0 ? cov / Math.Sqrt(vx * vy) : 0;
    }

    /// <summary>Spearman's ρ: Pearson's r of the ranks (ties share their mean rank).</summary>
    /// <param name="x">Predictions.</param>
    /// <param name="y">Labels.</param>
    public static double Spearman(IReadOnlyList<float> x, IReadOnlyList<float> y)
    {
        Check(x, y);
        return Pearson(Ranks(x), Ranks(y));
    }

    private static float[] Ranks(IReadOnlyList<float> v)
    {
        var order = Enumerable.Range(0, v.Count).OrderBy(i => v[i]).ToArray();
        var ranks = new float[v.Count];
        for (int s = 0; s < order.Length;)
        {
            int e = s;
            while (e + 1 < order.Length && v[order[e + 1]] == v[order[s]]) e++;
            for (int k = s; k <= e; k++) ranks[order[k]] = (s + e) / 2f + 1;
            s = e + 1;
        }
        return ranks;
    }

    private static void Check(IReadOnlyList<float> x, IReadOnlyList<float> y)
    {
        if (x.Count != y.Count) throw new ArgumentException($"{x.Count} predictions for {y.Count} labels.", nameof(y));
        if (x.Count < 2) throw new ArgumentException($"A correlation needs at least 2 pairs, got {x.Count}.", nameof(x));
        for (int i = 0; i < x.Count; i++)
            if (!float.IsFinite(x[i]) || !float.IsFinite(y[i])) throw new ArgumentException($"Value {i} is not a finite number ({x[i]}, {y[i]}).", nameof(x));
    }
}
