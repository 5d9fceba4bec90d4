using Xunit;

namespace MLNetTransformers.Core.Tests;

internal static class Close
{
    /// <summary>
    /// Relative agreement: every |actual − expected| ≤ tol·max(|expected|, floor), with floor = 0.1·max|expected|.
    /// The floor keeps entries that come out of cancellation (near zero next to large ones) from demanding more
    /// relative precision than float32 arithmetic has; everything above a tenth of the tensor's scale is held to tol.
    /// </summary>
    public static void All(ReadOnlySpan<float> actual, IReadOnlyList<double> expected, double tol, string what)
    {
        Assert.True(actual.Length >= expected.Count, $"{what}: {actual.Length} values, expected {expected.Count}.");
        double scale = 0;
        foreach (var e in expected) scale = Math.Max(scale, Math.Abs(e));
        double floor = Math.Max(0.1 * scale, 1e-30);
        double worst = 0; int at = -1;
        for (int i = 0; i < expected.Count; i++)
        {
            double rel = Math.Abs(actual[i] - expected[i]) / Math.Max(Math.Abs(expected[i]), floor);
            if (rel > worst) { worst = rel; at = i; }
        }
        Assert.True(worst <= tol, $"{what}: relative error {worst:E2} at index {at} (got {(at >= 0 ? actual[at] : 0)}, expected {(at >= 0 ? expected[at] : 0)}), tolerance {tol:E0}.");
    }

    public static void All(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, double tol, string what)
        => All(actual, expected.ToArray().Select(x => (double)x).ToArray(), tol, what);
}
