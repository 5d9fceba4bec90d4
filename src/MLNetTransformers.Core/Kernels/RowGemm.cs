using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MLNetTransformers.Core.Kernels;

/// <summary>
/// C[m, n] (+)= A[m, k] · B[k, n] with neither operand packed: A's elements are broadcast from its rows, B's rows are
/// loaded as they lie (row stride <c>ldb</c>). For the attention products of one head (Q·Kᵀ against a transposed key
/// block, P·V), whose operands are small and used once, packing would cost as much as the multiply. Single-threaded
/// (attention runs one head per core); 8×32 register tiles of 512-bit vectors, n a multiple of 16. Each element is one
/// fused multiply-add chain over p = 0..k−1, the same order as <see cref="Gemm"/>'s kernel when k ≤ its depth block.
/// </summary>
internal static unsafe class RowGemm
{
    /// <summary>Whether the kernel runs here for these widths (otherwise callers use <see cref="Gemm"/>).</summary>
    public static bool Supports(int n) =>
        Vector512.IsHardwareAccelerated && n % 16 == 0 && Gemm.Width is SimdWidth.Auto or SimdWidth.V512;

    /// <summary>C = (accumulate ? C : 0) + A·B; A [m, k] (row stride lda), B [k, n] (ldb), C [m, n] (ldc).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Multiply(int m, int n, int k, float* a, int lda, float* b, int ldb, float* c, int ldc, bool accumulate)
    {
        for (int i = 0; i < m; i += 8)
        {
            int rows = Math.Min(8, m - i);
            int j = 0;
            for (; j + 32 <= n; j += 32) Tile(rows, k, a + (long)i * lda, lda, b + j, ldb, c + (long)i * ldc + j, ldc, accumulate, wide: true);
            if (j < n) Tile(rows, k, a + (long)i * lda, lda, b + j, ldb, c + (long)i * ldc + j, ldc, accumulate, wide: false);
        }
    }

    // Up to 8 rows (missing rows repeat the last one and are not stored) × 32 columns (16 when not wide). Also the
    // panel kernel's tile: a panel is B with row stride 32.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Tile(int rows, int k, float* a, int lda, float* b, int ldb, float* c, int ldc, bool accumulate, bool wide)
    {
        float* a0 = a, a1 = a + Math.Min(1, rows - 1) * lda, a2 = a + Math.Min(2, rows - 1) * lda, a3 = a + Math.Min(3, rows - 1) * lda;
        float* a4 = a + Math.Min(4, rows - 1) * lda, a5 = a + Math.Min(5, rows - 1) * lda, a6 = a + Math.Min(6, rows - 1) * lda, a7 = a + Math.Min(7, rows - 1) * lda;
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        if (wide)
        {
            for (int p = 0; p < k; p++, b += ldb)
            {
                var b0 = Vector512.Load(b);
                var b1 = Vector512.Load(b + 16);
                Vector512<float> x;
                x = Vector512.Create(a0[p]); c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
                x = Vector512.Create(a1[p]); c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
                x = Vector512.Create(a2[p]); c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
                x = Vector512.Create(a3[p]); c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
                x = Vector512.Create(a4[p]); c40 = Vector512.FusedMultiplyAdd(x, b0, c40); c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
                x = Vector512.Create(a5[p]); c50 = Vector512.FusedMultiplyAdd(x, b0, c50); c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
                x = Vector512.Create(a6[p]); c60 = Vector512.FusedMultiplyAdd(x, b0, c60); c61 = Vector512.FusedMultiplyAdd(x, b1, c61);
                x = Vector512.Create(a7[p]); c70 = Vector512.FusedMultiplyAdd(x, b0, c70); c71 = Vector512.FusedMultiplyAdd(x, b1, c71);
            }
        }
        else
        {
            for (int p = 0; p < k; p++, b += ldb)
            {
                var b0 = Vector512.Load(b);
                c00 = Vector512.FusedMultiplyAdd(Vector512.Create(a0[p]), b0, c00);
                c10 = Vector512.FusedMultiplyAdd(Vector512.Create(a1[p]), b0, c10);
                c20 = Vector512.FusedMultiplyAdd(Vector512.Create(a2[p]), b0, c20);
                c30 = Vector512.FusedMultiplyAdd(Vector512.Create(a3[p]), b0, c30);
                c40 = Vector512.FusedMultiplyAdd(Vector512.Create(a4[p]), b0, c40);
                c50 = Vector512.FusedMultiplyAdd(Vector512.Create(a5[p]), b0, c50);
                c60 = Vector512.FusedMultiplyAdd(Vector512.Create(a6[p]), b0, c60);
                c70 = Vector512.FusedMultiplyAdd(Vector512.Create(a7[p]), b0, c70);
            }
        }
        Store(c, c00, c01, wide, accumulate); if (rows == 1) return; c += ldc;
        Store(c, c10, c11, wide, accumulate); if (rows == 2) return; c += ldc;
        Store(c, c20, c21, wide, accumulate); if (rows == 3) return; c += ldc;
        Store(c, c30, c31, wide, accumulate); if (rows == 4) return; c += ldc;
        Store(c, c40, c41, wide, accumulate); if (rows == 5) return; c += ldc;
        Store(c, c50, c51, wide, accumulate); if (rows == 6) return; c += ldc;
        Store(c, c60, c61, wide, accumulate); if (rows == 7) return; c += ldc;
        Store(c, c70, c71, wide, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector512<float> v0, Vector512<float> v1, bool wide, bool accumulate)
    {
        if (accumulate) v0 += Vector512.Load(c);
        v0.Store(c);
        if (!wide) return;
        if (accumulate) v1 += Vector512.Load(c + 16);
        v1.Store(c + 16);
    }
}
