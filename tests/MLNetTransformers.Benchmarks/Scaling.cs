using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Text.Json.Nodes;
using MLNetTransformers.Core.Kernels;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Core.Training;
using ScottPlot;

namespace MLNetTransformers.Benchmarks;

/// <summary>
/// `scaling [--peers] [--plots DIR]`: how cost grows with the work. The reference encoder classifier trains and infers at
/// sequence 64…1024 (batch 32, the reference model otherwise unchanged) and infers at batch 1…64 (sequence 128); each
/// (mode, shape) runs in a process of its own, ours and PyTorch's (peers/torch_scaling.py), so each peak resident memory
/// is that shape's alone. Each side times at least the given steps and at least one second after its warm-up. Also this machine's fp32 FMA peak, measured with independent accumulators on every core, and
/// the 1024³ GEMM as a fraction of it. Prints one JSON object; with --plots, PNG curves.
/// </summary>
internal static class Scaling
{
    private static readonly int[] SeqLengths = { 64, 128, 256, 512, 1024 };
    private static readonly int[] Batches = { 1, 2, 4, 8, 16, 32, 64 };

    /// <summary>`scaling`: the curves alone (the `throughput` run includes them with --scaling).</summary>
    public static int Run(CommandArguments args)
    {
        var result = new JsonObject { ["machine"] = Throughput.Machine() };
        var curves = Measure(args);
        foreach (var (k, v) in curves.ToList()) result[k] = v?.DeepClone();
        Console.WriteLine(result.ToJsonString());
        if (args.Get("--plots") is { } dir) Plot(curves, dir);
        return 0;
    }

    /// <summary>
    /// The FMA peak, GEMM as a fraction of it, and the curves (with `--peers`, PyTorch's beside ours; `--shapes-from FILE`
    /// re-assembles per-shape lines an earlier run wrote to standard error).
    /// </summary>
    public static JsonObject Measure(CommandArguments args)
    {
        bool peers = args.Has("--peers");
        int steps = args.GetInt("--scaling-steps", 2);
        var peak = FmaPeak();
        double gemm = Throughput.MeasureGemm(Transpose.No, Transpose.No, 1024, 1024, 1024, trials: 5);
        var result = new JsonObject
        {
            ["fma_peak_gflops"] = peak,
            ["gemm_1024_gflops"] = Math.Round(gemm, 1),
            ["gemm_1024_fraction_of_peak"] = Math.Round(gemm / peak["all_cores"]!.GetValue<double>(), 3),
        };
        var bySeq = new JsonArray();
        var byBatch = new JsonArray();
        if (args.Get("--shapes-from") is { } recorded)
        {
            var lines = File.ReadLines(recorded).Where(l => l.StartsWith('{')).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
            foreach (var o in lines.Where(o => (int)o["batch"]! == 32 && SeqLengths.Contains((int)o["seq"]!))) bySeq.Add(o.DeepClone());
            foreach (var o in lines.Where(o => (int)o["seq"]! == 128 && (string)o["mode"]! == "infer" && Batches.Contains((int)o["batch"]!))) byBatch.Add(o.DeepClone());
            result["shapes_from"] = Path.GetFileName(recorded);
        }
        else
        {
            foreach (int t in SeqLengths)
            foreach (string mode in new[] { "infer", "train" })
                bySeq.Add(Shape(mode, t, 32, steps, peers));
            foreach (int b in Batches) byBatch.Add(Shape("infer", 128, b, steps, peers));
        }
        result["by_sequence_length"] = bySeq;
        result["by_batch_size"] = byBatch;
        return result;
    }

    private static JsonObject Shape(string mode, int seq, int batch, int steps, bool peers)
    {
        var o = new JsonObject { ["mode"] = mode, ["seq"] = seq, ["batch"] = batch };
        var ours = Throughput.ChildProcess("scaling-shape", mode, seq.ToString(), batch.ToString(), steps.ToString());
        o["tokens_per_s"] = ours?["tokens_per_s"]?.DeepClone();
        o["peak_memory_mb"] = ours?["peak_memory_mb"]?.DeepClone();
        if (peers)
        {
            var script = Path.Combine(AppContext.BaseDirectory, "peers", "torch_scaling.py");
            var torch = Throughput.RunPython(script, new() { ["OPENBLAS_NUM_THREADS"] = Environment.ProcessorCount.ToString() },
                "--mode", mode, "--seq", seq.ToString(), "--batch", batch.ToString(), "--steps", steps.ToString(), "--threads", Environment.ProcessorCount.ToString());
            o["torch_tokens_per_s"] = torch?["tokens_per_s"]?.DeepClone();
            o["torch_peak_memory_mb"] = torch?["peak_memory_mb"]?.DeepClone();
            if (torch is not null && ours is not null)
            {
                o["speed_vs_torch"] = Math.Round(ours["tokens_per_s"]!.GetValue<double>() / torch["tokens_per_s"]!.GetValue<double>(), 2);
                o["memory_vs_torch"] = Math.Round(ours["peak_memory_mb"]!.GetValue<double>() / torch["peak_memory_mb"]!.GetValue<double>(), 2);
            }
        }
        Console.Error.WriteLine(o.ToJsonString());
        return o;
    }

    /// <summary>The child side: one shape, one mode; tokens/s and this process's peak resident memory.</summary>
    public static int RunShape(string mode, int seq, int batch, int steps)
    {
        var config = ReferenceModel.Config with { MaxLength = seq };
        var model = new TransformerClassifier(config, 1);
        var rng = new Random(0);
        var ids = Enumerable.Range(0, batch * seq).Select(_ => rng.Next(config.VocabSize)).ToArray();
        var tokenBatch = new TokenBatch(batch, seq, ids, labels: Enumerable.Range(0, batch).Select(_ => rng.Next(2)).ToArray());
        Action step;
        if (mode == "train")
        {
            var trainer = new Trainer(model, new TrainerOptions { LearningRate = 3e-4f });
            step = () => trainer.TrainStep(tokenBatch);
        }
        else
        {
            // As a serving replica runs it (the ML.NET transformers' copies): weights laid out once for small batches.
            InferencePanels.AttachForGood(model.Encoder);
            step = () => model.Forward(tokenBatch);
        }
        var warm = Stopwatch.StartNew();
        do step(); while (warm.Elapsed.TotalSeconds < 1.5); // past the JIT's first tiers
        // At least `steps` steps and at least one second (the peer times the same way).
        var sw = Stopwatch.StartNew();
        int done = 0;
        while (done < steps || sw.Elapsed.TotalSeconds < 1.0) { step(); done++; }
        double rate = (double)done * batch * seq / sw.Elapsed.TotalSeconds;
        Console.WriteLine(new JsonObject { ["tokens_per_s"] = Math.Round(rate), ["peak_memory_mb"] = Math.Round(Throughput.PeakResidentMb()) }.ToJsonString());
        return 0;
    }

    /// <summary>
    /// fp32 FMA peak in GFLOP/s: 12 independent 512-bit (else 256-bit) accumulator chains per thread, enough to cover the
    /// FMA latency on every port (one dependent chain would measure latency), on one core and on all of them.
    /// </summary>
    internal static JsonObject FmaPeak()
    {
        // The timed loops are methods of their own, without calls, compiled fully from their first call: with a call in the
        // same method the JIT kept the twelve accumulators in memory when it compiled it fully (DOTNET_TieredCompilation=0),
        // a third of the rate, so the peak, and every fraction of it, depended on how the JIT happened to compile it.
        static double OneThread(long iterations)
        {
            bool wide = Vector512.IsHardwareAccelerated;
            var sw = Stopwatch.StartNew();
            float sum = wide ? Chains512(iterations).ToScalar() : Chains256(iterations).ToScalar();
            double seconds = sw.Elapsed.TotalSeconds;
            if (sum == 42f) Console.Error.Write(""); // keep the chains alive
            return iterations * 12.0 * (wide ? 16 : 8) * 2 / seconds / 1e9;
        }
        const long n = 50_000_000;
        OneThread(n / 10);
        double one = Enumerable.Range(0, 3).Max(_ => OneThread(n));
        double all = 0;
        for (int trial = 0; trial < 3; trial++)
        {
            var rates = new double[Environment.ProcessorCount];
            var threads = Enumerable.Range(0, rates.Length).Select(i => new Thread(() => rates[i] = OneThread(n))).ToArray();
            foreach (var t in threads) t.Start();
            foreach (var t in threads) t.Join();
            all = Math.Max(all, rates.Sum());
        }
        return new JsonObject { ["one_core"] = Math.Round(one, 1), ["all_cores"] = Math.Round(all, 1), ["vector_bits"] = Vector512.IsHardwareAccelerated ? 512 : 256 };
    }

    // 12 independent chains of FMAs: more than latency × pipes, so the FMA units, not a chain, set the rate.
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static Vector512<float> Chains512(long iterations)
    {
        var a = Vector512.Create(1.0000001f); var b = Vector512.Create(0.9999999f);
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default, c8 = default, c9 = default, c10 = default, c11 = default;
        for (long i = 0; i < iterations; i++)
        {
            c0 = Vector512.FusedMultiplyAdd(c0, a, b); c1 = Vector512.FusedMultiplyAdd(c1, a, b); c2 = Vector512.FusedMultiplyAdd(c2, a, b); c3 = Vector512.FusedMultiplyAdd(c3, a, b);
            c4 = Vector512.FusedMultiplyAdd(c4, a, b); c5 = Vector512.FusedMultiplyAdd(c5, a, b); c6 = Vector512.FusedMultiplyAdd(c6, a, b); c7 = Vector512.FusedMultiplyAdd(c7, a, b);
            c8 = Vector512.FusedMultiplyAdd(c8, a, b); c9 = Vector512.FusedMultiplyAdd(c9, a, b); c10 = Vector512.FusedMultiplyAdd(c10, a, b); c11 = Vector512.FusedMultiplyAdd(c11, a, b);
        }
        return c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static Vector256<float> Chains256(long iterations)
    {
        var a = Vector256.Create(1.0000001f); var b = Vector256.Create(0.9999999f);
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default, c8 = default, c9 = default, c10 = default, c11 = default;
        for (long i = 0; i < iterations; i++)
        {
            c0 = Vector256.FusedMultiplyAdd(c0, a, b); c1 = Vector256.FusedMultiplyAdd(c1, a, b); c2 = Vector256.FusedMultiplyAdd(c2, a, b); c3 = Vector256.FusedMultiplyAdd(c3, a, b);
            c4 = Vector256.FusedMultiplyAdd(c4, a, b); c5 = Vector256.FusedMultiplyAdd(c5, a, b); c6 = Vector256.FusedMultiplyAdd(c6, a, b); c7 = Vector256.FusedMultiplyAdd(c7, a, b);
            c8 = Vector256.FusedMultiplyAdd(c8, a, b); c9 = Vector256.FusedMultiplyAdd(c9, a, b); c10 = Vector256.FusedMultiplyAdd(c10, a, b); c11 = Vector256.FusedMultiplyAdd(c11, a, b);
        }
        return c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11;
    }

    /// <summary>The curves of <see cref="Measure"/> as PNGs in <paramref name="dir"/>.</summary>
    public static void Plot(JsonObject result, string dir)
    {
        Directory.CreateDirectory(dir);
        void Curves(JsonArray rows, string mode, string x, string value, string path, string title, string yLabel, bool logX)
        {
            var plot = new Plot();
            var sel = rows.Where(r => r!["mode"]!.GetValue<string>() == mode).ToList();
            double[] xs = sel.Select(r => logX ? Math.Log2(Number(r![x]!)) : Number(r![x]!)).ToArray();
            foreach (var (key, label) in new[] { (value, "MLNetTransformers"), ("torch_" + value, "PyTorch 1.13") })
            {
                var ys = sel.Select(r => r![key] is { } v ? Number(v) : double.NaN).ToArray();
                if (ys.All(double.IsNaN)) continue;
                var line = plot.Add.Scatter(xs, ys);
                line.LegendText = label;
            }
            plot.Axes.Bottom.SetTicks(xs, sel.Select(r => r![x]!.ToString()).ToArray());
            plot.Axes.Bottom.Label.Text = x == "seq" ? "sequence length (batch 32)" : "batch size (sequence 128)";
            plot.Axes.Left.Label.Text = yLabel;
            plot.Title(title);
            plot.ShowLegend(Alignment.UpperRight);
            plot.SavePng(Path.Combine(dir, path), 800, 500);
        }
        var bySeq = result["by_sequence_length"]!.AsArray();
        var byBatch = result["by_batch_size"]!.AsArray();
        Curves(bySeq, "train", "seq", "tokens_per_s", "scaling-seq-train-tokens.png", "Training throughput against sequence length", "tokens/s", true);
        Curves(bySeq, "infer", "seq", "tokens_per_s", "scaling-seq-infer-tokens.png", "Inference throughput against sequence length", "tokens/s", true);
        Curves(bySeq, "train", "seq", "peak_memory_mb", "scaling-seq-train-memory.png", "Peak memory of training against sequence length", "peak resident MB", true);
        Curves(bySeq, "infer", "seq", "peak_memory_mb", "scaling-seq-infer-memory.png", "Peak memory of inference against sequence length", "peak resident MB", true);
        Curves(byBatch, "infer", "batch", "tokens_per_s", "scaling-batch-infer-tokens.png", "Inference throughput against batch size", "tokens/s", true);
        Curves(byBatch, "infer", "batch", "peak_memory_mb", "scaling-batch-infer-memory.png", "Peak memory of inference against batch size", "peak resident MB", true);
    }

    // A JSON number whether it was parsed from text or built from an int or a double here.
    private static double Number(JsonNode node) => double.Parse(node.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture);
}
