using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace MLNetTransformers.Core.Kernels;

/// <summary>
/// dst[c, r] = src[r, c] for a rows × cols block with row strides: 8 × 8 tiles transposed in registers (unpack, shuffle,
/// lane permute) where AVX is present, scalar elsewhere and at the edges. For the attention's Kᵀ of one head, whose
/// element-by-element copy cost as much as the score product itself.
/// </summary>
internal static unsafe class BlockTranspose
{
    /// <summary>dst[c·dstStride + r] = src[r·srcStride + c] for r &lt; rows, c &lt; cols.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(float* src, int srcStride, int rows, int cols, float* dst, int dstStride)
    {
        int r = 0;
        if (Avx.IsSupported)
        {
            for (; r + 8 <= rows; r += 8)
            {
                int c = 0;
                for (; c + 8 <= cols; c += 8) Tile8x8(src + (long)r * srcStride + c, srcStride, dst + (long)c * dstStride + r, dstStride);
                for (; c < cols; c++)
                for (int i = r; i < r + 8; i++) dst[(long)c * dstStride + i] = src[(long)i * srcStride + c];
            }
        }
        for (; r < rows; r++)
        for (int c = 0; c < cols; c++) dst[(long)c * dstStride + r] = src[(long)r * srcStride + c];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile8x8(float* s, int ss, float* d, int ds)
    {
        var r0 = Avx.LoadVector256(s); var r1 = Avx.LoadVector256(s + ss); var r2 = Avx.LoadVector256(s + 2 * ss); var r3 = Avx.LoadVector256(s + 3 * ss);
        var r4 = Avx.LoadVector256(s + 4 * ss); var r5 = Avx.LoadVector256(s + 5 * ss); var r6 = Avx.LoadVector256(s + 6 * ss); var r7 = Avx.LoadVector256(s + 7 * ss);
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1); var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5); var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE); var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE); var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(d, Avx.Permute2x128(u0, u4, 0x20)); Avx.Store(d + ds, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(d + 2 * ds, Avx.Permute2x128(u2, u6, 0x20)); Avx.Store(d + 3 * ds, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(d + 4 * ds, Avx.Permute2x128(u0, u4, 0x31)); Avx.Store(d + 5 * ds, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(d + 6 * ds, Avx.Permute2x128(u2, u6, 0x31)); Avx.Store(d + 7 * ds, Avx.Permute2x128(u3, u7, 0x31));
    }
}
