using Microsoft.ML.OnnxRuntime.Tensors;

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
            var (batch, inputs) = owner.SourceInputs(sources);
            int n = batch.BatchSize, s = batch.SeqLen;
            using var results = owner._encoder.Run(inputs);
            var byName = results.ToDictionary(r => r.Name, r => r.AsTensor<float>());
            (_enc, _keys, _final, _states) = (byName["encoder_states"].ToArray(), byName["attention_keys"].ToArray(), byName["final_states"].ToArray(), byName["initial_state"].ToArray());
            (_s, _k, _kw) = (s, byName["encoder_states"].Dimensions[2], byName["attention_keys"].Dimensions[2]);
            _mask = batch.AttentionMask!.Select(m => (long)m).ToArray();
            _rowSource = Enumerable.Range(0, n).ToArray();
        }

        public float[] Advance(ReadOnlySpan<int> parents, ReadOnlySpan<int> tokens)
        {
            int rows = parents.Length, h = _h, s = _s;
            if (tokens.Length != rows || rows == 0) throw new ArgumentException($"{rows} parents and {tokens.Length} tokens; a step needs one token per row and at least one row.", nameof(tokens));
            var source = new int[rows];
            var state = new float[rows * h];
            for (int r = 0; r < rows; r++)
            {
                if ((uint)parents[r] >= (uint)_rowSource.Length) throw new ArgumentOutOfRangeException(nameof(parents), parents[r], $"Row {r}'s parent is not a row of the previous step (0..{_rowSource.Length - 1}).");
                source[r] = _rowSource[parents[r]];
                _states.AsSpan(parents[r] * h, h).CopyTo(state.AsSpan(r * h, h));
            }
            DenseTensor<T> BySource<T>(T[] from, int block, int[] shape)
            {
                var to = new T[rows * block];
                for (int r = 0; r < rows; r++) from.AsSpan(source[r] * block, block).CopyTo(to.AsSpan(r * block, block));
                return new DenseTensor<T>(to, shape);
            }
            var inputs = new List<NamedOnnxValue>
            {
                NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(tokens.ToArray().Select(t => (long)t).ToArray(), new[] { rows, 1 })),
                NamedOnnxValue.CreateFromTensor("state", new DenseTensor<float>(state, new[] { rows, h })),
                NamedOnnxValue.CreateFromTensor("encoder_states", BySource(_enc, s * _k, new[] { rows, s, _k })),
                NamedOnnxValue.CreateFromTensor("attention_keys", BySource(_keys, s * _kw, new[] { rows, s, _kw })),
                NamedOnnxValue.CreateFromTensor("encoder_attention_mask", BySource(_mask, s, new[] { rows, s })),
                NamedOnnxValue.CreateFromTensor("final_states", BySource(_final, _k, new[] { rows, _k })),
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
