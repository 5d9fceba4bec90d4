namespace MLNetTransformers.Onnx;

public sealed partial class OnnxSeq2SeqModel
{
    /// <summary>
    /// The ONNX Runtime side of <see cref="IIncrementalDecoder"/> for an exported GRU encoder-decoder: the encoder graph
    /// runs once per batch of sources; a hypothesis's state is its decoder state, gathered from its parent row before
    /// each step, with its source's states, keys, mask and final states.
    /// </summary>
    private sealed class OnnxRnnIncrementalDecoder(OnnxSeq2SeqModel owner) : IIncrementalDecoder
    {
        private readonly int _h = owner.Config.ModelDim;
        private int _s, _k, _kw;
        private float[] _enc = Array.Empty<float>(), _keys = Array.Empty<float>(), _final = Array.Empty<float>(), _states = Array.Empty<float>();
        private long[] _mask = Array.Empty<long>();
        private int[] _rowSource = Array.Empty<int>();

        public int VocabSize => owner.Config.VocabSize;
        public int MaxLength => owner.Config.MaxLength;
        public int MaxSourceLength => owner.Config.MaxLength;

        public void Encode(IReadOnlyList<int[]> sources)
        {
            (var batch, _mask, var inputs) = owner.SourceInputs(sources);
            int n = batch.BatchSize, s = batch.SeqLen;
            using var results = owner._encoder.Run(inputs);
            var byName = results.ToDictionary(r => r.Name, r => r.AsTensor<float>());
            (_enc, _keys, _final, _states) = (byName["encoder_states"].ToArray(), byName["attention_keys"].ToArray(), byName["final_states"].ToArray(), byName["initial_state"].ToArray());
            (_s, _k, _kw) = (s, byName["encoder_states"].Dimensions[2], byName["attention_keys"].Dimensions[2]);
            _rowSource = Enumerable.Range(0, n).ToArray();
        }

        public float[] Advance(ReadOnlySpan<int> parents, ReadOnlySpan<int> tokens)
        {
            int rows = parents.Length, h = _h, s = _s;
            var source = RowSources(parents, tokens, _rowSource);
            var inputs = new List<NamedOnnxValue>
            {
                TokenInput(tokens),
                NamedOnnxValue.CreateFromTensor("state", Gather(_states, parents, h, new[] { rows, h })),
                NamedOnnxValue.CreateFromTensor("encoder_states", Gather(_enc, source, s * _k, new[] { rows, s, _k })),
                NamedOnnxValue.CreateFromTensor("attention_keys", Gather(_keys, source, s * _kw, new[] { rows, s, _kw })),
                NamedOnnxValue.CreateFromTensor("encoder_attention_mask", Gather(_mask, source, s, new[] { rows, s })),
                NamedOnnxValue.CreateFromTensor("final_states", Gather(_final, source, _k, new[] { rows, _k })),
            };
            using var results = owner._decoder.Run(inputs);
            var byName = results.ToDictionary(r => r.Name, r => r.AsTensor<float>().ToArray());
            _states = byName["next_state"];
            _rowSource = source;
            var logits = byName["logits"];
            return logits.Length == rows * VocabSize ? logits : throw new InvalidDataException($"The decoder graph returned {logits.Length} logits for {rows} rows of {VocabSize}.");
        }
    }
}
