using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using MLNetTransformers.Core.Kernels;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Core.Training;

namespace MLNetTransformers.Benchmarks;

/// <summary>
/// `throughput`: GEMM GFLOP/s and reference-model training/inference tokens/s and peak memory, printed as one
/// JSON object on the last line. Each model runs in a child process so its peak resident memory is its own.
/// With `--peers DIR` (../shared/peers) it also runs OpenBLAS sgemm and PyTorch on the same shapes in the same
/// run and reports the ratios. With `--scaling [--plots DIR]` it also measures the scaling curves (<see cref="Scaling"/>).
/// </summary>
internal static class Throughput
{
    public static int Run(CommandArguments args)
    {
        string? peers = args.Get("--peers");
        int steps = args.GetInt("--steps", 8);
        var result = new JsonObject
        {
            ["machine"] = Machine(),
            ["gemm_gflops"] = GemmFigures(),
            ["encoder"] = Child("encoder", steps),
            ["decoder"] = Child("decoder", steps),
            ["onnx"] = Child("onnx", steps),
            ["generation"] = Child("generation", steps),
            ["seq2seq"] = Child("seq2seq", steps),
        };
        if (peers is not null) AddPeers(result, peers, steps);
        // With --scaling, the curves in the same run (and --plots DIR for their PNGs).
        if (args.Has("--scaling")) result["scaling"] = Scaling.Measure(args);
        Console.WriteLine(result.ToJsonString());
        if (result["scaling"] is JsonObject curves && args.Get("--plots") is { } dir) Scaling.Plot(curves, dir);
        return 0;
    }

    /// <summary>The child side: one model's figures as a JSON line.</summary>
    public static int RunModel(string which, int steps)
    {
        if (which == "onnx")
        {
            Console.WriteLine(OnnxThroughput.Measure(steps).ToJsonString());
            return 0;
        }
        if (which == "seq2seq")
        {
            Console.WriteLine(Seq2SeqThroughput.Measure(steps).ToJsonString());
            return 0;
        }
        if (which == "generation")
        {
            Console.WriteLine(Generation().ToJsonString());
            return 0;
        }
        bool causal = which == "decoder";
        ITrainableModel model = causal ? new TransformerLanguageModel(ReferenceModel.Config, 1) : new TransformerClassifier(ReferenceModel.Config, 1);
        var trainer = new Trainer(model, new TrainerOptions { LearningRate = 3e-4f });
        var batch = ReferenceModel.RandomBatch(causal);
        int tokens = ReferenceModel.Batch * ReferenceModel.SeqLen;
        for (int i = 0; i < 2; i++) trainer.TrainStep(batch);
        long alloc0 = GC.GetTotalAllocatedBytes(precise: true);
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) trainer.TrainStep(batch);
        double train = steps * tokens / sw.Elapsed.TotalSeconds;
        long allocPerStep = (GC.GetTotalAllocatedBytes(precise: true) - alloc0) / steps;

        // The classifier as its serving replicas run it (weights laid out once for inference); the language model's forward
        // as it is (its served form is generation).
        if (model is TransformerClassifier served) InferencePanels.AttachForGood(served.Encoder);
        Action infer = model is TransformerLanguageModel lm ? () => lm.Forward(batch) : () => ((TransformerClassifier)model).Forward(batch);
        for (int i = 0; i < 2; i++) infer();
        sw.Restart();
        for (int i = 0; i < steps; i++) infer();
        double inferRate = steps * tokens / sw.Elapsed.TotalSeconds;
        var o = new JsonObject
        {
            ["params"] = model.Parameters.Count,
            ["train_tokens_per_s"] = Math.Round(train),
            ["infer_tokens_per_s"] = Math.Round(inferRate),
            ["peak_memory_mb"] = Math.Round(PeakResidentMb()),
            ["allocated_bytes_per_train_step"] = allocPerStep,
        };
        Console.WriteLine(o.ToJsonString());
        return 0;
    }

    /// <summary>256 new tokens from the reference decoder, with the key/value cache and with full recompute.</summary>
    private static JsonObject Generation()
    {
        var lm = new TransformerLanguageModel(ReferenceModel.Config, 1);
        var generator = new TokenGenerator(lm, fixedWeights: true); // weights laid out for decoding once, as a served model's are
        var prompt = new[] { 1, 2, 3, 4 };
        double Rate(bool cache)
        {
            var o = new GenerationOptions { MaxNewTokens = 256, Temperature = 0.8f, Seed = 1, UseKvCache = cache };
            generator.Generate(prompt, o with { MaxNewTokens = 16 }); // warm-up
            var sw = Stopwatch.StartNew();
            int n = generator.Generate(prompt, o).Length;
            return n / sw.Elapsed.TotalSeconds;
        }
        double full = Rate(false), cached = Rate(true);
        // Eight prompts, 64 greedy tokens each: one at a time, then as one batch (the same outputs). Both warmed up for two
        // seconds (a run is a tenth of one, shorter than the JIT takes to finish optimizing), then timed in alternated
        // rounds (this machine's speed drifts over seconds); the medians are reported.
        var prompts = Enumerable.Range(0, 8).Select(i => Enumerable.Range(0, 4 + i).Select(t => (t * 31 + i * 7) % 8000).ToArray()).ToArray();
        var greedy = new GenerationOptions { MaxNewTokens = 64, Temperature = 0f };
        int[][] alone = prompts.Select(p => generator.Generate(p, greedy)).ToArray(), together = generator.GenerateBatch(prompts, greedy);
        bool identical = alone.Zip(together).All(z => z.First.SequenceEqual(z.Second));
        for (var warm = Stopwatch.StartNew(); warm.Elapsed.TotalSeconds < 2;)
        {
            foreach (var p in prompts) generator.Generate(p, greedy);
            generator.GenerateBatch(prompts, greedy);
        }
        var singleRates = new List<double>();
        var batchRates = new List<double>();
        for (int round = 0; round < 7; round++)
        {
            var sw = Stopwatch.StartNew();
            int single = prompts.Sum(p => generator.Generate(p, greedy).Length);
            singleRates.Add(single / sw.Elapsed.TotalSeconds);
            sw.Restart();
            int batched = generator.GenerateBatch(prompts, greedy).Sum(g => g.Length);
            batchRates.Add(batched / sw.Elapsed.TotalSeconds);
        }
        double oneAtATime = Median(singleRates), batchedRate = Median(batchRates);
        return new JsonObject
        {
            ["new_tokens"] = 256, ["context"] = ReferenceModel.SeqLen,
            ["kv_cache_tokens_per_s"] = Math.Round(cached, 1), ["full_recompute_tokens_per_s"] = Math.Round(full, 1),
            ["kv_cache_speedup"] = Math.Round(cached / full, 2),
            ["prompts8_one_at_a_time_tokens_per_s"] = Math.Round(oneAtATime, 1), ["prompts8_batched_tokens_per_s"] = Math.Round(batchedRate, 1),
            ["prompts8_batched_speedup"] = Math.Round(batchedRate / oneAtATime, 2),
            ["prompts8_round_speedups"] = new JsonArray(singleRates.Zip(batchRates, (a, b) => (JsonNode)Math.Round(b / a, 2)).ToArray()),
            ["prompts8_outputs_identical"] = identical,
        };
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static JsonObject GemmFigures()
    {
        // Two seconds of work first: the first seconds of a process run slow here (JIT tiers, VM frequency).
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed.TotalSeconds < 2) MeasureGemm(Transpose.No, Transpose.No, 512, 512, 512, trials: 1);
        var o = new JsonObject();
        foreach (int s in new[] { 512, 1024, 2048 }) o[s.ToString()] = Math.Round(MeasureGemm(Transpose.No, Transpose.No, s, s, s), 1);
        // The reference model's products (tokens = 32·128 = 4096): QKV, FFN up, FFN down, LM head, weight gradient.
        o["qkv_4096x768x256_NT"] = Math.Round(MeasureGemm(Transpose.No, Transpose.Yes, 4096, 768, 256), 1);
        o["ffn1_4096x1024x256_NT"] = Math.Round(MeasureGemm(Transpose.No, Transpose.Yes, 4096, 1024, 256), 1);
        o["ffn2_4096x256x1024_NT"] = Math.Round(MeasureGemm(Transpose.No, Transpose.Yes, 4096, 256, 1024), 1);
        o["lmhead_4096x8000x256_NT"] = Math.Round(MeasureGemm(Transpose.No, Transpose.Yes, 4096, 8000, 256), 1);
        o["dW_1024x256x4096_TN"] = Math.Round(MeasureGemm(Transpose.Yes, Transpose.No, 1024, 256, 4096), 1);
        // MiniLM fine-tuning's products (a packed batch of 32 SST-2 sentences is about 832 tokens; d 384, FFN 1536):
        // forward x·Wᵀ, input gradient dY·W and weight gradient dYᵀ·X of the QKV and FFN layers.
        o["minilm_qkv_832x1152x384_NT"] = Math.Round(MeasureGemm(Transpose.No, Transpose.Yes, 832, 1152, 384), 1);
        o["minilm_ffn1_832x1536x384_NT"] = Math.Round(MeasureGemm(Transpose.No, Transpose.Yes, 832, 1536, 384), 1);
        o["minilm_ffn2_832x384x1536_NT"] = Math.Round(MeasureGemm(Transpose.No, Transpose.Yes, 832, 384, 1536), 1);
        o["minilm_dx_832x384x1536_NN"] = Math.Round(MeasureGemm(Transpose.No, Transpose.No, 832, 384, 1536), 1);
        o["minilm_dW_1536x384x832_TN"] = Math.Round(MeasureGemm(Transpose.Yes, Transpose.No, 1536, 384, 832), 1);
        o["minilm_dW_384x1536x832_TN"] = Math.Round(MeasureGemm(Transpose.Yes, Transpose.No, 384, 1536, 832), 1);
        o["minilm_dW_384x384x832_TN"] = Math.Round(MeasureGemm(Transpose.Yes, Transpose.No, 384, 384, 832), 1);
        // The same products on cold operands, as a training step meets them: each repetition reads its own copy of A, B
        // and C, 128 MB in all, so nothing is left in the caches from the repetition before.
        o["minilm_qkv_832x1152x384_NT_cold"] = Math.Round(MeasureGemm(Transpose.No, Transpose.Yes, 832, 1152, 384, cold: true), 1);
        o["minilm_ffn1_832x1536x384_NT_cold"] = Math.Round(MeasureGemm(Transpose.No, Transpose.Yes, 832, 1536, 384, cold: true), 1);
        o["minilm_ffn2_832x384x1536_NT_cold"] = Math.Round(MeasureGemm(Transpose.No, Transpose.Yes, 832, 384, 1536, cold: true), 1);
        o["minilm_dx_832x384x1536_NN_cold"] = Math.Round(MeasureGemm(Transpose.No, Transpose.No, 832, 384, 1536, cold: true), 1);
        o["minilm_dW_1536x384x832_TN_cold"] = Math.Round(MeasureGemm(Transpose.Yes, Transpose.No, 1536, 384, 832, cold: true), 1);
        o["minilm_dW_384x1536x832_TN_cold"] = Math.Round(MeasureGemm(Transpose.Yes, Transpose.No, 384, 1536, 832, cold: true), 1);
        o["minilm_dW_384x384x832_TN_cold"] = Math.Round(MeasureGemm(Transpose.Yes, Transpose.No, 384, 384, 832, cold: true), 1);
        return o;
    }

    internal static double MeasureGemm(Transpose ta, Transpose tb, int m, int n, int k, int trials = 9, bool cold = false)
    {
        var rng = new Random(1);
        // Hot: one set of operands, reused (in cache when they fit). Cold: as many sets as fill 128 MB, one per repetition.
        int sets = cold ? Math.Max(2, (int)(128L * 1024 * 1024 / (4L * (m * k + k * n + m * n)))) : 1;
        var aa = new float[sets][]; var bb = new float[sets][]; var cc = new float[sets][];
        for (int s = 0; s < sets; s++)
        {
            aa[s] = new float[m * k]; bb[s] = new float[k * n]; cc[s] = new float[m * n];
            for (int i = 0; i < aa[s].Length; i++) aa[s][i] = (float)rng.NextDouble();
            for (int i = 0; i < bb[s].Length; i++) bb[s][i] = (float)rng.NextDouble();
        }
        int lda = ta == Transpose.No ? k : m, ldb = tb == Transpose.No ? n : k;
        for (int i = 0; i < 3; i++) Gemm.Multiply(ta, tb, m, n, k, aa[i % sets], lda, bb[i % sets], ldb, cc[i % sets], n);
        // Best of 9 short trials: these shared VMs swing between full and about half speed for seconds at a time,
        // and the best trial is the one least disturbed (the OpenBLAS peer is given best-of-3 runs likewise).
        int reps = Math.Max(2, (int)(1e10 / (2.0 * m * n * k)));
        double best = 0;
        for (int trial = 0; trial < trials; trial++)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < reps; i++) Gemm.Multiply(ta, tb, m, n, k, aa[i % sets], lda, bb[i % sets], ldb, cc[i % sets], n);
            best = Math.Max(best, 2.0 * m * n * k * reps / sw.Elapsed.TotalSeconds / 1e9);
        }
        return best;
    }

    private static JsonNode? Child(string which, int steps) => ChildProcess("throughput-model", which, steps.ToString());

    /// <summary>This benchmark run again in a child process with <paramref name="args"/>; its last output line as JSON.</summary>
    internal static JsonNode? ChildProcess(params string[] args)
    {
        string exe = Environment.ProcessPath!;
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(exe) == "dotnet") psi.ArgumentList.Add(typeof(Throughput).Assembly.Location);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"The {string.Join(' ', args)} run failed (exit code {p.ExitCode}).");
        return JsonNode.Parse(output.Trim().Split('\n')[^1]);
    }

    /// <summary>
    /// `gemm [--peers DIR]`: the GEMM figures alone, with OpenBLAS's beside them. Run with <c>DOTNET_EnableAVX512=0</c>
    /// it measures the 256-bit path a CPU without full-speed 512-bit vectors would take.
    /// </summary>
    public static int RunGemm(CommandArguments args)
    {
        var result = new JsonObject { ["machine"] = Machine(), ["gemm_gflops"] = GemmFigures() };
        if (args.Get("--peers") is { } dir)
        {
            var sgemm = BestOpenBlas(dir);
            result["openblas"] = sgemm?.DeepClone();
            result["ratios"] = GemmRatios(result["gemm_gflops"], sgemm);
        }
        Console.WriteLine(result.ToJsonString());
        return 0;
    }

    private static Dictionary<string, string> PeerEnvironment() => new() { ["OPENBLAS_NUM_THREADS"] = Environment.ProcessorCount.ToString() };

    // OpenBLAS sgemm GFLOP/s by size: the best of three runs of the peer, as ours is the best of several trials.
    private static JsonObject? BestOpenBlas(string dir)
    {
        JsonObject? best = null;
        for (int run = 0; run < 3; run++)
        {
            if (RunPython(Path.Combine(dir, "sgemm.py"), PeerEnvironment(), "512", "1024", "2048")?["openblas_sgemm_gflops"] is not JsonObject figures) continue;
            if (best is null) { best = (JsonObject)figures.DeepClone(); continue; }
            foreach (var (size, value) in figures)
                if (value!.GetValue<double>() > best[size]!.GetValue<double>()) best[size] = value.GetValue<double>();
        }
        return best;
    }

    private static JsonObject GemmRatios(JsonNode? ours, JsonObject? openblas)
    {
        var ratios = new JsonObject();
        foreach (string size in new[] { "1024", "2048" })
        {
            double? a = ours?[size]?.GetValue<double>(), b = openblas?[size]?.GetValue<double>();
            if (a is not null && b is > 0) ratios[$"gemm_{size}_vs_openblas"] = Math.Round(a.Value / b.Value, 2);
        }
        return ratios;
    }

    private static void AddPeers(JsonObject result, string dir, int steps)
    {
        var env = PeerEnvironment();
        var sgemm = BestOpenBlas(dir);
        var torch = RunPython(Path.Combine(dir, "torch_ref.py"), env, "--steps", steps.ToString(), "--threads", Environment.ProcessorCount.ToString());
        var peers = new JsonObject { ["openblas"] = sgemm?.DeepClone(), ["torch"] = torch?["results"]?.DeepClone(), ["torch_version"] = torch?["torch"]?.DeepClone() };
        result["peers"] = peers;
        var ratios = GemmRatios(result["gemm_gflops"], sgemm);
        if (torch?["results"] is JsonArray arr)
        {
            foreach (var r in arr)
            {
                string key = r!["model"]!.GetValue<string>() == "decoder-lm" ? "decoder" : "encoder";
                foreach (string m in new[] { "train_tokens_per_s", "infer_tokens_per_s" })
                {
                    double ours = result[key]![m]!.GetValue<double>(), theirs = r[m]!.GetValue<double>();
                    ratios[$"{key}_{m.Replace("_tokens_per_s", "")}_vs_torch"] = Math.Round(ours / theirs, 2);
                }
            }
        }
        // The encoder-decoder (and, for the RNN models, the GRU with attention) on Multi30k-sized shapes.
        var seq2seq = RunPython(Path.Combine(dir, "torch_seq2seq.py"), env, "--steps", steps.ToString(), "--threads", Environment.ProcessorCount.ToString());
        peers["torch_seq2seq"] = seq2seq?["results"]?.DeepClone();
        if (seq2seq?["results"] is JsonArray s2s && s2s.FirstOrDefault(r => r!["model"]!.GetValue<string>() == "transformer-seq2seq") is { } t)
        {
            ratios["seq2seq_train_vs_torch"] = Math.Round(result["seq2seq"]!["train_tokens_per_s"]!.GetValue<double>() / t["train_tokens_per_s"]!.GetValue<double>(), 2);
            ratios["seq2seq_greedy_vs_torch"] = Math.Round(result["seq2seq"]!["greedy_target_tokens_per_s"]!.GetValue<double>() / t["greedy_target_tokens_per_s"]!.GetValue<double>(), 2);
        }
        if (seq2seq?["results"] is JsonArray s2g && s2g.FirstOrDefault(r => r!["model"]!.GetValue<string>() == "gru-bahdanau-seq2seq") is { } gt)
        {
            var ours = result["seq2seq"]!["gru_attention"]!;
            ratios["gru_attention_train_vs_torch"] = Math.Round(ours["train_tokens_per_s"]!.GetValue<double>() / gt["train_tokens_per_s"]!.GetValue<double>(), 2);
            ratios["gru_attention_greedy_vs_torch"] = Math.Round(ours["greedy_target_tokens_per_s"]!.GetValue<double>() / gt["greedy_target_tokens_per_s"]!.GetValue<double>(), 2);
        }
        result["ratios"] = ratios;
    }

    internal static JsonNode? RunPython(string script, Dictionary<string, string> env, params string[] args)
    {
        // GNU time (Debian's `time` package), when present, records the peer's peak resident memory (its maximum RSS).
        const string gnuTime = "/usr/bin/time";
        string? rssFile = File.Exists(gnuTime) ? Path.GetTempFileName() : null;
        var psi = new ProcessStartInfo(rssFile is null ? "/usr/bin/python3" : gnuTime) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (rssFile is not null) foreach (var a in new[] { "-f", "%M", "-o", rssFile, "/usr/bin/python3" }) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        try
        {
            using var p = Process.Start(psi)!;
            string output = p.StandardOutput.ReadToEnd();
            string err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) { Console.Error.WriteLine($"peer {script} failed: {err}"); return null; }
            var result = JsonNode.Parse(output);
            if (rssFile is not null && result is JsonObject o && long.TryParse(File.ReadAllText(rssFile).Trim(), out long kb))
                o["peak_memory_mb"] = Math.Round(kb / 1024.0);
            return result;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or JsonException)
        {
            Console.Error.WriteLine($"peer {script} could not run: {e.Message} (install with ../shared/peers/install.sh)");
            return null;
        }
        finally
        {
            if (rssFile is not null) File.Delete(rssFile);
        }
    }

    internal static double PeakResidentMb()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:")) return long.Parse(line.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0; // "VmHWM:\t12345678 kB"
        return Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0);
    }

    internal static JsonObject Machine() => new()
    {
        ["cores"] = Environment.ProcessorCount,
        ["cpu"] = CpuInfo("model name") ?? "unknown",
        ["cpu_family"] = CpuInfo("cpu family"),
        ["cpu_model"] = CpuInfo("model"),
        ["simd"] = Gemm.HardwareWidth.ToString(),
        ["vector512"] = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated,
        ["avx512f"] = System.Runtime.Intrinsics.X86.Avx512F.IsSupported,
        ["avx_vnni"] = System.Runtime.Intrinsics.X86.AvxVnni.IsSupported,
        ["dotnet"] = Environment.Version.ToString(),
    };

    private static string? CpuInfo(string key)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
                if (line.Split(':', 2) is [var k, var v] && k.Trim() == key) return v.Trim();
        }
        catch (IOException) { }
        return null;
    }
}
