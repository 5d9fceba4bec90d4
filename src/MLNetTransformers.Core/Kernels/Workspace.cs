namespace MLNetTransformers.Core.Kernels;

/// <summary>Activation buffers that are sized for the largest batch seen and then reused, so steady-state steps do not allocate.</summary>
internal static class Workspace
{
    /// <summary>Returns <paramref name="buffer"/>, replaced by a larger one first if it holds fewer than <paramref name="length"/> elements.</summary>
    public static T[] Ensure<T>(ref T[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length) buffer = new T[length];
        return buffer;
    }
}
