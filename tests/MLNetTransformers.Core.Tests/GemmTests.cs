using MLNetTransformers.Core.Kernels;
using Xunit;

namespace MLNetTransformers.Core.Tests;

public class GemmTests
{
    public static IEnumerable<object[]> Variants()
    {
        foreach (var w in new[] { SimdWidth.V128, SimdWidth.V256, SimdWidth.V512 })
        foreach (var ta in new[] { Transpose.No, Transpose.Yes })
        foreach (var tb in new[] { Transpose.No, Transpose.Yes })
            yield return new object[] { (int)w, (int)ta, (int)tb };
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void MatchesNaiveLoop_OnRandomOddShapes(int simdWidth, int transposeA, int transposeB) // the kernel's enums are internal
    {
        var (width, ta, tb) = ((SimdWidth)simdWidth, (Transpose)transposeA, (Transpose)transposeB);
        var rng = new Random(HashCode.Combine((int)width, (int)ta, (int)tb));
        var shapes = new List<(int m, int n, int k)> { (1, 1, 1), (1, 300, 7), (299, 1, 33), (13, 37, 300) };
        for (int i = 0; i < 5; i++) shapes.Add((rng.Next(1, 301), rng.Next(1, 301), rng.Next(1, 301)));
        var saved = Gemm.Width;
        try
        {
            Gemm.Width = width;
            foreach (var (m, n, k) in shapes)
            foreach (bool accumulate in new[] { false, true })
                CheckOne(rng, ta, tb, m, n, k, accumulate, extraLd: rng.Next(0, 5));
        }
        finally { Gemm.Width = saved; }
    }

    private static void CheckOne(Random rng, Transpose ta, Transpose tb, int m, int n, int k, bool accumulate, int extraLd)
    {
        int aRows = ta == Transpose.No ? m : k, aCols = ta == Transpose.No ? k : m;
        int bRows = tb == Transpose.No ? k : n, bCols = tb == Transpose.No ? n : k;
        int lda = aCols + extraLd, ldb = bCols + extraLd, ldc = n + extraLd;
        var a = Random(rng, aRows * lda);
        var b = Random(rng, bRows * ldb);
        var c = Random(rng, m * ldc);
        var c0 = (float[])c.Clone();
        Gemm.Multiply(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
        for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
        {
            double sum = accumulate ? c0[i * ldc + j] : 0, mag = Math.Abs(sum);
            for (int p = 0; p < k; p++)
            {
                double x = ta == Transpose.No ? a[i * lda + p] : a[p * lda + i];
                double y = tb == Transpose.No ? b[p * ldb + j] : b[j * ldb + p];
                sum += x * y;
                mag += Math.Abs(x * y);
            }
            Assert.True(Math.Abs(c[i * ldc + j] - sum) <= 1e-5 * mag + 1e-6,
                $"{ta}{tb} m={m} n={n} k={k} acc={accumulate}: C[{i},{j}] = {c[i * ldc + j]}, expected {sum}");
        }
        // Padding columns between rows of C are never written.
        for (int i = 0; i < m; i++)
        for (int j = n; j < ldc && i * ldc + j < c.Length; j++)
            Assert.Equal(c0[i * ldc + j], c[i * ldc + j]);
    }

    [Fact]
    public void FewRows_ThroughAWeightMatrix_MatchNaive_SmallAndSplitAcrossCores()
    {
        // 2..16 rows times Bᵀ: the small-batch kernel (4 × 4 tiles, k tails, ragged last tiles, strided operands).
        var rng = new Random(12);
        foreach (int m in new[] { 2, 3, 4, 5, 7, 8, 9, 12, 16 })
            foreach (var (n, k) in new[] { (1, 1), (5, 7), (13, 33), (37, 256), (1003, 301) }) // the last splits across cores
                foreach (bool accumulate in new[] { false, true })
                    CheckOne(rng, Transpose.No, Transpose.Yes, m, n, k, accumulate, extraLd: rng.Next(0, 4));
    }

    [Theory]
    [InlineData((int)Transpose.No)]
    [InlineData((int)Transpose.Yes)]
    public void OneRow_LargeEnoughToSplitAcrossCores_MatchesNaive(int transposeB)
    {
        var tb = (Transpose)transposeB;
        var rng = new Random(11);
        foreach (bool accumulate in new[] { false, true })
            CheckOne(rng, Transpose.No, tb, 1, 1001, 311, accumulate, extraLd: 3); // n·k > 2^18: the split one-row path
    }

    [Fact]
    public void ParallelAndSerial_GiveBitIdenticalResults()
    {
        // Row pieces read B packed once for all of them (B [n, k] panel by panel, B [k, n] row by row); a piece packing
        // its own must give the same bits.
        var rng = new Random(5);
        int m = 517, n = 389, k = 601;
        var a = Random(rng, m * k); var b = Random(rng, n * k);
        foreach (var tb in new[] { Transpose.Yes, Transpose.No })
        OnEveryPath(() =>
        {
            var c1 = new float[m * n]; var c2 = new float[m * n];
            int ldb = tb == Transpose.Yes ? k : n;
            Gemm.Multiply(Transpose.No, tb, m, n, k, a, k, b, ldb, c1, n, parallel: true);
            Gemm.Multiply(Transpose.No, tb, m, n, k, a, k, b, ldb, c2, n, parallel: false);
            Assert.Equal(c1, c2);
        });
    }

    // The body under each way the GEMM reads its operands: the 256-bit kernel (packed, depth blocks of 256), the 512-bit
    // one reading operands in place, and the 512-bit one packing them (shared packs; depth blocks of 512).
    private static void OnEveryPath(Action body)
    {
        var saved = (Gemm.Width, Gemm.InPlaceA, Gemm.InPlaceAT, Gemm.InPlaceB);
        try
        {
            foreach (var (width, inPlace) in new[] { (SimdWidth.V256, false), (SimdWidth.V512, true), (SimdWidth.V512, false) })
            {
                (Gemm.Width, Gemm.InPlaceA, Gemm.InPlaceAT, Gemm.InPlaceB) = (width, inPlace, inPlace, inPlace);
                body();
            }
        }
        finally { (Gemm.Width, Gemm.InPlaceA, Gemm.InPlaceAT, Gemm.InPlaceB) = saved; }
    }

    [Fact]
    public void ColumnSplit_SharedPackedA_MatchesSerialBitForBit()
    {
        // Column pieces (m < n) read op(A) packed once for all of them (or in place): several row blocks and depth blocks
        // (m > 96, k > 512), both op(A) forms, strided operands, accumulation and a bias; a piece packing its own must give the same bits.
        var rng = new Random(6);
        int m = 301, n = 1031, k = 541, ld = 3;
        foreach (var ta in new[] { Transpose.No, Transpose.Yes })
        foreach (bool accumulate in new[] { false, true })
        OnEveryPath(() =>
        {
            int lda = (ta == Transpose.No ? k : m) + ld;
            var a = Random(rng, (ta == Transpose.No ? m : k) * lda); var b = Random(rng, n * k);
            var bias = accumulate ? Array.Empty<float>() : Random(rng, n);
            var c0 = Random(rng, m * (n + ld));
            var c1 = (float[])c0.Clone(); var c2 = (float[])c0.Clone();
            Gemm.Multiply(ta, Transpose.Yes, m, n, k, a, lda, b, k, c1, n + ld, accumulate, parallel: true, bias);
            Gemm.Multiply(ta, Transpose.Yes, m, n, k, a, lda, b, k, c2, n + ld, accumulate, parallel: false, bias);
            Assert.Equal(c2, c1);
        });
    }

    [Fact]
    public void InPlaceOperands_MatchPackedBitForBit()
    {
        // The 512-bit kernels reading op(A) in place (A or Aᵀ) and op(B) in place (B) must give the packed kernel's bits: partial row and column tiles,
        // several row and depth blocks, strided operands, both op(B) forms, accumulation and a bias, serial and split.
        var rng = new Random(8);
        int m = 301, n = 203, k = 517, ld = 3;
        var (inPlaceA, inPlaceAT, inPlaceB, saved) = (Gemm.InPlaceA, Gemm.InPlaceAT, Gemm.InPlaceB, Gemm.Width);
        try
        {
            Gemm.Width = SimdWidth.V512; // the in-place kernels are 512-bit ones (emulated, slowly, without AVX-512)
            foreach (var ta in new[] { Transpose.No, Transpose.Yes })
            foreach (var tb in new[] { Transpose.No, Transpose.Yes })
            foreach (bool accumulate in new[] { false, true })
            foreach (bool parallel in new[] { false, true })
            {
                int lda = (ta == Transpose.No ? k : m) + ld, ldb = tb == Transpose.No ? n : k;
                var a = Random(rng, (ta == Transpose.No ? m : k) * lda); var b = Random(rng, n * k);
                var bias = accumulate ? Array.Empty<float>() : Random(rng, n);
                var c0 = Random(rng, m * (n + ld));
                var direct = (float[])c0.Clone(); var packed = (float[])c0.Clone();
                (Gemm.InPlaceA, Gemm.InPlaceAT, Gemm.InPlaceB) = (true, true, true);
                Gemm.Multiply(ta, tb, m, n, k, a, lda, b, ldb, direct, n + ld, accumulate, parallel, bias);
                (Gemm.InPlaceA, Gemm.InPlaceAT, Gemm.InPlaceB) = (false, false, false);
                Gemm.Multiply(ta, tb, m, n, k, a, lda, b, ldb, packed, n + ld, accumulate, parallel, bias);
                Assert.Equal(packed, direct);
            }
        }
        finally { (Gemm.InPlaceA, Gemm.InPlaceAT, Gemm.InPlaceB, Gemm.Width) = (inPlaceA, inPlaceAT, inPlaceB, saved); }
    }

    [Fact]
    public void ConcurrentCallers_GetCorrectResults()
    {
        var rng = new Random(9);
        int m = 200, n = 180, k = 160;
        var a = Random(rng, m * k); var b = Random(rng, k * n);
        var expected = new float[m * n];
        Gemm.MatMul(a, b, expected, m, n, k);
        var results = new float[4][];
        Parallel.For(0, 4, t =>
        {
            var c = new float[m * n];
            for (int rep = 0; rep < 5; rep++) Gemm.MatMul(a, b, c, m, n, k);
            results[t] = c;
        });
        foreach (var r in results) Assert.Equal(expected, r);
    }

    [Fact]
    public void RejectsSpansTooShortForTheShape()
    {
        var ex = Assert.Throws<ArgumentException>(() => Gemm.MatMul(new float[5], new float[6], new float[6], 2, 3, 3));
        Assert.Contains("'a'", ex.Message);
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(Transpose.No, Transpose.No, 2, 2, 2, new float[4], 1, new float[4], 2, new float[4], 2));
    }

    [Fact]
    public void ZeroDepth_ClearsOrKeepsC()
    {
        var c = new float[] { 1, 2, 3, 4 };
        Gemm.Multiply(Transpose.No, Transpose.No, 2, 2, 0, Array.Empty<float>(), 0, Array.Empty<float>(), 2, c, 2, accumulate: true);
        Assert.Equal(new float[] { 1, 2, 3, 4 }, c);
        Gemm.Multiply(Transpose.No, Transpose.No, 2, 2, 0, Array.Empty<float>(), 0, Array.Empty<float>(), 2, c, 2);
        Assert.Equal(new float[4], c);
    }

    internal static float[] Random(Random rng, int n)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }
}

