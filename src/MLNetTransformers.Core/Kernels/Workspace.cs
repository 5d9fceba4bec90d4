namespace MLNetTransformers.Core.Kernels;

/// <summary>Activation buffers that are sized for the largest batch seen and then reused, so steady-state steps do not allocate.</summary>
internal static class Workspace
{
    /// <summary>
    /// Returns <paramref name="buffer"/>, replaced by a larger one first if it holds fewer than <paramref name="length"/>
    /// elements. A buffer that has to grow grows by at least half (as List&lt;T&gt; doubles): batches of varying size
    /// (packed sequences vary with every batch) then reallocate a few times, not at every new largest batch, each time
    /// leaving the old buffers as large-object garbage that the GC collects late.
    /// </summary>
    public static T[] Ensure<T>(ref T[]? buffer, int length)
    {
        if (buffer is null) buffer = new T[length];
        else if (buffer.Length < length) buffer = new T[Math.Max(length, (int)Math.Min(Array.MaxLength, buffer.Length + (long)buffer.Length / 2))];
        return buffer;
    }
}
