using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MLNetTransformers.Core.Kernels;

/// <summary>
/// y[m, n] = x[m, k] · Wᵀ + bias with W int8 (<see cref="QuantizedMatrix"/>) and x quantized per row at run time to
/// unsigned 8 bits (asymmetric: x ≈ s_r·(x_q − z_r), s_r = (max − min)/255 over the row with 0 in range). The integer
/// products accumulate exactly in int32: y = s_r·s_o·(Σ x_q·w_q − z_r·Σ w_q) + b. On AVX-VNNI the kernel is
/// <c>vpdpbusd</c> on 256-bit vectors (32 multiply-adds per instruction; .NET 10 has no 512-bit VNNI API), in 6-row ×
/// 16-output tiles; without AVX-VNNI, as 16-bit widening multiply-adds (exact, unlike vpmaddubsw's saturating ones) on
/// 512-bit vectors where AVX-512BW is there (Skylake-SP to Ice Lake servers, Zen 4: AVX-512 without AVX-VNNI), else on
/// AVX2's 256-bit ones; elsewhere as scalar code. Rows are split across cores.
/// </summary>
internal sealed unsafe class Int8Gemm : IParallelWork
{
    private const int Rows = 6;
    [ThreadStatic] private static Int8Gemm? _cached;
    private byte[]? _xq;
    private short[]? _xq16;
    private float[]? _rowScale;
    private int[]? _rowZero;
    private float* _x, _y, _bias; // x [m, k] in, y [m, n] out
    private QuantizedMatrix _w = null!;
    private int _m, _chunk, _kPadded;
    private byte* _q;           // the quantized rows [m, kPadded]
    private short* _q16;        // the same widened to 16 bits, for the AVX-512 widening kernel
    private float* _s;          // each row's scale
    private int* _z;            // each row's zero point
    private sbyte* _packed;     // the weights in the kernel's layout
    private float* _scales;     // per output channel
    private int* _sums;         // Σ w_q per output channel

    /// <summary>The kernels, fastest first (the first this CPU runs is the default); each gives the same exact integer sums.</summary>
    internal enum Kernel { Vnni, Avx512Widening, Avx2Widening, Scalar }

    /// <summary>The kernel used: VNNI where the CPU has it, else widening multiply-adds on AVX-512BW's or AVX2's vectors, else scalar code (tests switch it).</summary>
    internal static Kernel Path { get; set; } = Enum.GetValues<Kernel>().First(IsSupported);

    /// <summary>Whether this CPU runs <paramref name="kernel"/>.</summary>
    internal static bool IsSupported(Kernel kernel) => kernel switch
    {
        Kernel.Vnni => AvxVnni.IsSupported,
        Kernel.Avx512Widening => Avx512BW.IsSupported,
        Kernel.Avx2Widening => Avx2.IsSupported,
        _ => true,
    };

    /// <summary>y[m, n] = x[m, k]·Wᵀ (+ bias), W quantized; x is quantized per row on the way.</summary>
    public static void Multiply(ReadOnlySpan<float> x, int m, QuantizedMatrix w, Span<float> y, ReadOnlySpan<float> bias = default)
    {
        int k = w.Inputs, n = w.Outputs;
        if (x.Length < m * k) throw new ArgumentException($"Input has {x.Length} values; [{m}, {k}] needs {m * k}.", nameof(x));
        if (y.Length < m * n) throw new ArgumentException($"Output has {y.Length} values; [{m}, {n}] needs {m * n}.", nameof(y));
        if (m == 0) return;
        var job = _cached ??= new Int8Gemm();
        int kp = w.Groups * 4;
        var xq = Workspace.Ensure(ref job._xq, (m + Rows) * kp);
        var scale = Workspace.Ensure(ref job._rowScale, m);
        var zero = Workspace.Ensure(ref job._rowZero, m);
        var xq16 = Path == Kernel.Avx512Widening ? Workspace.Ensure(ref job._xq16, (m + Rows) * kp) : null;
        fixed (float* px = x, py = y, pb = bias, ps = scale, pws = w.Scales)
        fixed (byte* pq = xq)
        fixed (short* pq16 = xq16)
        fixed (int* pz = zero, psums = w.ColumnSums)
        fixed (sbyte* pw = w.Packed)
        {
            job._x = px; job._y = py; job._bias = bias.IsEmpty ? null : pb; job._w = w; job._m = m; job._kPadded = kp;
            job._q = pq; job._q16 = pq16; job._s = ps; job._z = pz; job._packed = pw; job._scales = pws; job._sums = psums;
            int tiles = (m + Rows - 1) / Rows;
            long work = (long)m * n * k;
            int pieces = work >= 1 << 20 ? Math.Min(tiles, WorkerPool.Degree * 4) : 1;
            job._chunk = (tiles + pieces - 1) / pieces * Rows;
            pieces = (m + job._chunk - 1) / job._chunk;
            if (pieces == 1) job.Run(0);
            else WorkerPool.For(pieces, job);
            job._w = null!;
        }
    }

    /// <summary>x ≈ scale·(q − zero), q in [0, 255]; round half to even, as ONNX QuantizeLinear. Padding inputs get q = zero.</summary>
    internal static void QuantizeRow(ReadOnlySpan<float> x, Span<byte> q, out float scale, out int zero)
    {
        float min = Math.Min(0f, TensorPrimitives.Min(x)), max = Math.Max(0f, TensorPrimitives.Max(x));
        scale = (max - min) / 255f;
        if (scale == 0f) scale = 1f;
        zero = (int)Math.Clamp(MathF.Round(-min / scale, MidpointRounding.ToEven), 0f, 255f);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var s = Vector256.Create(scale);
            var z = Vector256.Create((float)zero);
            var lo = Vector256<float>.Zero;
            var hi = Vector256.Create(255f);
            for (; i + 16 <= x.Length; i += 16)
            {
                var a = Vector256.ConvertToInt32(Vector256.Min(Vector256.Max(Vector256.Round(Vector256.Create(x.Slice(i, 8)) / s) + z, lo), hi));
                var b = Vector256.ConvertToInt32(Vector256.Min(Vector256.Max(Vector256.Round(Vector256.Create(x.Slice(i + 8, 8)) / s) + z, lo), hi));
                var shorts = Vector256.Narrow(a.AsUInt32(), b.AsUInt32());                // 16 × ushort
                Vector128.Narrow(shorts.GetLower(), shorts.GetUpper()).CopyTo(q.Slice(i, 16)); // 16 × byte
            }
        }
        for (; i < x.Length; i++) q[i] = (byte)Math.Clamp(MathF.Round(x[i] / scale, MidpointRounding.ToEven) + zero, 0f, 255f);
        q[x.Length..].Fill((byte)zero);
    }

    public void Run(int piece)
    {
        int r0 = piece * _chunk, r1 = Math.Min(_m, r0 + _chunk), k = _w.Inputs, kp = _kPadded;
        // Each piece quantizes its own rows: the quantization runs on every core, and its rows are in cache for the tiles.
        for (int r = r0; r < r1; r++) QuantizeRow(new ReadOnlySpan<float>(_x + (long)r * k, k), new Span<byte>(_q + (long)r * kp, kp), out _s[r], out _z[r]);
        if (Path == Kernel.Avx512Widening) Widen(_q + (long)r0 * kp, _q16 + (long)r0 * kp, (long)(r1 - r0) * kp);
        // Blocks of 48 rows (their quantized bytes stay in L1) against each pair of weight panels in turn (a pair is
        // reused by the block's eight tiles from L1), so the weights stream from L2 once per 48 rows, not per 6.
        for (int b0 = r0; b0 < r1; b0 += 8 * Rows)
        {
            int b1 = Math.Min(r1, b0 + 8 * Rows);
            for (int panel = 0; panel < _w.PaddedOutputs / 8; panel += 2)
            for (int r = b0; r < b1; r += Rows)
            {
                int rows = Math.Min(Rows, b1 - r);
                switch (Path)
                {
                    case Kernel.Vnni: TileVnni(r, rows, panel); break;
                    case Kernel.Avx512Widening: TileAvx512(r, rows, panel); break;
                    case Kernel.Avx2Widening: TileAvx2(r, rows, panel); break;
                    default: TileScalar(r, rows, panel); break;
                }
            }
        }
    }

    // Rows r..r+rows (missing ones repeat the last and are not stored) × outputs 8·panel .. 8·panel + 16.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void TileVnni(int r, int rows, int panel)
    {
        int kp = _kPadded, groups = _w.Groups;
        byte* q0 = _q + (long)r * kp, q1 = _q + (long)(r + Math.Min(1, rows - 1)) * kp, q2 = _q + (long)(r + Math.Min(2, rows - 1)) * kp;
        byte* q3 = _q + (long)(r + Math.Min(3, rows - 1)) * kp, q4 = _q + (long)(r + Math.Min(4, rows - 1)) * kp, q5 = _q + (long)(r + Math.Min(5, rows - 1)) * kp;
        Vector256<int> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<int> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        sbyte* b0 = _packed + (long)panel * groups * 32, b1 = b0 + (long)groups * 32;
        for (int g = 0; g < groups; g++)
        {
            var w0 = Vector256.Load(b0 + g * 32);
            var w1 = Vector256.Load(b1 + g * 32);
            Vector256<byte> a;
            a = Vector256.Create(*(int*)(q0 + g * 4)).AsByte(); c00 = AvxVnni.MultiplyWideningAndAdd(c00, a, w0); c01 = AvxVnni.MultiplyWideningAndAdd(c01, a, w1);
            a = Vector256.Create(*(int*)(q1 + g * 4)).AsByte(); c10 = AvxVnni.MultiplyWideningAndAdd(c10, a, w0); c11 = AvxVnni.MultiplyWideningAndAdd(c11, a, w1);
            a = Vector256.Create(*(int*)(q2 + g * 4)).AsByte(); c20 = AvxVnni.MultiplyWideningAndAdd(c20, a, w0); c21 = AvxVnni.MultiplyWideningAndAdd(c21, a, w1);
            a = Vector256.Create(*(int*)(q3 + g * 4)).AsByte(); c30 = AvxVnni.MultiplyWideningAndAdd(c30, a, w0); c31 = AvxVnni.MultiplyWideningAndAdd(c31, a, w1);
            a = Vector256.Create(*(int*)(q4 + g * 4)).AsByte(); c40 = AvxVnni.MultiplyWideningAndAdd(c40, a, w0); c41 = AvxVnni.MultiplyWideningAndAdd(c41, a, w1);
            a = Vector256.Create(*(int*)(q5 + g * 4)).AsByte(); c50 = AvxVnni.MultiplyWideningAndAdd(c50, a, w0); c51 = AvxVnni.MultiplyWideningAndAdd(c51, a, w1);
        }
        int o = panel * 8;
        Store(r, o, c00, c01); if (rows == 1) return;
        Store(r + 1, o, c10, c11); if (rows == 2) return;
        Store(r + 2, o, c20, c21); if (rows == 3) return;
        Store(r + 3, o, c30, c31); if (rows == 4) return;
        Store(r + 4, o, c40, c41); if (rows == 5) return;
        Store(r + 5, o, c50, c51);
    }

    // AVX-512BW without VNNI: the AVX2 kernel's exact 16-bit widening multiply-adds on 512-bit vectors. One widened
    // weight vector holds a whole panel's group (8 outputs × 4 inputs); each 32-bit lane of vpmaddwd's result is half of
    // an output's group, so lanes 2j and 2j+1 are output j. All six rows run against the two panels' weights, widened
    // once per group (the AVX2 kernel widens them again for every pair of rows); at the end one two-source permutation
    // gathers the even and one the odd halves of both panels, and their sum is the 16 outputs in order.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void TileAvx512(int r, int rows, int panel)
    {
        int kp = _kPadded, groups = _w.Groups;
        short* q0 = _q16 + (long)r * kp, q1 = _q16 + (long)(r + Math.Min(1, rows - 1)) * kp, q2 = _q16 + (long)(r + Math.Min(2, rows - 1)) * kp;
        short* q3 = _q16 + (long)(r + Math.Min(3, rows - 1)) * kp, q4 = _q16 + (long)(r + Math.Min(4, rows - 1)) * kp, q5 = _q16 + (long)(r + Math.Min(5, rows - 1)) * kp;
        Vector512<int> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<int> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        sbyte* b0 = _packed + (long)panel * groups * 32, b1 = b0 + (long)groups * 32;
        for (int g = 0; g < groups; g++)
        {
            var w0 = Avx512BW.ConvertToVector512Int16(Vector256.Load(b0 + g * 32)); // 8 outputs × 4 inputs, 16 bits each
            var w1 = Avx512BW.ConvertToVector512Int16(Vector256.Load(b1 + g * 32));
            Vector512<short> a; // a row's 4 inputs, already 16 bits wide, broadcast 8 times (a load, no shuffle)
            a = Vector512.Create(*(long*)(q0 + g * 4)).AsInt16(); c00 += Avx512BW.MultiplyAddAdjacent(a, w0); c01 += Avx512BW.MultiplyAddAdjacent(a, w1);
            a = Vector512.Create(*(long*)(q1 + g * 4)).AsInt16(); c10 += Avx512BW.MultiplyAddAdjacent(a, w0); c11 += Avx512BW.MultiplyAddAdjacent(a, w1);
            a = Vector512.Create(*(long*)(q2 + g * 4)).AsInt16(); c20 += Avx512BW.MultiplyAddAdjacent(a, w0); c21 += Avx512BW.MultiplyAddAdjacent(a, w1);
            a = Vector512.Create(*(long*)(q3 + g * 4)).AsInt16(); c30 += Avx512BW.MultiplyAddAdjacent(a, w0); c31 += Avx512BW.MultiplyAddAdjacent(a, w1);
            a = Vector512.Create(*(long*)(q4 + g * 4)).AsInt16(); c40 += Avx512BW.MultiplyAddAdjacent(a, w0); c41 += Avx512BW.MultiplyAddAdjacent(a, w1);
            a = Vector512.Create(*(long*)(q5 + g * 4)).AsInt16(); c50 += Avx512BW.MultiplyAddAdjacent(a, w0); c51 += Avx512BW.MultiplyAddAdjacent(a, w1);
        }
        int o = panel * 8;
        Store512(r, o, c00, c01); if (rows == 1) return;
        Store512(r + 1, o, c10, c11); if (rows == 2) return;
        Store512(r + 2, o, c20, c21); if (rows == 3) return;
        Store512(r + 3, o, c30, c31); if (rows == 4) return;
        Store512(r + 4, o, c40, c41); if (rows == 5) return;
        Store512(r + 5, o, c50, c51);
    }

    // The quantized bytes zero-extended to 16 bits, once per row rather than once per row and panel pair.
    private static void Widen(byte* q, short* q16, long count)
    {
        long i = 0;
        for (; i + 32 <= count; i += 32) Avx512BW.ConvertToVector512Int16(Vector256.Load(q + i)).AsInt16().Store(q16 + i);
        for (; i < count; i++) q16[i] = q[i];
    }

    // Two panels' half-group sums (lanes 2j, 2j+1 = output j) added pairwise into their 16 outputs, then stored.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Store512(int row, int o, Vector512<int> first, Vector512<int> second)
    {
        var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        var sum = Avx512F.PermuteVar16x32x2(first, even, second) + Avx512F.PermuteVar16x32x2(first, even + Vector512<int>.One, second);
        Store(row, o, sum.GetLower(), sum.GetUpper());
    }

    // AVX2 without VNNI: u8 activations and s8 weights widened to 16 bits and multiplied by vpmaddwd, whose pair sums
    // (at most 2·255·128) fit 32 bits exactly, where vpmaddubsw's 16-bit pair sums would saturate. Each 32-bit lane holds
    // half of an output's 4-input group; a horizontal add and a lane permutation put the 8 outputs of a panel in order.
    // Two rows at a time keep the eight accumulators and the four widened weight vectors in registers.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void TileAvx2(int r, int rows, int panel)
    {
        int kp = _kPadded, groups = _w.Groups;
        sbyte* b0 = _packed + (long)panel * groups * 32, b1 = b0 + (long)groups * 32;
        var order = Vector256.Create(0, 1, 4, 5, 2, 3, 6, 7);
        for (int i = 0; i < rows; i += 2)
        {
            byte* qa = _q + (long)(r + i) * kp, qb = _q + (long)(r + Math.Min(i + 1, rows - 1)) * kp;
            Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default, c0 = default, c1 = default, c2 = default, c3 = default;
            for (int g = 0; g < groups; g++)
            {
                var w0 = Avx2.ConvertToVector256Int16(Sse2.LoadVector128(b0 + g * 32));       // outputs 0-3 of the first panel, ×4 inputs
                var w1 = Avx2.ConvertToVector256Int16(Sse2.LoadVector128(b0 + g * 32 + 16));  // outputs 4-7
                var w2 = Avx2.ConvertToVector256Int16(Sse2.LoadVector128(b1 + g * 32));       // the second panel
                var w3 = Avx2.ConvertToVector256Int16(Sse2.LoadVector128(b1 + g * 32 + 16));
                var xa = Avx2.ConvertToVector256Int16(Vector128.Create(*(int*)(qa + g * 4)).AsByte()); // the row's 4 inputs, 4 times
                var xb = Avx2.ConvertToVector256Int16(Vector128.Create(*(int*)(qb + g * 4)).AsByte());
                a0 = Avx2.Add(a0, Avx2.MultiplyAddAdjacent(xa, w0)); a1 = Avx2.Add(a1, Avx2.MultiplyAddAdjacent(xa, w1));
                a2 = Avx2.Add(a2, Avx2.MultiplyAddAdjacent(xa, w2)); a3 = Avx2.Add(a3, Avx2.MultiplyAddAdjacent(xa, w3));
                c0 = Avx2.Add(c0, Avx2.MultiplyAddAdjacent(xb, w0)); c1 = Avx2.Add(c1, Avx2.MultiplyAddAdjacent(xb, w1));
                c2 = Avx2.Add(c2, Avx2.MultiplyAddAdjacent(xb, w2)); c3 = Avx2.Add(c3, Avx2.MultiplyAddAdjacent(xb, w3));
            }
            int o = panel * 8;
            Store(r + i, o, Avx2.PermuteVar8x32(Avx2.HorizontalAdd(a0, a1), order), Avx2.PermuteVar8x32(Avx2.HorizontalAdd(a2, a3), order));
            if (i + 1 < rows) Store(r + i + 1, o, Avx2.PermuteVar8x32(Avx2.HorizontalAdd(c0, c1), order), Avx2.PermuteVar8x32(Avx2.HorizontalAdd(c2, c3), order));
        }
    }

    // The portable path: the same integer sums, one output at a time.
    private void TileScalar(int r, int rows, int panel)
    {
        int kp = _kPadded, groups = _w.Groups;
        Span<int> acc = stackalloc int[16];
        for (int i = 0; i < rows; i++)
        {
            byte* q = _q + (long)(r + i) * kp;
            for (int j = 0; j < 16; j++)
            {
                sbyte* b = _packed + (long)(panel + j / 8) * groups * 32 + (j % 8) * 4;
                int s = 0;
                for (int g = 0; g < groups; g++)
                for (int t = 0; t < 4; t++) s += q[g * 4 + t] * b[g * 32 + t];
                acc[j] = s;
            }
            Store(r + i, panel * 8, Vector256.Create(acc[..8]), Vector256.Create(acc[8..]));
        }
    }

    // y[row, o..o+16] = s_r·s_o·(acc − z_r·Σw_q) + b, for the outputs that exist.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Store(int row, int o, Vector256<int> lo, Vector256<int> hi)
    {
        int n = _w.Outputs;
        float sr = _s[row];
        int zr = _z[row];
        float* y = _y + (long)row * n;
        for (int half = 0; half < 2; half++)
        {
            int oo = o + half * 8;
            if (oo >= n) return;
            var acc = half == 0 ? lo : hi;
            var v = Vector256.ConvertToSingle(acc - Vector256.Create(zr) * Vector256.Load(_sums + oo)) * Vector256.Load(_scales + oo) * Vector256.Create(sr);
            if (oo + 8 <= n)
            {
                if (_bias != null) v += Vector256.Load(_bias + oo);
                v.Store(y + oo);
            }
            else
            {
                for (int j = 0; oo + j < n; j++) y[oo + j] = v.GetElement(j) + (_bias != null ? _bias[oo + j] : 0f);
            }
        }
    }
}
