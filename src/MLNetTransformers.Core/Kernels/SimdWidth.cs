namespace MLNetTransformers.Core.Kernels;

/// <summary>SIMD width used by the GEMM micro-kernel.</summary>
internal enum SimdWidth
{
    /// <summary>Widest the hardware accelerates.</summary>
    Auto,
    /// <summary>Vector128 (SSE / NEON), 6x8 micro-tile.</summary>
    V128,
    /// <summary>Vector256 (AVX2), 6x16 micro-tile.</summary>
    V256,
    /// <summary>Vector512 (AVX-512), 12x32 micro-tile.</summary>
    V512,
}
