using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MLNetTransformers.Core.Kernels;

/// <summary>
/// Single-precision matrix multiply on row-major spans: C[m,n] = (accumulate ? C : 0) + op(A)[m,k] · op(B)[k,n].
/// BLIS-style: op(B) is packed into KC×NC blocks of NR-wide column panels, op(A) into MC×KC blocks of MR-row
/// panels (the transposes are absorbed by packing, so every variant runs the same micro-kernel), and a
/// register-tiled micro-kernel computes MR×NR tiles (the 512-bit kernels read whole panels of op(A) in place, A or
/// Aᵀ, and of op(B) when it is B [k, n], with no packing; only a last partial panel is packed). Work is split across cores along the longer output side;
/// each output element is computed by exactly one thread in a fixed order, so results are deterministic.
/// </summary>
internal static unsafe class Gemm
{
    // Depth of a block (KC): 256 keeps a packed KC×16 B panel in a 32 KB L1 for the 256-bit kernel. The 512-bit kernels,
    // which read most operands in place, take 512: fewer passes over C (MiniLM's training steps 1.034-1.037 against 256,
    // and 768 or 1,024 1.027-1.031, in interleaved runs; 256 again 0.971-0.986 after the change).
    internal static int DepthBlock512 = 512;
    private const int MaxKC = 1024;
    private static int DepthBlock(SimdWidth w) => w == SimdWidth.V512 ? DepthBlock512 : 256;
    private const int MC = 96;    // rows of a packed A block (MC×KC = 96-192 KB, in L2); a multiple of every MR
    private const int NC = 2048;  // columns of a packed B block (KC×NC = 2-4 MB, in L2/L3)
    // Settings that the fine-tuning benchmark's `--compare` measures on and off within one run (interleaved steps):
    // whether column splits pack op(A) once for all pieces and row splits op(B), and how many pieces a core claims.
    // Two pieces a core and a shared op(A) together made MiniLM's training steps 4% faster than four pieces packing
    // their own (2026-12-05, Zen 5; with the shared op(A), four pieces and one measured the same as two).
    internal static bool ShareColumnSplitA = true;
    internal static bool ShareRowSplitB = true;
    internal static int PiecesPerCore = 2;
    // The 512-bit kernels read op(A) in place, A or Aᵀ, instead of packing it first: packing op(A) was 9% of a MiniLM
    // training step's CPU time; reading it in place made the steps 2.3% (A) and a further 1.7% (Aᵀ) faster. The 256-bit
    // kernel in place measured 1.3-1.8% slower (A) and level (Aᵀ) on the same machine, so it packs.
    internal static bool InPlaceA = true;
    internal static bool InPlaceAT = true;
    // And B [k, n] (input and weight gradients) in place: 1.007-1.017 in four interleaved runs.
    internal static bool InPlaceB = true;
    private static bool ReadsAInPlace(SimdWidth w, Transpose ta) => w == SimdWidth.V512 && (ta == Transpose.No ? InPlaceA : InPlaceAT);
    private static bool ReadsBInPlace(SimdWidth w, Transpose tb) => w == SimdWidth.V512 && tb == Transpose.No && InPlaceB;
    private const long MaxSharedA = 4L << 20; // floats of op(A) a column split packs once for all its pieces (16 MB)

    /// <summary>Micro-kernel width for calls made on this thread; tests set it to exercise every fallback.</summary>
    internal static SimdWidth Width { get => _width; set => _width = value; }
    [ThreadStatic] private static SimdWidth _width;

    /// <summary>The width <see cref="SimdWidth.Auto"/> resolves to on this machine.</summary>
    public static SimdWidth HardwareWidth { get; } =
        Vector512.IsHardwareAccelerated ? SimdWidth.V512 :
        Vector256.IsHardwareAccelerated ? SimdWidth.V256 : SimdWidth.V128;

    /// <summary>C[m,n] = A[m,k] · B[n,k]ᵀ (x·Wᵀ with W stored [out, in]).</summary>
    public static void MatMulTransB(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k, bool accumulate = false)
        => Multiply(Transpose.No, Transpose.Yes, m, n, k, a, k, b, k, c, n, accumulate);

    /// <summary>
    /// C[m,n] = A[m,k] · B[n,k]ᵀ + bias (a linear layer), the bias added to each register tile as it is finished, while it
    /// is still in L1, instead of in a pass of its own over C.
    /// </summary>
    public static void MatMulTransB(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k, ReadOnlySpan<float> bias)
        => Multiply(Transpose.No, Transpose.Yes, m, n, k, a, k, b, k, c, n, accumulate: false, parallel: true, bias);

    /// <summary>C[m,n] = A[m,k] · B[k,n].</summary>
    public static void MatMul(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k, bool accumulate = false)
        => Multiply(Transpose.No, Transpose.No, m, n, k, a, k, b, n, c, n, accumulate);

    /// <summary>C[m,n] = A[k,m]ᵀ · B[k,n] (weight gradient dYᵀ·X).</summary>
    public static void MatMulTransA(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k, bool accumulate = false)
        => Multiply(Transpose.Yes, Transpose.No, m, n, k, a, m, b, n, c, n, accumulate);

    /// <summary>
    /// General form with leading dimensions (row strides <paramref name="lda"/>, <paramref name="ldb"/>,
    /// <paramref name="ldc"/>), so sub-matrices such as one attention head inside a [T, 3C] projection can be used
    /// in place. op(A) is m×k, op(B) is k×n. With <paramref name="parallel"/> the work is split across cores
    /// (callers already running one piece per core pass false).
    /// </summary>
    public static void Multiply(Transpose transA, Transpose transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc,
        bool accumulate = false, bool parallel = true, ReadOnlySpan<float> bias = default)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentOutOfRangeException(nameof(m), $"GEMM sizes must be non-negative, got m={m}, n={n}, k={k}.");
        if (m == 0 || n == 0) return;
        Check(nameof(a), a.Length, transA == Transpose.No ? m : k, transA == Transpose.No ? k : m, lda);
        Check(nameof(b), b.Length, transB == Transpose.No ? k : n, transB == Transpose.No ? n : k, ldb);
        Check(nameof(c), c.Length, m, n, ldc);
        if (!bias.IsEmpty && bias.Length < n) throw new ArgumentException($"Bias has {bias.Length} elements for {n} output columns.", nameof(bias));
        bool epilogue = !bias.IsEmpty;
        if (k == 0)
        {
            if (!accumulate) for (int i = 0; i < m; i++) c.Slice(i * ldc, n).Clear();
            if (epilogue) Finish(c, ldc, m, n, bias);
            return;
        }

        if (m == 1 && transA == Transpose.No)
        {
            // One row (a decoding step): a matrix-vector product reading the weights once, with no packing.
            Gemv.Run(transB, n, k, a[..k], b, ldb, c[..n], accumulate, parallel);
            if (epilogue) Finish(c, ldc, m, n, bias);
            return;
        }
        if (m <= SmallBatchGemm.MaxRows && transA == Transpose.No && transB == Transpose.Yes && Vector256.IsHardwareAccelerated)
        {
            // A few rows through a weight matrix (a decoding step of a few sequences): no packing either.
            SmallBatchGemm.Run(m, n, k, a, lda, b, ldb, c, ldc, accumulate, parallel);
            if (epilogue) Finish(c, ldc, m, n, bias);
            return;
        }
        var width = Width == SimdWidth.Auto ? HardwareWidth : Width;
        fixed (float* pa = a, pb = b, pc = c, pbias = bias)
        {
            var job = Job.ForThisThread;
            job.Set(transA, transB, m, n, k, pa, lda, pb, ldb, pc, ldc, accumulate, width);
            job.SetBias(pbias);
            long flops = (long)m * n * k;
            // More pieces than cores, claimed dynamically: a core slowed by other work takes fewer of them.
            int pieces = parallel && flops >= 64 * 64 * 64 ? WorkerPool.Degree * PiecesPerCore : 1;
            job.Split(pieces);
            if (job.Pieces == 1) job.Run(0);
            else
            {
                // Row pieces all read the whole op(B), column pieces the whole op(A): pack it once, in parallel, instead of
                // once per piece.
                if (job.SharesB) WorkerPool.For(job.PackPieces, job.Packer);
                if (job.SharesA) WorkerPool.For(job.APacker.Pieces, job.APacker);
                WorkerPool.For(job.Pieces, job);
                job.Done();
            }
        }
    }

    // The bias over a whole C for the paths without register tiles.
    private static void Finish(Span<float> c, int ldc, int m, int n, ReadOnlySpan<float> bias)
    {
        fixed (float* pc = c, pb = bias) AddBias(pc, ldc, m, n, pb);
    }

    // C[i, j] += bias[j] over a rows × cols block.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddBias(float* c, int ldc, int rows, int cols, float* bias)
    {
        if (Vector512.IsHardwareAccelerated && cols % 16 == 0)
        {
            // A register tile's rows: 512-bit vectors, no calls per row.
            for (int i = 0; i < rows; i++)
            {
                float* row = c + (long)i * ldc;
                for (int j = 0; j < cols; j += 16) (Vector512.Load(row + j) + Vector512.Load(bias + j)).Store(row + j);
            }
            return;
        }
        for (int i = 0; i < rows; i++)
        {
            var row = new Span<float>(c + (long)i * ldc, cols);
            TensorPrimitives.Add(row, new ReadOnlySpan<float>(bias, cols), row);
        }
    }

    private static void Check(string name, int length, int rows, int cols, int ld)
    {
        if (rows == 0 || cols == 0) return;
        if (ld < cols) throw new ArgumentException($"Leading dimension of '{name}' is {ld}, smaller than its {cols} columns.", name);
        long need = (long)(rows - 1) * ld + cols;
        if (length < need) throw new ArgumentException($"Span '{name}' has {length} elements; a {rows}×{cols} matrix with row stride {ld} needs {need}.", name);
    }

    /// <summary>One GEMM call's arguments and its split into per-core pieces; cached per calling thread.</summary>
    private sealed class Job : IParallelWork
    {
        [ThreadStatic] private static Job? _cached;
        public static Job ForThisThread => _cached ??= new Job();

        private Transpose _ta, _tb;
        private int _m, _n, _k, _lda, _ldb, _ldc;
        private float* _a, _b, _c;
        private bool _acc;
        private float* _bias;
        private SimdWidth _width;
        private bool _splitRows;
        private int _tiles, _unit;
        public int Pieces;

        public void Set(Transpose ta, Transpose tb, int m, int n, int k, float* a, int lda, float* b, int ldb, float* c, int ldc, bool acc, SimdWidth width)
        {
            (_ta, _tb, _m, _n, _k, _lda, _ldb, _ldc, _acc, _width) = (ta, tb, m, n, k, lda, ldb, ldc, acc, width);
            _a = a; _b = b; _c = c;
        }

        public void SetBias(float* bias) => _bias = bias;

        public void Split(int pieces)
        {
            var (mr, nr) = Tile(_width);
            // Split the longer output side in whole micro-tiles so no tile straddles two threads.
            _splitRows = _m >= _n;
            int len = _splitRows ? _m : _n, unit = _splitRows ? mr : nr;
            int tiles = (len + unit - 1) / unit;
            // Tiles spread evenly (piece sizes differ by one tile at most): with a ceiling-sized chunk, 1,024 rows made seven
            // pieces of 132 and one of 100, and the core that drew four full pieces worked 3% longer than an even share.
            Pieces = Math.Max(1, Math.Min(pieces, tiles));
            (_tiles, _unit) = (tiles, unit);
            ShareB();
            ShareA();
        }

        // The shared packed op(A) of a column split: otherwise every piece packs all of op(A) itself (packing op(A) was 9%
        // of a MiniLM training step's CPU time, mostly the query/key/value and FFN-up inputs packed once per piece).
        private float* _packedA;
        private long _packedACapacity;
        public readonly PackAJob APacker = new();

        /// <summary>Whether the pieces read one op(A) packed beforehand by <see cref="APacker"/>.</summary>
        public bool SharesA { get; private set; }

        private void ShareA()
        {
            int mr = Tile(_width).mr;
            long need = (long)((_m + mr - 1) / mr * mr) * _k;
            SharesA = ShareColumnSplitA && !ReadsAInPlace(_width, _ta) && !_splitRows && Pieces > 1 && need <= MaxSharedA;
            if (!SharesA) return;
            if (need > _packedACapacity)
            {
                if (_packedA != null) NativeMemory.AlignedFree(_packedA);
                _packedA = (float*)NativeMemory.AlignedAlloc((nuint)(need * sizeof(float)), 64);
                _packedACapacity = need;
            }
            APacker.Set(_ta, _a, _lda, _m, _k, mr, DepthBlock(_width), _packedA);
        }

        // The shared packed op(B) of a row split: [k/KC blocks][n/nr panels][kc × nr], n ≤ NC so one column block.
        private float* _packedB;
        private long _packedCapacity;
        public readonly PackJob Packer = new();

        /// <summary>Whether the pieces read one op(B) packed beforehand by <see cref="Packer"/>.</summary>
        public bool SharesB { get; private set; }
        /// <summary>Pieces of the packing: <see cref="PackJob.Rows"/> depth rows of B each (B [k, n]), or one NR-column panel (B [n, k]).</summary>
        public int PackPieces => _tb == Transpose.No ? (_k + PackJob.Rows - 1) / PackJob.Rows : (_n + Tile(_width).nr - 1) / Tile(_width).nr;

        private void ShareB()
        {
            int nr = Tile(_width).nr;
            long need = (long)((_n + nr - 1) / nr * nr) * _k; // every panel, every depth row
            SharesB = ShareRowSplitB && !ReadsBInPlace(_width, _tb) && _splitRows && Pieces > 1 && _n <= NC;
            if (!SharesB) return;
            if (need > _packedCapacity)
            {
                if (_packedB != null) NativeMemory.AlignedFree(_packedB);
                _packedB = (float*)NativeMemory.AlignedAlloc((nuint)(need * sizeof(float)), 64);
                _packedCapacity = need;
            }
            Packer.Set(_tb, _b, _ldb, _n, _k, nr, DepthBlock(_width), _packedB);
        }

        public void Done() => SharesB = SharesA = false;

        ~Job()
        {
            if (_packedB != null) NativeMemory.AlignedFree(_packedB);
            if (_packedA != null) NativeMemory.AlignedFree(_packedA);
        }

        // First row (or column) of a piece: whole tiles, spread evenly.
        private int Start(int index) => (int)((long)_tiles * index / Pieces) * _unit;

        public void Run(int index)
        {
            int start = Start(index), len = Start(index + 1) - start;
            if (_splitRows)
            {
                int rows = Math.Min(len, _m - start);
                float* a = _ta == Transpose.No ? _a + (long)start * _lda : _a + start;
                Block(_ta, _tb, rows, _n, _k, a, _lda, _b, _ldb, _c + (long)start * _ldc, _ldc, _acc, _width, _bias, SharesB ? _packedB : null);
            }
            else
            {
                int cols = Math.Min(len, _n - start);
                float* b = _tb == Transpose.No ? _b + start : _b + (long)start * _ldb;
                Block(_ta, _tb, _m, cols, _k, _a, _lda, b, _ldb, _c + start, _ldc, _acc, _width, _bias == null ? null : _bias + start,
                    packedA: SharesA ? _packedA : null);
            }
        }
    }

    /// <summary>
    /// Packs op(B) into the shared layout a row split reads: for B [k, n] a few whole rows of B at a time (read
    /// contiguously, each row's NR-column pieces written to their panels as whole cache lines); for B [n, k], one
    /// NR-column panel for every depth block.
    /// </summary>
    private sealed class PackJob : IParallelWork
    {
        /// <summary>Depth rows of B [k, n] per piece (a divisor of KC, so no piece straddles two depth blocks).</summary>
        public const int Rows = 16;

        private Transpose _tb;
        private float* _b, _dst;
        private int _ldb, _n, _k, _nr, _kc;

        public void Set(Transpose tb, float* b, int ldb, int n, int k, int nr, int kc, float* dst)
        {
            _tb = tb; _b = b; _ldb = ldb; _n = n; _k = k; _nr = nr; _kc = kc; _dst = dst;
        }

        public void Run(int piece)
        {
            int ncp = (_n + _nr - 1) / _nr * _nr;
            if (_tb == Transpose.No)
            {
                // Whole rows: reading B column strip by column strip read each row 64 bytes at a time, 2 KB and more apart,
                // which costs most once B no longer fits in the cache.
                for (int p = piece * Rows, end = Math.Min(_k, p + Rows); p < end; p++)
                {
                    int pc = p / _kc * _kc, kc = Math.Min(_kc, _k - pc);
                    float* src = _b + (long)p * _ldb, block = _dst + (long)pc * ncp + (long)(p - pc) * _nr;
                    for (int j0 = 0; j0 < _n; j0 += _nr) PanelRow(src + j0, block + (long)j0 * kc, Math.Min(_nr, _n - j0), _nr);
                }
                return;
            }
            int panel0 = piece * _nr;
            for (int pc = 0; pc < _k; pc += _kc)
            {
                int kc = Math.Min(_kc, _k - pc);
                PackB(_tb, _b, _ldb, pc, panel0, kc, Math.Min(_nr, _n - panel0), _nr, _dst + (long)pc * ncp + (long)panel0 * kc);
            }
        }
    }

    /// <summary>
    /// Packs all of op(A) into the layout a column split reads: depth block by depth block, each holding every MC-row block's
    /// panels (the block at rows ic, depth pc starts at pc·m̄ + ic·kc, m̄ = m rounded up to MR). One piece per such block.
    /// </summary>
    private sealed class PackAJob : IParallelWork
    {
        private Transpose _ta;
        private float* _a, _dst;
        private int _lda, _m, _k, _mr, _kc;

        public int Pieces => (_m + MC - 1) / MC * ((_k + _kc - 1) / _kc);

        public void Set(Transpose ta, float* a, int lda, int m, int k, int mr, int kc, float* dst)
        {
            _ta = ta; _a = a; _lda = lda; _m = m; _k = k; _mr = mr; _kc = kc; _dst = dst;
        }

        public void Run(int piece)
        {
            int rowBlocks = (_m + MC - 1) / MC;
            int ic = piece % rowBlocks * MC, pc = piece / rowBlocks * _kc;
            int mc = Math.Min(MC, _m - ic), kc = Math.Min(_kc, _k - pc);
            long mPadded = (_m + _mr - 1) / _mr * _mr;
            PackA(_ta, _a, _lda, ic, pc, mc, kc, _mr, _dst + pc * mPadded + (long)ic * kc);
        }
    }

    private static (int mr, int nr) Tile(SimdWidth w) => w switch
    {
        SimdWidth.V512 => (12, 32),
        SimdWidth.V256 => (6, 16),
        _ => (6, 8),
    };

    /// <summary>Per-thread packing buffers, 64-byte aligned, allocated once.</summary>
    private sealed class PackBuffers
    {
        [ThreadStatic] private static PackBuffers? _cached;
        public static PackBuffers ForThisThread => _cached ??= new PackBuffers();
        public readonly float* A = (float*)NativeMemory.AlignedAlloc((nuint)(MC * MaxKC * sizeof(float)), 64);
        public readonly float* B = (float*)NativeMemory.AlignedAlloc((nuint)((NC + 32) * MaxKC * sizeof(float)), 64);
        ~PackBuffers()
        {
            NativeMemory.AlignedFree(A);
            NativeMemory.AlignedFree(B);
        }
    }

    // The sequential BLIS loop nest over one thread's share of C. Hot from the first call: no tiered-JIT warm-up.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block(Transpose ta, Transpose tb, int m, int n, int k, float* a, int lda, float* b, int ldb, float* c, int ldc, bool accumulate, SimdWidth width,
        float* bias = null, float* packedB = null, float* packedA = null)
    {
        var (mr, nr) = Tile(width);
        int kcBlock = DepthBlock(width);
        // Operands read in place: whole panels straight from A (op(A)[i, p] = a[i·rowStep + p·depthStep]) and from B [k, n]'s
        // rows, a last partial panel of each packed. A shared pack (n ≤ NC: one column block) is never read in place.
        bool directA = packedA == null && ReadsAInPlace(width, ta), directB = packedB == null && ReadsBInPlace(width, tb);
        long rowStep = ta == Transpose.No ? lda : 1, depthStep = ta == Transpose.No ? 1 : lda;
        var buf = PackBuffers.ForThisThread;
        float* tile = stackalloc float[12 * 32];
        for (int jc = 0; jc < n; jc += NC)
        {
            int nc = Math.Min(NC, n - jc);
            for (int pc = 0; pc < k; pc += kcBlock)
            {
                int kc = Math.Min(kcBlock, k - pc);
                bool load = accumulate || pc > 0;
                bool last = bias != null && pc + kc == k;
                // A shared pack holds this depth block at pc·ncp; otherwise this thread packs it (or its last partial panel).
                float* packed = packedB != null ? packedB + (long)pc * ((n + nr - 1) / nr * nr) : buf.B;
                if (directB) { if (nc % nr != 0) PackB(tb, b, ldb, pc, jc + nc / nr * nr, kc, nc % nr, nr, buf.B); }
                else if (packedB == null) PackB(tb, b, ldb, pc, jc, kc, nc, nr, buf.B);
                for (int ic = 0; ic < m; ic += MC)
                {
                    int mc = Math.Min(MC, m - ic);
                    // A shared pack holds this block at pc·m̄ + ic·kc.
                    float* ablock = packedA != null ? packedA + pc * (long)((m + mr - 1) / mr * mr) + (long)ic * kc : buf.A;
                    if (packedA == null && !directA) PackA(ta, a, lda, ic, pc, mc, kc, mr, buf.A);
                    else if (directA && mc % mr != 0) PackA(ta, a, lda, ic + mc / mr * mr, pc, mc % mr, kc, mr, buf.A); // the last, partial panel
                    for (int jr = 0; jr < nc; jr += nr)
                    {
                        int nrr = Math.Min(nr, nc - jr);
                        float* bp = !directB ? packed + (long)jr * kc : nrr == nr ? b + (long)pc * ldb + jc + jr : buf.B;
                        int bStep = directB && nrr == nr ? ldb : nr;
                        for (int ir = 0; ir < mc; ir += mr)
                        {
                            int mrr = Math.Min(mr, mc - ir);
                            bool full = mrr == mr && nrr == nr;
                            float* cp = c + (long)(ic + ir) * ldc + jc + jr;
                            float* dst = full ? cp : tile;
                            int ldd = full ? ldc : nr;
                            bool add = full && load;
                            if (width != SimdWidth.V512) Kernel(width, kc, ablock + (long)ir * kc, bp, dst, ldd, add);
                            else if (directA && mrr == mr && ta == Transpose.No) Kernel12x32InPlaceA(kc, a + (ic + ir) * rowStep + pc * depthStep, lda, bp, bStep, dst, ldd, add);
                            else if (directA && mrr == mr) Kernel12x32(kc, a + (ic + ir) * rowStep + pc * depthStep, lda, bp, bStep, dst, ldd, add);
                            else Kernel12x32(kc, directA ? buf.A : ablock + (long)ir * kc, mr, bp, bStep, dst, ldd, add);
                            if (!full)
                                for (int i = 0; i < mrr; i++)
                                for (int j = 0; j < nrr; j++)
                                {
                                    float v = tile[i * nr + j];
                                    cp[(long)i * ldc + j] = load ? cp[(long)i * ldc + j] + v : v;
                                }
                            if (last) AddBias(cp, ldc, mrr, nrr, bias + jc + jr);
                        }
                    }
                }
            }
        }
    }

    // op(A)[ic.., pc..] (mc×kc) → panels of mr rows: panel[p*mr + r] = op(A)[ic+i0+r, pc+p], zero-padded.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackA(Transpose ta, float* a, int lda, int ic, int pc, int mc, int kc, int mr, float* dst)
    {
        int start = 0;
        if (ta == Transpose.Yes && mr % 6 == 0 && Vector128.IsHardwareAccelerated)
        {
            // op(A) = Aᵀ: a depth step's values for all the block's rows lie side by side in A. Read each such run once,
            // in order, handing every full panel its mr values (panel by panel, the same lines were fetched once per
            // panel, 4 KB and more apart: 4% of a training step).
            start = mc / mr * mr;
            for (int p = 0; p < kc; p++)
            {
                float* src = a + (long)(pc + p) * lda + ic, o = dst + p * mr;
                for (int i0 = 0; i0 < start; i0 += mr, src += mr, o += (long)mr * kc)
                {
                    int r = 0;
                    for (; r + 4 <= mr; r += 4) Vector128.Load(src + r).Store(o + r);
                    if (r < mr) *(double*)(o + r) = *(double*)(src + r); // the last two of a 6-row panel
                }
            }
        }
        for (int i0 = start; i0 < mc; i0 += mr)
        {
            int rows = Math.Min(mr, mc - i0);
            float* panel = dst + (long)i0 * kc;
            if (ta == Transpose.No && rows == mr && mr % 6 == 0 && Avx.IsSupported)
            {
                // Eight depth steps at a time, transposed in registers four rows at a time (and a last pair for 6-row
                // panels), instead of a load and a store per float: A's packing was 3% of a 2048³ product on the 256-bit
                // path and 10% of a training step on the 512-bit one.
                float* src = a + (long)(ic + i0) * lda + pc;
                int p = 0;
                for (; p + 8 <= kc; p += 8)
                {
                    float* s = src + p, o = panel + p * mr;
                    int r = 0;
                    for (; r + 4 <= mr; r += 4) Transpose4x8(s + r * (long)lda, lda, o + r, mr);
                    if (r < mr) Transpose2x8(s + r * (long)lda, lda, o + r, mr);
                }
                for (; p < kc; p++)
                    for (int r = 0; r < mr; r++) panel[p * mr + r] = src[(long)r * lda + p];
            }
            else if (ta == Transpose.No)
            {
                for (int r = 0; r < rows; r++)
                {
                    float* src = a + (long)(ic + i0 + r) * lda + pc;
                    for (int p = 0; p < kc; p++) panel[p * mr + r] = src[p];
                }
            }
            else
            {
                for (int p = 0; p < kc; p++)
                {
                    float* src = a + (long)(pc + p) * lda + ic + i0;
                    for (int r = 0; r < rows; r++) panel[p * mr + r] = src[r];
                }
            }
            if (rows < mr)
                for (int p = 0; p < kc; p++)
                for (int r = rows; r < mr; r++) panel[p * mr + r] = 0f;
        }
    }

    // Four rows × eight depth steps (rows ld apart) → eight 4-float columns at o, o + stride, …, o + 7·stride.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose4x8(float* s, int ld, float* o, int stride)
    {
        var r0 = Vector256.Load(s); var r1 = Vector256.Load(s + ld); var r2 = Vector256.Load(s + 2L * ld); var r3 = Vector256.Load(s + 3L * ld);
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1); // (r0 r1) at depth 0,1 | 4,5 and 2,3 | 6,7
        Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> d0 = Avx.Shuffle(t0, t2, 0x44), d1 = Avx.Shuffle(t0, t2, 0xEE); // the 4 rows at depth 0 | 4 and 1 | 5
        Vector256<float> d2 = Avx.Shuffle(t1, t3, 0x44), d3 = Avx.Shuffle(t1, t3, 0xEE); // 2 | 6 and 3 | 7
        d0.GetLower().Store(o); d1.GetLower().Store(o + stride); d2.GetLower().Store(o + 2 * stride); d3.GetLower().Store(o + 3 * stride);
        d0.GetUpper().Store(o + 4 * stride); d1.GetUpper().Store(o + 5 * stride); d2.GetUpper().Store(o + 6 * stride); d3.GetUpper().Store(o + 7 * stride);
    }

    // Two rows × eight depth steps → eight 2-float columns at o, o + stride, ….
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose2x8(float* s, int ld, float* o, int stride)
    {
        var r0 = Vector256.Load(s); var r1 = Vector256.Load(s + ld);
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1); // each pair is one depth step's
        Vector128<double> e0 = t0.GetLower().AsDouble(), e1 = t1.GetLower().AsDouble(), e2 = t0.GetUpper().AsDouble(), e3 = t1.GetUpper().AsDouble();
        Sse2.StoreLow((double*)o, e0); Sse2.StoreHigh((double*)(o + stride), e0);
        Sse2.StoreLow((double*)(o + 2 * stride), e1); Sse2.StoreHigh((double*)(o + 3 * stride), e1);
        Sse2.StoreLow((double*)(o + 4 * stride), e2); Sse2.StoreHigh((double*)(o + 5 * stride), e2);
        Sse2.StoreLow((double*)(o + 6 * stride), e3); Sse2.StoreHigh((double*)(o + 7 * stride), e3);
    }

    // One depth row of a B panel: cols (≤ nr) values of B [k, n] copied, the rest of the nr zero.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PanelRow(float* src, float* d, int cols, int nr)
    {
        if (cols == nr && nr % 8 == 0 && Vector256.IsHardwareAccelerated)
        {
            for (int j = 0; j < nr; j += 8) Vector256.Load(src + j).Store(d + j); // no call per 16 or 32 floats
            return;
        }
        for (int j = 0; j < cols; j++) d[j] = src[j];
        for (int j = cols; j < nr; j++) d[j] = 0f;
    }

    // op(B)[pc.., jc..] (kc×nc) → panels of nr columns: panel[p*nr + j] = op(B)[pc+p, jc+j0+j], zero-padded.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackB(Transpose tb, float* b, int ldb, int pc, int jc, int kc, int nc, int nr, float* dst)
    {
        for (int j0 = 0; j0 < nc; j0 += nr)
        {
            int cols = Math.Min(nr, nc - j0);
            float* panel = dst + (long)j0 * kc;
            if (tb == Transpose.No)
            {
                for (int p = 0; p < kc; p++) PanelRow(b + (long)(pc + p) * ldb + jc + j0, panel + p * nr, cols, nr);
            }
            else if (cols == nr && nr % 4 == 0 && Avx.IsSupported)
            {
                // op(B) = Bᵀ (a linear layer's weights [out, in]): eight depth steps of four outputs at a time, transposed
                // in registers, instead of a load and a store per float.
                float* src = b + (long)(jc + j0) * ldb + pc;
                int p = 0;
                for (; p + 8 <= kc; p += 8)
                    for (int j = 0; j < nr; j += 4) Transpose4x8(src + (long)j * ldb + p, ldb, panel + p * nr + j, nr);
                for (; p < kc; p++)
                    for (int j = 0; j < nr; j++) panel[p * nr + j] = src[(long)j * ldb + p];
            }
            else
            {
                for (int j = 0; j < cols; j++)
                {
                    float* src = b + (long)(jc + j0 + j) * ldb + pc;
                    for (int p = 0; p < kc; p++) panel[p * nr + j] = src[p];
                }
                if (cols < nr)
                    for (int p = 0; p < kc; p++)
                    for (int j = cols; j < nr; j++) panel[p * nr + j] = 0f;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Kernel(SimdWidth w, int kc, float* a, float* b, float* c, int ldc, bool load)
    {
        if (w == SimdWidth.V512) Kernel12x32(kc, a, 12, b, 32, c, ldc, load);
        else if (w == SimdWidth.V256) Kernel6x16(kc, a, b, c, ldc, load);
        else Kernel6x8(kc, a, b, c, ldc, load);
    }

    // Kernel12x32 reading A [rows, lda] in place: row r's depth step p at a[r·lda + p], three base pointers and
    // scaled row offsets so every broadcast is one load with no address arithmetic.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel12x32InPlaceA(int kc, float* a, int lda, float* b, int bStep, float* c, int ldc, bool load)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default,
            c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default,
            c90 = default, c91 = default, ca0 = default, ca1 = default, cb0 = default, cb1 = default;
        nint l1 = lda, l2 = 2 * (nint)lda, l3 = 3 * (nint)lda;
        float* a0 = a, a4 = a + 4 * l1, a8 = a + 8 * l1;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            Vector512<float> x;
            x = Vector512.Create(a0[0]); c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a0[l1]); c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a0[l2]); c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a0[l3]); c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a4[0]); c40 = Vector512.FusedMultiplyAdd(x, b0, c40); c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a4[l1]); c50 = Vector512.FusedMultiplyAdd(x, b0, c50); c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(a4[l2]); c60 = Vector512.FusedMultiplyAdd(x, b0, c60); c61 = Vector512.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(a4[l3]); c70 = Vector512.FusedMultiplyAdd(x, b0, c70); c71 = Vector512.FusedMultiplyAdd(x, b1, c71);
            x = Vector512.Create(a8[0]); c80 = Vector512.FusedMultiplyAdd(x, b0, c80); c81 = Vector512.FusedMultiplyAdd(x, b1, c81);
            x = Vector512.Create(a8[l1]); c90 = Vector512.FusedMultiplyAdd(x, b0, c90); c91 = Vector512.FusedMultiplyAdd(x, b1, c91);
            x = Vector512.Create(a8[l2]); ca0 = Vector512.FusedMultiplyAdd(x, b0, ca0); ca1 = Vector512.FusedMultiplyAdd(x, b1, ca1);
            x = Vector512.Create(a8[l3]); cb0 = Vector512.FusedMultiplyAdd(x, b0, cb0); cb1 = Vector512.FusedMultiplyAdd(x, b1, cb1);
            a0++; a4++; a8++;
            b += bStep;
        }
        Store12x32(c, ldc, load, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51,
            c60, c61, c70, c71, c80, c81, c90, c91, ca0, ca1, cb0, cb1);
    }

    // 12×32 tile in 24 zmm accumulators; per depth step: 2 B loads, 12 broadcasts, 24 FMAs. A depth step's 12 values of
    // op(A) lie side by side, the next step's aStep floats on: a packed panel (aStep = 12) or Aᵀ read in place (aStep = lda);
    // its 32 of op(B) likewise, bStep floats apart: a packed panel (32) or B [k, n] read in place (ldb).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel12x32(int kc, float* a, int aStep, float* b, int bStep, float* c, int ldc, bool load)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default,
            c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default,
            c90 = default, c91 = default, ca0 = default, ca1 = default, cb0 = default, cb1 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            Vector512<float> x;
            x = Vector512.Create(a[0]); c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a[1]); c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a[2]); c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a[3]); c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a[4]); c40 = Vector512.FusedMultiplyAdd(x, b0, c40); c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a[5]); c50 = Vector512.FusedMultiplyAdd(x, b0, c50); c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(a[6]); c60 = Vector512.FusedMultiplyAdd(x, b0, c60); c61 = Vector512.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(a[7]); c70 = Vector512.FusedMultiplyAdd(x, b0, c70); c71 = Vector512.FusedMultiplyAdd(x, b1, c71);
            x = Vector512.Create(a[8]); c80 = Vector512.FusedMultiplyAdd(x, b0, c80); c81 = Vector512.FusedMultiplyAdd(x, b1, c81);
            x = Vector512.Create(a[9]); c90 = Vector512.FusedMultiplyAdd(x, b0, c90); c91 = Vector512.FusedMultiplyAdd(x, b1, c91);
            x = Vector512.Create(a[10]); ca0 = Vector512.FusedMultiplyAdd(x, b0, ca0); ca1 = Vector512.FusedMultiplyAdd(x, b1, ca1);
            x = Vector512.Create(a[11]); cb0 = Vector512.FusedMultiplyAdd(x, b0, cb0); cb1 = Vector512.FusedMultiplyAdd(x, b1, cb1);
            a += aStep;
            b += bStep;
        }
        Store12x32(c, ldc, load, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51,
            c60, c61, c70, c71, c80, c81, c90, c91, ca0, ca1, cb0, cb1);
    }

    // A 12×32 tile's 24 accumulators stored (or added) row by row.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store12x32(float* c, int ldc, bool load,
        Vector512<float> c00, Vector512<float> c01, Vector512<float> c10, Vector512<float> c11, Vector512<float> c20, Vector512<float> c21,
        Vector512<float> c30, Vector512<float> c31, Vector512<float> c40, Vector512<float> c41, Vector512<float> c50, Vector512<float> c51,
        Vector512<float> c60, Vector512<float> c61, Vector512<float> c70, Vector512<float> c71, Vector512<float> c80, Vector512<float> c81,
        Vector512<float> c90, Vector512<float> c91, Vector512<float> ca0, Vector512<float> ca1, Vector512<float> cb0, Vector512<float> cb1)
    {
        Store512(c, c00, c01, load); c += ldc;
        Store512(c, c10, c11, load); c += ldc;
        Store512(c, c20, c21, load); c += ldc;
        Store512(c, c30, c31, load); c += ldc;
        Store512(c, c40, c41, load); c += ldc;
        Store512(c, c50, c51, load); c += ldc;
        Store512(c, c60, c61, load); c += ldc;
        Store512(c, c70, c71, load); c += ldc;
        Store512(c, c80, c81, load); c += ldc;
        Store512(c, c90, c91, load); c += ldc;
        Store512(c, ca0, ca1, load); c += ldc;
        Store512(c, cb0, cb1, load);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store512(float* c, Vector512<float> v0, Vector512<float> v1, bool load)
    {
        if (load)
        {
            v0 += Vector512.Load(c);
            v1 += Vector512.Load(c + 16);
        }
        v0.Store(c);
        v1.Store(c + 16);
    }

    // 6×16 tile in 12 ymm accumulators (AVX2 has 16 registers).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel6x16(int kc, float* a, float* b, float* c, int ldc, bool load)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            Vector256<float> x;
            x = Vector256.Create(a[0]); c00 = Vector256.FusedMultiplyAdd(x, b0, c00); c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
            x = Vector256.Create(a[1]); c10 = Vector256.FusedMultiplyAdd(x, b0, c10); c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
            x = Vector256.Create(a[2]); c20 = Vector256.FusedMultiplyAdd(x, b0, c20); c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
            x = Vector256.Create(a[3]); c30 = Vector256.FusedMultiplyAdd(x, b0, c30); c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
            x = Vector256.Create(a[4]); c40 = Vector256.FusedMultiplyAdd(x, b0, c40); c41 = Vector256.FusedMultiplyAdd(x, b1, c41);
            x = Vector256.Create(a[5]); c50 = Vector256.FusedMultiplyAdd(x, b0, c50); c51 = Vector256.FusedMultiplyAdd(x, b1, c51);
            a += 6;
            b += 16;
        }
        Store256(c, c00, c01, load); c += ldc;
        Store256(c, c10, c11, load); c += ldc;
        Store256(c, c20, c21, load); c += ldc;
        Store256(c, c30, c31, load); c += ldc;
        Store256(c, c40, c41, load); c += ldc;
        Store256(c, c50, c51, load);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store256(float* c, Vector256<float> v0, Vector256<float> v1, bool load)
    {
        if (load)
        {
            v0 += Vector256.Load(c);
            v1 += Vector256.Load(c + 8);
        }
        v0.Store(c);
        v1.Store(c + 8);
    }

    // 6×8 tile in 12 xmm accumulators (SSE / NEON).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel6x8(int kc, float* a, float* b, float* c, int ldc, bool load)
    {
        Vector128<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector128.Load(b);
            var b1 = Vector128.Load(b + 4);
            Vector128<float> x;
            x = Vector128.Create(a[0]); c00 = Vector128.FusedMultiplyAdd(x, b0, c00); c01 = Vector128.FusedMultiplyAdd(x, b1, c01);
            x = Vector128.Create(a[1]); c10 = Vector128.FusedMultiplyAdd(x, b0, c10); c11 = Vector128.FusedMultiplyAdd(x, b1, c11);
            x = Vector128.Create(a[2]); c20 = Vector128.FusedMultiplyAdd(x, b0, c20); c21 = Vector128.FusedMultiplyAdd(x, b1, c21);
            x = Vector128.Create(a[3]); c30 = Vector128.FusedMultiplyAdd(x, b0, c30); c31 = Vector128.FusedMultiplyAdd(x, b1, c31);
            x = Vector128.Create(a[4]); c40 = Vector128.FusedMultiplyAdd(x, b0, c40); c41 = Vector128.FusedMultiplyAdd(x, b1, c41);
            x = Vector128.Create(a[5]); c50 = Vector128.FusedMultiplyAdd(x, b0, c50); c51 = Vector128.FusedMultiplyAdd(x, b1, c51);
            a += 6;
            b += 8;
        }
        Store128(c, c00, c01, load); c += ldc;
        Store128(c, c10, c11, load); c += ldc;
        Store128(c, c20, c21, load); c += ldc;
        Store128(c, c30, c31, load); c += ldc;
        Store128(c, c40, c41, load); c += ldc;
        Store128(c, c50, c51, load);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store128(float* c, Vector128<float> v0, Vector128<float> v1, bool load)
    {
        if (load)
        {
            v0 += Vector128.Load(c);
            v1 += Vector128.Load(c + 4);
        }
        v0.Store(c);
        v1.Store(c + 4);
    }
}
