using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MLNetTransformers.Core.Kernels;

/// <summary>
/// C[m, n] (+)= A[m, k]·Bᵀ for a few rows (2 ≤ m ≤ <see cref="MaxRows"/>) with B stored [n, k]: a decoding step of a
/// few sequences through a weight matrix. Packing B, as the general kernel does, would cost more than the product, so
/// each 4 × 4 tile of outputs is 16 vector accumulators over k: four rows of B and four rows of A are loaded per
/// step and each B row is read from memory once for all rows of A. Columns are split across cores; each output is
/// computed by one thread in a fixed order.
/// </summary>
internal sealed class SmallBatchGemm : IParallelWork
{
    /// <summary>Largest row count this kernel takes.</summary>
    public const int MaxRows = 16;
    [ThreadStatic] private static SmallBatchGemm? _cached;
    private int _m, _n, _k, _lda, _ldb, _ldc, _chunk;
    private unsafe float* _a, _b, _c;
    private bool _acc;

    public static unsafe void Run(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate, bool parallel)
    {
        fixed (float* pa = a, pb = b, pc = c)
        {
            var job = _cached ??= new SmallBatchGemm();
            (job._m, job._n, job._k, job._lda, job._ldb, job._ldc, job._acc) = (m, n, k, lda, ldb, ldc, accumulate);
            job._a = pa; job._b = pb; job._c = pc;
            long work = (long)m * n * k;
            int pieces = parallel && work >= 1 << 18 ? WorkerPool.Degree * 4 : 1;
            job._chunk = ((n + pieces - 1) / pieces + 3) / 4 * 4; // whole 4-column tiles per piece
            pieces = (n + job._chunk - 1) / job._chunk;
            if (pieces == 1) job.Run(0);
            else WorkerPool.For(pieces, job);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public unsafe void Run(int piece)
    {
        int j0 = piece * _chunk, j1 = Math.Min(_n, j0 + _chunk);
        for (int j = j0; j < j1; j += 4)
            for (int i = 0; i < _m; i += 4)
                Tile(i, Math.Min(4, _m - i), j, Math.Min(4, j1 - j));
    }

    // Rows i..i+ni of A against rows j..j+nj of B (missing ones repeat the last, and are not written).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void Tile(int i, int ni, int j, int nj)
    {
        float* a0 = _a + (long)i * _lda, a1 = _a + (long)(i + Math.Min(1, ni - 1)) * _lda, a2 = _a + (long)(i + Math.Min(2, ni - 1)) * _lda, a3 = _a + (long)(i + Math.Min(3, ni - 1)) * _lda;
        float* b0 = _b + (long)j * _ldb, b1 = _b + (long)(j + Math.Min(1, nj - 1)) * _ldb, b2 = _b + (long)(j + Math.Min(2, nj - 1)) * _ldb, b3 = _b + (long)(j + Math.Min(3, nj - 1)) * _ldb;
        Vector256<float> c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default, c13 = default;
        Vector256<float> c20 = default, c21 = default, c22 = default, c23 = default, c30 = default, c31 = default, c32 = default, c33 = default;
        int p = 0, k = _k;
        for (; p + 8 <= k; p += 8)
        {
            var w0 = Vector256.Load(b0 + p); var w1 = Vector256.Load(b1 + p); var w2 = Vector256.Load(b2 + p); var w3 = Vector256.Load(b3 + p);
            var x = Vector256.Load(a0 + p);
            c00 = Vector256.FusedMultiplyAdd(x, w0, c00); c01 = Vector256.FusedMultiplyAdd(x, w1, c01); c02 = Vector256.FusedMultiplyAdd(x, w2, c02); c03 = Vector256.FusedMultiplyAdd(x, w3, c03);
            x = Vector256.Load(a1 + p);
            c10 = Vector256.FusedMultiplyAdd(x, w0, c10); c11 = Vector256.FusedMultiplyAdd(x, w1, c11); c12 = Vector256.FusedMultiplyAdd(x, w2, c12); c13 = Vector256.FusedMultiplyAdd(x, w3, c13);
            x = Vector256.Load(a2 + p);
            c20 = Vector256.FusedMultiplyAdd(x, w0, c20); c21 = Vector256.FusedMultiplyAdd(x, w1, c21); c22 = Vector256.FusedMultiplyAdd(x, w2, c22); c23 = Vector256.FusedMultiplyAdd(x, w3, c23);
            x = Vector256.Load(a3 + p);
            c30 = Vector256.FusedMultiplyAdd(x, w0, c30); c31 = Vector256.FusedMultiplyAdd(x, w1, c31); c32 = Vector256.FusedMultiplyAdd(x, w2, c32); c33 = Vector256.FusedMultiplyAdd(x, w3, c33);
        }
        Span<float> sums = stackalloc float[16]
        {
            Vector256.Sum(c00), Vector256.Sum(c01), Vector256.Sum(c02), Vector256.Sum(c03),
            Vector256.Sum(c10), Vector256.Sum(c11), Vector256.Sum(c12), Vector256.Sum(c13),
            Vector256.Sum(c20), Vector256.Sum(c21), Vector256.Sum(c22), Vector256.Sum(c23),
            Vector256.Sum(c30), Vector256.Sum(c31), Vector256.Sum(c32), Vector256.Sum(c33),
        };
        nint* rowsA = stackalloc nint[] { (nint)a0, (nint)a1, (nint)a2, (nint)a3 };
        nint* rowsB = stackalloc nint[] { (nint)b0, (nint)b1, (nint)b2, (nint)b3 };
        for (int ii = 0; ii < ni; ii++)
            for (int jj = 0; jj < nj; jj++)
            {
                float s = sums[ii * 4 + jj];
                float* ra = (float*)rowsA[ii], rb = (float*)rowsB[jj];
                for (int q = p; q < k; q++) s += ra[q] * rb[q];
                float* c = _c + (long)(i + ii) * _ldc + j + jj;
                *c = _acc ? *c + s : s;
            }
    }
}
