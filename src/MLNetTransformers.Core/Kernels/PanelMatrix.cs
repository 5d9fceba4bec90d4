using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MLNetTransformers.Core.Kernels;

/// <summary>
/// A weight matrix W [n, k] (a linear layer's [out, in]) laid out once for inference: y[m, n] = x[m, k]·Wᵀ (+ b), as
/// ONNX Runtime pre-packs a session's weights. Stored as panels of <see cref="Width"/> outputs, [⌈n/32⌉][k][32]: a call
/// streams each panel contiguously past blocks of 128 rows (which stay in L2), and its register tile (8 rows × 32
/// outputs on 512-bit vectors; 8 panels at once for a single row) needs no horizontal sums. The general
/// <see cref="Gemm"/> packs W at every call, which at decoding's few rows costs as much as the product; with the
/// packing done once (<see cref="Pack"/> refreshes it from the current weights) the reference encoder's products run at
/// 520-530 GFLOP/s from 128 rows to 4,096 on the Zen 5 machines (the general GEMM: 220 at 128 rows, 460 at 4,096). Every output is one fused
/// multiply-add chain over k in order, whatever the row count, vector width or thread: a row's result does not depend
/// on which other rows share the call.
/// </summary>
internal sealed unsafe class PanelMatrix
{
    /// <summary>Outputs per panel.</summary>
    public const int Width = 32;
    private const int RowBlock = 128;

    private readonly float[] _panels;

    /// <summary>Room for a [<paramref name="rows"/>, <paramref name="cols"/>] matrix; <see cref="Pack"/> fills it.</summary>
    public PanelMatrix(int rows, int cols)
    {
        if (rows <= 0 || cols <= 0) throw new ArgumentOutOfRangeException(nameof(rows), $"A panel matrix needs positive sizes, got [{rows}, {cols}].");
        (Outputs, Inputs) = (rows, cols);
        _panels = new float[(long)(rows + Width - 1) / Width * Width * cols];
    }

    /// <summary>n: rows of W (outputs).</summary>
    public int Outputs { get; }
    /// <summary>k: columns of W (inputs).</summary>
    public int Inputs { get; }

    /// <summary>Copies <paramref name="weight"/> [n, k] (row-major) into the panels; the padding outputs of the last panel stay zero.</summary>
    public void Pack(ReadOnlySpan<float> weight)
    {
        if (weight.Length < Outputs * Inputs) throw new ArgumentException($"A [{Outputs}, {Inputs}] weight needs {Outputs * Inputs} values; got {weight.Length}.", nameof(weight));
        fixed (float* w = weight, p = _panels)
            for (int j = 0; j < Outputs; j += Width)
                BlockTranspose.Run(w + (long)j * Inputs, Inputs, Math.Min(Width, Outputs - j), Inputs, p + (long)j * Inputs, Width);
    }

    /// <summary>y[m, n] = x[m, k]·Wᵀ (+ <paramref name="bias"/>) for m ≥ 1 rows.</summary>
    public void Multiply(ReadOnlySpan<float> x, int m, Span<float> y, ReadOnlySpan<float> bias = default)
    {
        int n = Outputs, k = Inputs;
        if (m < 1) throw new ArgumentOutOfRangeException(nameof(m), m, "The panel kernel needs at least one row.");
        if (x.Length < m * k || y.Length < m * n) throw new ArgumentException($"[{m}, {k}] · [{n}, {k}]ᵀ needs {m * k} inputs and {m * n} outputs; got {x.Length} and {y.Length}.", nameof(x));
        if (!bias.IsEmpty && bias.Length < n) throw new ArgumentException($"Bias has {bias.Length} elements for {n} outputs.", nameof(bias));
        fixed (float* px = x, py = y, pb = bias, pw = _panels)
        {
            var job = Job.ForThisThread;
            (job.M, job.N, job.K) = (m, n, k);
            job.X = px; job.Y = py; job.Bias = bias.IsEmpty ? null : pb; job.Panels = pw;
            job.Width = Gemm.Width == SimdWidth.Auto ? Gemm.HardwareWidth : Gemm.Width;
            int panels = (n + Width - 1) / Width;
            // Small products stay on one core: waking the other costs more than it saves.
            int pieces = (long)m * n * k >= 1 << 18 ? Math.Min(panels, WorkerPool.Degree * 4) : 1;
            job.Chunk = (panels + pieces - 1) / pieces;
            job.PanelPieces = (panels + job.Chunk - 1) / job.Chunk;
            // Rows in blocks whose inputs stay in L2 while the panels stream past them.
            job.RowBlocks = (m + RowBlock - 1) / RowBlock;
            pieces = job.PanelPieces * job.RowBlocks;
            if (pieces == 1) job.Run(0);
            else WorkerPool.For(pieces, job);
        }
    }

    private sealed class Job : IParallelWork
    {
        [ThreadStatic] private static Job? _cached;
        public static Job ForThisThread => _cached ??= new Job();
        public int M, N, K, Chunk, PanelPieces, RowBlocks;
        public float* X, Y, Bias, Panels;
        public SimdWidth Width;

        public void Run(int piece)
        {
            int block = piece / PanelPieces, r0 = block * RowBlock, m = Math.Min(RowBlock, M - r0);
            Run(piece % PanelPieces, m, X + (long)r0 * K, Y + (long)r0 * N);
        }

        private void Run(int piece, int rows, float* x, float* y)
        {
            int panels = (N + PanelMatrix.Width - 1) / PanelMatrix.Width;
            int p0 = piece * Chunk, p1 = Math.Min(panels, p0 + Chunk);
            // The kernels leave their accumulators in a stack tile and the outputs are written here: a call inside a
            // kernel, even after its loop, makes the JIT keep the accumulators in memory through the loop.
            float* t = stackalloc float[8 * PanelMatrix.Width];
            if (Width == SimdWidth.V512 && rows == 1)
            {
                for (int p = p0; p < p1; p += 8)
                {
                    int n = Math.Min(8, p1 - p), j = p * PanelMatrix.Width;
                    Row512(n, K, x, Panels + (long)p * K * PanelMatrix.Width, t);
                    Emit(t, 0, 1, y + j, 0, Bias is null ? null : Bias + j, Math.Min(N - j, n * PanelMatrix.Width)); // the panels' outputs are consecutive
                }
                return;
            }
            for (int p = p0; p < p1; p++)
            {
                float* panel = Panels + (long)p * K * PanelMatrix.Width;
                int j = p * PanelMatrix.Width, cols = Math.Min(PanelMatrix.Width, N - j);
                if (Width == SimdWidth.V512)
                    for (int i = 0; i < rows; i += 8)
                    {
                        RowGemm.Tile(Math.Min(8, rows - i), K, x + (long)i * K, K, panel, PanelMatrix.Width, t, PanelMatrix.Width, accumulate: false, wide: true);
                        Emit(t, PanelMatrix.Width, Math.Min(8, rows - i), y + (long)i * N + j, N, Bias is null ? null : Bias + j, cols);
                    }
                else if (Width == SimdWidth.V256)
                    for (int half = 0; half < cols; half += 16)
                        for (int i = 0; i < rows; i += 6)
                        {
                            Tile256(Math.Min(6, rows - i), K, x + (long)i * K, panel + half, t);
                            Emit(t, 16, Math.Min(6, rows - i), y + (long)i * N + j + half, N, Bias is null ? null : Bias + j + half, Math.Min(16, cols - half));
                        }
                else
                    for (int i = 0; i < rows; i++)
                        for (int c = 0; c < cols; c++)
                        {
                            float s = 0;
                            for (int q = 0; q < K; q++) s = MathF.FusedMultiplyAdd(x[(long)i * K + q], panel[(long)q * PanelMatrix.Width + c], s);
                            y[(long)i * N + j + c] = Bias is null ? s : s + Bias[j + c];
                        }
            }
        }
    }

    // One row (a single sequence's step) against up to 8 panels at once: 16 independent chains, where one panel's two
    // would wait on the FMA latency. Missing panels repeat the last; the caller stores only the panels that exist.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Row512(int panels, int k, float* x, float* b, float* t)
    {
        long stride = (long)k * Width;
        float* b0 = b, b1 = b + Math.Min(1, panels - 1) * stride, b2 = b + Math.Min(2, panels - 1) * stride, b3 = b + Math.Min(3, panels - 1) * stride;
        float* b4 = b + Math.Min(4, panels - 1) * stride, b5 = b + Math.Min(5, panels - 1) * stride, b6 = b + Math.Min(6, panels - 1) * stride, b7 = b + Math.Min(7, panels - 1) * stride;
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        for (long q = 0; q < stride; q += Width)
        {
            var v = Vector512.Create(x[q / Width]);
            c00 = Vector512.FusedMultiplyAdd(v, Vector512.Load(b0 + q), c00); c01 = Vector512.FusedMultiplyAdd(v, Vector512.Load(b0 + q + 16), c01);
            c10 = Vector512.FusedMultiplyAdd(v, Vector512.Load(b1 + q), c10); c11 = Vector512.FusedMultiplyAdd(v, Vector512.Load(b1 + q + 16), c11);
            c20 = Vector512.FusedMultiplyAdd(v, Vector512.Load(b2 + q), c20); c21 = Vector512.FusedMultiplyAdd(v, Vector512.Load(b2 + q + 16), c21);
            c30 = Vector512.FusedMultiplyAdd(v, Vector512.Load(b3 + q), c30); c31 = Vector512.FusedMultiplyAdd(v, Vector512.Load(b3 + q + 16), c31);
            c40 = Vector512.FusedMultiplyAdd(v, Vector512.Load(b4 + q), c40); c41 = Vector512.FusedMultiplyAdd(v, Vector512.Load(b4 + q + 16), c41);
            c50 = Vector512.FusedMultiplyAdd(v, Vector512.Load(b5 + q), c50); c51 = Vector512.FusedMultiplyAdd(v, Vector512.Load(b5 + q + 16), c51);
            c60 = Vector512.FusedMultiplyAdd(v, Vector512.Load(b6 + q), c60); c61 = Vector512.FusedMultiplyAdd(v, Vector512.Load(b6 + q + 16), c61);
            c70 = Vector512.FusedMultiplyAdd(v, Vector512.Load(b7 + q), c70); c71 = Vector512.FusedMultiplyAdd(v, Vector512.Load(b7 + q + 16), c71);
        }
        c00.Store(t); c01.Store(t + 16); c10.Store(t + 32); c11.Store(t + 48); c20.Store(t + 64); c21.Store(t + 80); c30.Store(t + 96); c31.Store(t + 112);
        c40.Store(t + 128); c41.Store(t + 144); c50.Store(t + 160); c51.Store(t + 176); c60.Store(t + 192); c61.Store(t + 208); c70.Store(t + 224); c71.Store(t + 240);
    }

    // Rows x[0..mr) (mr ≤ 6) against 16 outputs of one panel (its stride stays 32): 12 accumulators, within AVX2's 16 registers.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile256(int mr, int k, float* x, float* b, float* t)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        float* x0 = x, x1 = x + Math.Min(1, mr - 1) * k, x2 = x + Math.Min(2, mr - 1) * k;
        float* x3 = x + Math.Min(3, mr - 1) * k, x4 = x + Math.Min(4, mr - 1) * k, x5 = x + Math.Min(5, mr - 1) * k;
        for (int q = 0; q < k; q++, b += Width)
        {
            var b0 = Vector256.Load(b); var b1 = Vector256.Load(b + 8);
            var v = Vector256.Create(x0[q]); c00 = Vector256.FusedMultiplyAdd(v, b0, c00); c01 = Vector256.FusedMultiplyAdd(v, b1, c01);
            v = Vector256.Create(x1[q]); c10 = Vector256.FusedMultiplyAdd(v, b0, c10); c11 = Vector256.FusedMultiplyAdd(v, b1, c11);
            v = Vector256.Create(x2[q]); c20 = Vector256.FusedMultiplyAdd(v, b0, c20); c21 = Vector256.FusedMultiplyAdd(v, b1, c21);
            v = Vector256.Create(x3[q]); c30 = Vector256.FusedMultiplyAdd(v, b0, c30); c31 = Vector256.FusedMultiplyAdd(v, b1, c31);
            v = Vector256.Create(x4[q]); c40 = Vector256.FusedMultiplyAdd(v, b0, c40); c41 = Vector256.FusedMultiplyAdd(v, b1, c41);
            v = Vector256.Create(x5[q]); c50 = Vector256.FusedMultiplyAdd(v, b0, c50); c51 = Vector256.FusedMultiplyAdd(v, b1, c51);
        }
        c00.Store(t); c01.Store(t + 8); c10.Store(t + 16); c11.Store(t + 24); c20.Store(t + 32); c21.Store(t + 40);
        c30.Store(t + 48); c31.Store(t + 56); c40.Store(t + 64); c41.Store(t + 72); c50.Store(t + 80); c51.Store(t + 88);
    }

    // y[r, c] = tile[r, c] (+ bias[c]) for the rows and outputs that exist.
    private static void Emit(float* tile, int tileStride, int rows, float* y, int ldy, float* bias, int cols)
    {
        if (Vector512.IsHardwareAccelerated && (cols == 16 || cols == Width))
        {
            // A whole panel (or half): vectors straight through, no call per row; a call for 32 floats cost 1 µs in 10.
            for (int c = 0; c < cols; c += 16)
            {
                var b = bias is null ? Vector512<float>.Zero : Vector512.Load(bias + c);
                for (int r = 0; r < rows; r++)
                {
                    var v = Vector512.Load(tile + (long)r * tileStride + c);
                    (bias is null ? v : v + b).Store(y + (long)r * ldy + c);
                }
            }
            return;
        }
        for (int r = 0; r < rows; r++)
        {
            var src = new ReadOnlySpan<float>(tile + (long)r * tileStride, cols);
            var dst = new Span<float>(y + (long)r * ldy, cols);
            if (bias is null) src.CopyTo(dst);
            else TensorPrimitives.Add(src, new ReadOnlySpan<float>(bias, cols), dst);
        }
    }
}
