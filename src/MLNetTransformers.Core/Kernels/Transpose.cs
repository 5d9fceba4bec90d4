namespace MLNetTransformers.Core.Kernels;

/// <summary>Whether a GEMM operand is used as stored or transposed.</summary>
internal enum Transpose
{
    /// <summary>Use the matrix as stored (row-major).</summary>
    No,
    /// <summary>Use the transpose of the stored matrix.</summary>
    Yes,
}
