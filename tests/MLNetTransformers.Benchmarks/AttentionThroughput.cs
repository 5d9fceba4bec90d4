using System.Diagnostics;
using System.Text.Json.Nodes;
using MLNetTransformers.Core.Kernels;
using MLNetTransformers.Core.Layers;

namespace MLNetTransformers.Benchmarks;

/// <summary>
/// Training attention alone on all-MiniLM-L6-v2's shape (12 heads of 32, dropout 0.1): forward and backward of one layer
/// over packed batches of 32 sequences whose lengths are drawn like SST-2's (mean about 26 tokens), the best of
/// <c>--rounds</c> rounds of <c>--reps</c> steps. The per-head products are small (26 × 26 × 32), so this shows the cost
/// of running them, which the whole-model figures hide in noise.
/// <c>attention [--reps 200] [--rounds 5] [--seed 1]</c>; prints JSON.
/// </summary>
internal static class AttentionThroughput
{
    public static int Run(CommandArguments args)
    {
        int reps = args.GetInt("--reps", 200), rounds = args.GetInt("--rounds", 5);
        const int batch = 32, heads = 12, hd = 32, a = heads * hd;
        var rng = new DeterministicRandom((ulong)args.GetInt("--seed", 1));
        // SST-2-like sentence lengths in WordPiece tokens with [CLS]/[SEP]: normal around 26 (sd 11), clamped to 6-66.
        int[] lengths = Enumerable.Range(0, batch).Select(_ => Math.Clamp((int)(26 + 11 * rng.NextGaussian()), 6, 66)).ToArray();
        int t = lengths.Max();
        var pad = new bool[batch * t];
        for (int b = 0; b < batch; b++) for (int j = lengths[b]; j < t; j++) pad[b * t + j] = true;
        var packing = new PackedSequences();
        if (!packing.TryPack(pad, batch, t)) throw new InvalidOperationException("The batch did not pack.");
        int rows = packing.Rows;
        float[] Random(int n) { var x = new float[n]; for (int i = 0; i < n; i++) x[i] = (float)rng.NextGaussian(); return x; }
        float[] q = Random(rows * a), k = Random(rows * a), v = Random(rows * a), dOut = Random(rows * a);
        float[] output = new float[rows * a], dq = new float[rows * a], dk = new float[rows * a], dv = new float[rows * a];
        var attention = new ScaledDotProductAttention { DropoutP = 0.1f };
        void Step()
        {
            attention.Forward(new(q, 0, a), new(k, 0, a), new(v, 0, a), output, batch, heads, t, t, hd, 1f / MathF.Sqrt(hd), false, null,
                packed: packing, training: true);
            Array.Clear(dq); Array.Clear(dk); Array.Clear(dv);
            attention.Backward(dOut, new(dq, 0, a), new(dk, 0, a), new(dv, 0, a));
        }
        for (int i = 0; i < 20; i++) Step();
        double best = double.MaxValue;
        for (int r = 0; r < rounds; r++)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < reps; i++) Step();
            best = Math.Min(best, sw.Elapsed.TotalSeconds / reps);
        }
        // Six products of 2·len²·hd FLOPs per head and sequence (two forward, four backward).
        double flops = lengths.Sum(len => 6.0 * 2 * len * len * hd) * heads;
        Console.WriteLine(new JsonObject
        {
            ["shape"] = $"batch {batch}, heads {heads} x {hd}, lengths {lengths.Min()}-{t} (mean {lengths.Average():F1})",
            ["us_per_step"] = Math.Round(best * 1e6, 1),
            ["product_gflops"] = Math.Round(flops / best / 1e9, 1),
            ["machine"] = Throughput.Machine(),
        }.ToJsonString());
        return 0;
    }
}
