using System.Diagnostics;
using System.Text.Json.Nodes;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Core.Training;

namespace MLNetTransformers.Benchmarks;

/// <summary>
/// The encoder-decoder on the shapes of <c>../shared/peers/torch_seq2seq.py</c> (3+3 layers, d_model 256, 4 heads, FFN
/// 1024, pre-norm GELU, vocabulary 8000, source and target length 32, batch 64): training tokens/s (source + target)
/// and greedy decoding target tokens/s (64 sources, 32 tokens each, no early end), as the peer measures them.
/// </summary>
internal static class Seq2SeqThroughput
{
    private const int Batch = 64, SourceLength = 32, TargetLength = 32, Vocab = 8000;

    public static JsonObject Measure(int steps)
    {
        var config = new Seq2SeqConfig(new TransformerConfig
        {
            VocabSize = Vocab, ModelDim = 256, Heads = 4, Layers = 3, FeedForwardDim = 1024, MaxLength = 64, Dropout = 0.1f,
            Norm = NormPlacement.PreNorm, Activation = Core.Kernels.Activation.Gelu,
        });
        var model = new TransformerSeq2Seq(config, 1);
        var rng = new Random(0);
        var source = Enumerable.Range(0, Batch * SourceLength).Select(_ => rng.Next(Vocab)).ToArray();
        var target = Enumerable.Range(0, Batch * (TargetLength + 1)).Select(_ => rng.Next(Vocab)).ToArray();
        var inputs = new int[Batch * TargetLength];
        var labels = new int[Batch * TargetLength];
        for (int b = 0; b < Batch; b++)
        {
            Array.Copy(target, b * (TargetLength + 1), inputs, b * TargetLength, TargetLength);
            Array.Copy(target, b * (TargetLength + 1) + 1, labels, b * TargetLength, TargetLength);
        }
        var batch = new TokenBatch(Batch, TargetLength, inputs, labels: labels) { Source = new TokenBatch(Batch, SourceLength, source) };
        var trainer = new Trainer(model, new TrainerOptions { LearningRate = 3e-4f });
        for (int i = 0; i < 2; i++) trainer.TrainStep(batch);
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) trainer.TrainStep(batch);
        double train = steps * Batch * (SourceLength + TargetLength) / sw.Elapsed.TotalSeconds;

        var decoder = new Seq2SeqDecoder(model);
        var sources = Enumerable.Range(0, Batch).Select(b => source.AsSpan(b * SourceLength, SourceLength).ToArray()).ToArray();
        var greedy = new Seq2SeqDecodingOptions { BeamWidth = 1, MaxLengthRatio = 0f, MaxLengthOffset = TargetLength, BatchSize = Batch };
        decoder.Decode(sources, 0, -1, greedy with { MaxLengthOffset = 2 }); // warm-up
        sw.Restart();
        int produced = decoder.Decode(sources, 0, -1, greedy).Sum(r => r[0].Tokens.Length);
        double decode = produced / sw.Elapsed.TotalSeconds;
        var beam = greedy with { BeamWidth = 4 };
        sw.Restart();
        int beamProduced = decoder.Decode(sources, 0, -1, beam).Sum(r => r[0].Tokens.Length);
        double beamRate = beamProduced / sw.Elapsed.TotalSeconds;
        var gru = Gru(steps, source, batch);
        return new JsonObject
        {
            ["params"] = model.Parameters.Count,
            ["train_tokens_per_s"] = Math.Round(train),
            ["greedy_target_tokens_per_s"] = Math.Round(decode),
            ["beam4_target_tokens_per_s"] = Math.Round(beamRate),
            ["gru_attention"] = gru,
        };
    }

    /// <summary>The GRU encoder-decoder with additive attention on the peer's GRU shapes (embedding 256, hidden 512, bidirectional encoder).</summary>
    private static JsonObject Gru(int steps, int[] source, TokenBatch batch)
    {
        var config = new Seq2SeqConfig(new TransformerConfig { VocabSize = Vocab, ModelDim = 512, Heads = 1, Layers = 1, FeedForwardDim = 1, MaxLength = 64, Dropout = 0.1f })
        {
            Architecture = Seq2SeqArchitecture.GruAttention, EmbeddingDim = 256, EncoderHiddenSize = 512,
        };
        var model = new RnnSeq2Seq(config, 1);
        var trainer = new Trainer(model, new TrainerOptions { LearningRate = 3e-4f });
        trainer.TrainStep(batch);
        var sw = Stopwatch.StartNew();
        int n = Math.Max(2, steps / 2);
        for (int i = 0; i < n; i++) trainer.TrainStep(batch);
        double train = n * Batch * (SourceLength + TargetLength) / sw.Elapsed.TotalSeconds;
        var decoder = new Seq2SeqDecoder(model.CreateIncrementalDecoder());
        var sources = Enumerable.Range(0, Batch).Select(b => source.AsSpan(b * SourceLength, SourceLength).ToArray()).ToArray();
        var greedy = new Seq2SeqDecodingOptions { BeamWidth = 1, MaxLengthRatio = 0f, MaxLengthOffset = TargetLength, BatchSize = Batch };
        decoder.Decode(sources, 0, -1, greedy with { MaxLengthOffset = 2 });
        sw.Restart();
        int produced = decoder.Decode(sources, 0, -1, greedy).Sum(r => r[0].Tokens.Length);
        return new JsonObject
        {
            ["params"] = model.Parameters.Count,
            ["train_tokens_per_s"] = Math.Round(train),
            ["greedy_target_tokens_per_s"] = Math.Round(produced / sw.Elapsed.TotalSeconds),
        };
    }
}
