using System.Text;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MLNetTransformers.Onnx;

/// <summary>
/// An encoder-decoder exported by <see cref="OnnxExporter.Export(TransformerSeq2Seq, TextTokenizer?, TextTokenizer?)"/>,
/// run by ONNX Runtime: two sessions (encoder and decoder step) and the config and tokenizers from their metadata.
/// <see cref="CreateIncrementalDecoder"/> plugs the sessions into <see cref="Seq2SeqDecoder"/>, so greedy search, beam
/// search and sampling run over ONNX Runtime exactly as over the managed engine. Sessions are thread-safe; incremental
/// decoders are not (one per thread).
/// </summary>
public sealed partial class OnnxSeq2SeqModel : IDisposable
{
    private readonly InferenceSession _encoder, _decoder;

    private OnnxSeq2SeqModel(InferenceSession encoder, InferenceSession decoder, Seq2SeqConfig config, TextTokenizer? tokenizer, TextTokenizer? sourceTokenizer)
        => (_encoder, _decoder, Config, Tokenizer, SourceTokenizer) = (encoder, decoder, config, tokenizer, sourceTokenizer ?? tokenizer);

    /// <summary>The model's shape and vocabularies.</summary>
    public Seq2SeqConfig Config { get; }
    /// <summary>The target tokenizer stored at export (null when none was).</summary>
    public TextTokenizer? Tokenizer { get; }
    /// <summary>The source tokenizer (the target's when shared).</summary>
    public TextTokenizer? SourceTokenizer { get; }

    /// <summary>Opens the two graphs of an export directory (<see cref="Seq2SeqOnnxGraphs.EncoderFileName"/>, <see cref="Seq2SeqOnnxGraphs.DecoderFileName"/>).</summary>
    /// <param name="directory">The directory <see cref="Seq2SeqOnnxGraphs.Save"/> wrote.</param>
    /// <param name="options">Provider and threads (null = CPU).</param>
    public static OnnxSeq2SeqModel Load(string directory, OnnxExecutionOptions? options = null)
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"'{directory}' is not a directory; an encoder-decoder export is a directory holding {Seq2SeqOnnxGraphs.EncoderFileName} and {Seq2SeqOnnxGraphs.DecoderFileName}.");
        byte[] Read(string name)
        {
            string path = Path.Combine(directory, name);
            return File.Exists(path) ? File.ReadAllBytes(path) : throw new FileNotFoundException($"'{path}' is missing: an encoder-decoder export holds {Seq2SeqOnnxGraphs.EncoderFileName} and {Seq2SeqOnnxGraphs.DecoderFileName}.", path);
        }
        return Load(new Seq2SeqOnnxGraphs(Read(Seq2SeqOnnxGraphs.EncoderFileName), Read(Seq2SeqOnnxGraphs.DecoderFileName)), options, directory);
    }

    /// <summary>Opens two graphs held in memory.</summary>
    /// <param name="graphs">The exported graphs.</param>
    /// <param name="options">Provider and threads (null = CPU).</param>
    /// <param name="source">Names the graphs in error messages.</param>
    public static OnnxSeq2SeqModel Load(Seq2SeqOnnxGraphs graphs, OnnxExecutionOptions? options = null, string source = "the export")
    {
        ArgumentNullException.ThrowIfNull(graphs);
        var encoderMeta = Metadata(graphs.Encoder, OnnxExportKind.Seq2SeqEncoder, $"{source} ({Seq2SeqOnnxGraphs.EncoderFileName})");
        var decoderMeta = Metadata(graphs.Decoder, OnnxExportKind.Seq2SeqDecoder, $"{source} ({Seq2SeqOnnxGraphs.DecoderFileName})");
        if (encoderMeta[OnnxExporter.ConfigKey] != decoderMeta[OnnxExporter.ConfigKey])
            throw new InvalidDataException($"{source}: the encoder and decoder graphs come from different models (their configs differ).");
        Seq2SeqConfig config;
        TextTokenizer? tokenizer, sourceTokenizer;
        try
        {
            config = Seq2SeqConfig.FromJson(decoderMeta[OnnxExporter.ConfigKey]);
            tokenizer = decoderMeta.TryGetValue(OnnxExporter.TokenizerKey, out var t) ? TextTokenizer.Deserialize(Encoding.UTF8.GetBytes(t)) : null;
            sourceTokenizer = decoderMeta.TryGetValue(OnnxExporter.SourceTokenizerKey, out var s) ? TextTokenizer.Deserialize(Encoding.UTF8.GetBytes(s)) : null;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or ArgumentException or FormatException)
        {
            throw new InvalidDataException($"{source} has an invalid config or tokenizer in its metadata: {e.Message.ReplaceLineEndings(" ")}", e);
        }
        var encoder = OnnxSessionFactory.Create(graphs.Encoder, options);
        try { return new OnnxSeq2SeqModel(encoder, OnnxSessionFactory.Create(graphs.Decoder, options), config, tokenizer, sourceTokenizer); }
        catch { encoder.Dispose(); throw; }
    }

    /// <summary>The encoder graph's inputs for a padded batch of sources, and its mask (each step's decoder reads it too).</summary>
    private (TokenBatch Batch, long[] Mask, NamedOnnxValue[] Inputs) SourceInputs(IReadOnlyList<int[]> sources)
    {
        var batch = TokenBatch.Padded(sources, Config.MaxLength);
        int[] shape = { batch.BatchSize, batch.SeqLen };
        var mask = batch.AttentionMask!.Select(m => (long)m).ToArray();
        return (batch, mask, new[]
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(batch.Ids.Select(i => (long)i).ToArray(), shape)),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(mask, shape)),
        });
    }

    private static Dictionary<string, string> Metadata(byte[] onnx, OnnxExportKind expected, string source)
    {
        var meta = OnnxImporter.Parse(onnx, source).MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        if (!meta.TryGetValue(OnnxExporter.KindKey, out var kind) || kind != expected.ToString() || !meta.ContainsKey(OnnxExporter.ConfigKey))
            throw new InvalidDataException($"{source} is not the {expected} graph of an MLNetTransformers encoder-decoder export (kind '{kind ?? "none"}').");
        return meta;
    }

    /// <summary>A decoder over the two sessions for <see cref="Seq2SeqDecoder"/> (one per thread).</summary>
    public IIncrementalDecoder CreateIncrementalDecoder() =>
        Config.Architecture == Seq2SeqArchitecture.Transformer ? new OnnxIncrementalDecoder(this) : new OnnxRnnIncrementalDecoder(this);

    /// <summary>Releases both sessions.</summary>
    public void Dispose()
    {
        _encoder.Dispose();
        _decoder.Dispose();
    }

    /// <summary>
    /// What both ONNX Runtime decoders share: running the encoder graph over a batch of sources (keeping the source mask
    /// and each row's source), and a decoder step's common inputs and run (new tokens, the rows' source masks; logits out).
    /// </summary>
    private abstract class OnnxDecoderBase(OnnxSeq2SeqModel owner) : IIncrementalDecoder
    {
        private long[] _mask = Array.Empty<long>();
        private int[] _rowSource = Array.Empty<int>();

        protected OnnxSeq2SeqModel Owner => owner;
        /// <summary>Padded length of the current batch of sources.</summary>
        protected int SourceLength { get; private set; }

        public int VocabSize => owner.Config.VocabSize;
        public int MaxLength => owner.Config.MaxLength;
        public int MaxSourceLength => owner.Config.MaxLength;

        public abstract void Encode(IReadOnlyList<int[]> sources);
        public abstract float[] Advance(ReadOnlySpan<int> parents, ReadOnlySpan<int> tokens);

        /// <summary>The encoder graph's outputs for <paramref name="sources"/> (copied out of the session's memory), by name.</summary>
        protected Dictionary<string, (float[] Values, int[] Shape)> RunEncoder(IReadOnlyList<int[]> sources)
        {
            (var batch, _mask, var inputs) = owner.SourceInputs(sources);
            using var results = owner._encoder.Run(inputs);
            SourceLength = batch.SeqLen;
            _rowSource = Enumerable.Range(0, batch.BatchSize).ToArray();
            return results.ToDictionary(r => r.Name, r => { var t = r.AsTensor<float>(); return (t.ToArray(), t.Dimensions.ToArray()); });
        }

        /// <summary>A step's inputs so far (the tokens and each row's source mask) and each row's source.</summary>
        protected (List<NamedOnnxValue> Inputs, int[] RowSource) StepInputs(ReadOnlySpan<int> parents, ReadOnlySpan<int> tokens)
        {
            var rowSource = new int[parents.Length];
            IIncrementalDecoder.RowSources(parents, tokens, _rowSource, rowSource);
            int s = SourceLength;
            return (new List<NamedOnnxValue>
            {
                TokenInput(tokens),
                NamedOnnxValue.CreateFromTensor("encoder_attention_mask", Gather(_mask, rowSource, s, new[] { rowSource.Length, s })),
            }, rowSource);
        }

        /// <summary>Runs the decoder graph; its outputs by name (the logits checked against the rows), the rows' sources kept.</summary>
        protected Dictionary<string, float[]> RunStep(List<NamedOnnxValue> inputs, int[] rowSource)
        {
            using var results = owner._decoder.Run(inputs);
            var byName = results.ToDictionary(r => r.Name, r => r.AsTensor<float>().ToArray());
            int rows = rowSource.Length;
            if (byName["logits"].Length != rows * VocabSize)
                throw new InvalidDataException($"The decoder graph returned {byName["logits"].Length} logits for {rows} rows of {VocabSize}.");
            _rowSource = rowSource;
            return byName;
        }
    }

    /// <summary>
    /// The ONNX Runtime side of <see cref="IIncrementalDecoder"/>: the encoder graph runs once per batch of sources;
    /// each step gathers every row's past keys and values (from its parent row) and its source's cross-attention keys
    /// and values into batch tensors, runs the decoder-step graph, and keeps the returned <c>present</c> tensors.
    /// </summary>
    private sealed class OnnxIncrementalDecoder(OnnxSeq2SeqModel owner) : OnnxDecoderBase(owner)
    {
        private readonly int _layers = owner.Config.Layers, _heads = owner.Config.Heads, _hd = owner.Config.ModelDim / owner.Config.Heads;
        private int _past;
        private float[][] _crossKeys = Array.Empty<float[]>(), _crossValues = Array.Empty<float[]>(); // per layer [sources, H, S, hd]
        private float[][] _pastKeys = Array.Empty<float[]>(), _pastValues = Array.Empty<float[]>();   // per layer [rows, H, past, hd]

        public override void Encode(IReadOnlyList<int[]> sources)
        {
            var byName = RunEncoder(sources);
            _crossKeys = Enumerable.Range(0, _layers).Select(i => byName[$"present.{i}.encoder.key"].Values).ToArray();
            _crossValues = Enumerable.Range(0, _layers).Select(i => byName[$"present.{i}.encoder.value"].Values).ToArray();
            _past = 0;
            _pastKeys = Enumerable.Range(0, _layers).Select(_ => Array.Empty<float>()).ToArray();
            _pastValues = Enumerable.Range(0, _layers).Select(_ => Array.Empty<float>()).ToArray();
        }

        public override float[] Advance(ReadOnlySpan<int> parents, ReadOnlySpan<int> tokens)
        {
            var (inputs, rowSource) = StepInputs(parents, tokens);
            int rows = rowSource.Length, s = SourceLength, h = _heads, hd = _hd;
            int pastBlock = h * _past * hd, crossBlock = h * s * hd;
            for (int i = 0; i < _layers; i++)
            {
                inputs.Add(NamedOnnxValue.CreateFromTensor($"past_key_values.{i}.decoder.key", Gather(_pastKeys[i], parents, pastBlock, new[] { rows, h, _past, hd })));
                inputs.Add(NamedOnnxValue.CreateFromTensor($"past_key_values.{i}.decoder.value", Gather(_pastValues[i], parents, pastBlock, new[] { rows, h, _past, hd })));
                inputs.Add(NamedOnnxValue.CreateFromTensor($"past_key_values.{i}.encoder.key", Gather(_crossKeys[i], rowSource, crossBlock, new[] { rows, h, s, hd })));
                inputs.Add(NamedOnnxValue.CreateFromTensor($"past_key_values.{i}.encoder.value", Gather(_crossValues[i], rowSource, crossBlock, new[] { rows, h, s, hd })));
            }
            var byName = RunStep(inputs, rowSource);
            for (int i = 0; i < _layers; i++) (_pastKeys[i], _pastValues[i]) = (byName[$"present.{i}.decoder.key"], byName[$"present.{i}.decoder.value"]);
            _past++;
            return byName["logits"];
        }
    }

    /// <summary>The step's new tokens as the decoder graph's <c>input_ids</c> [rows, 1].</summary>
    private static NamedOnnxValue TokenInput(ReadOnlySpan<int> tokens)
    {
        var ids = new long[tokens.Length];
        for (int r = 0; r < ids.Length; r++) ids[r] = tokens[r];
        return NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids, new[] { ids.Length, 1 }));
    }

    // Row r of the result is block rows[r] of the source array: the reorder (beam forks, finished rows leaving) of a batch tensor.
    private static DenseTensor<T> Gather<T>(T[] from, ReadOnlySpan<int> rows, int block, int[] shape)
    {
        var to = new T[rows.Length * block];
        for (int r = 0; r < rows.Length; r++) from.AsSpan(rows[r] * block, block).CopyTo(to.AsSpan(r * block, block));
        return new DenseTensor<T>(to, shape);
    }
}
