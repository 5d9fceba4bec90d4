namespace MLNetTransformers.Onnx;

public sealed partial class OnnxSeq2SeqModel
{
    /// <summary>
    /// The ONNX Runtime side of <see cref="IIncrementalDecoder"/> for an exported GRU encoder-decoder: the encoder graph
    /// runs once per batch of sources; a hypothesis's state is its decoder state, gathered from its parent row before
    /// each step, with its source's states, keys, mask and final states.
    /// </summary>
    private sealed class OnnxRnnIncrementalDecoder(OnnxSeq2SeqModel owner) : OnnxDecoderBase(owner)
    {
        private readonly int _h = owner.Config.ModelDim;
        private int _k, _kw;
        private float[] _enc = Array.Empty<float>(), _keys = Array.Empty<float>(), _final = Array.Empty<float>(), _states = Array.Empty<float>();

        public override void Encode(IReadOnlyList<int[]> sources)
        {
            var byName = RunEncoder(sources);
            (_enc, _keys, _final, _states) = (byName["encoder_states"].Values, byName["attention_keys"].Values, byName["final_states"].Values, byName["initial_state"].Values);
            (_k, _kw) = (byName["encoder_states"].Shape[2], byName["attention_keys"].Shape[2]);
        }

        public override float[] Advance(ReadOnlySpan<int> parents, ReadOnlySpan<int> tokens)
        {
            var (inputs, source) = StepInputs(parents, tokens);
            int rows = source.Length, h = _h, s = SourceLength;
            inputs.Add(NamedOnnxValue.CreateFromTensor("state", Gather(_states, parents, h, new[] { rows, h })));
            inputs.Add(NamedOnnxValue.CreateFromTensor("encoder_states", Gather(_enc, source, s * _k, new[] { rows, s, _k })));
            inputs.Add(NamedOnnxValue.CreateFromTensor("attention_keys", Gather(_keys, source, s * _kw, new[] { rows, s, _kw })));
            inputs.Add(NamedOnnxValue.CreateFromTensor("final_states", Gather(_final, source, _k, new[] { rows, _k })));
            var byName = RunStep(inputs, source);
            _states = byName["next_state"];
            return byName["logits"];
        }
    }
}
