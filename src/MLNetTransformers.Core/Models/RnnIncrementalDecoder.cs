namespace MLNetTransformers.Core.Models;

/// <summary>
/// The managed <see cref="IIncrementalDecoder"/> of an <see cref="RnnSeq2Seq"/>: sources are encoded as one padded batch
/// (each source's states, attention keys and first decoder state kept); a hypothesis's whole state is its decoder
/// GRU state, so a step gathers each row's parent state and runs the embedding, attention, GRU cell and output layer
/// on all rows at once.
/// </summary>
internal sealed class RnnIncrementalDecoder(RnnSeq2Seq model) : IIncrementalDecoder
{
    private float[][] _enc = Array.Empty<float[]>(), _keys = Array.Empty<float[]>(), _fin = Array.Empty<float[]>();
    private int[] _lengths = Array.Empty<int>(), _source = Array.Empty<int>();
    private float[] _states = Array.Empty<float>();
    private float[]? _prev, _gin, _xproj, _next, _o, _cs;
    private readonly List<float[]> _rowEnc = new(), _rowKeys = new();
    private int[] _rowLengths = Array.Empty<int>(), _ids = Array.Empty<int>();

    public int VocabSize => model.Config.VocabSize;
    public int MaxLength => model.Config.MaxLength;
    public int MaxSourceLength => model.Config.MaxLength;

    public void Encode(IReadOnlyList<int[]> sources)
    {
        var batch = TokenBatch.Padded(sources, MaxSourceLength);
        int n = batch.BatchSize, s = batch.SeqLen, h = model.Config.ModelDim, k = model.EncoderStateDim;
        var s0 = new float[n * h];
        var fin = new float[n * k];
        var enc = model.Encode(batch, s0, fin);
        (_enc, _keys, _fin, _lengths) = (new float[n][], new float[n][], new float[n][], new int[n]);
        for (int i = 0; i < n; i++)
        {
            int len = sources[i].Length;
            _enc[i] = enc.AsSpan(i * s * k, len * k).ToArray();
            _keys[i] = model.Attention?.ProjectKeys(_enc[i], len) ?? Array.Empty<float>();
            _fin[i] = fin.AsSpan(i * k, k).ToArray();
            _lengths[i] = len;
        }
        _states = s0;
        _source = Enumerable.Range(0, n).ToArray();
    }

    public float[] Advance(ReadOnlySpan<int> parents, ReadOnlySpan<int> tokens)
    {
        int rows = parents.Length, h = model.Config.ModelDim, k = model.EncoderStateDim, e = model.Config.EmbeddingWidth;
        var source = new int[rows];
        IIncrementalDecoder.RowSources(parents, tokens, _source, source);
        var prev = Workspace.Ensure(ref _prev, rows * h);
        if (_ids.Length < rows) (_ids, _rowLengths) = (new int[rows], new int[rows]);
        _rowEnc.Clear();
        _rowKeys.Clear();
        for (int r = 0; r < rows; r++)
        {
            _states.AsSpan(parents[r] * h, h).CopyTo(prev.AsSpan(r * h, h));
            _rowEnc.Add(_enc[source[r]]);
            _rowKeys.Add(_keys[source[r]]);
            _rowLengths[r] = _lengths[source[r]];
            _ids[r] = tokens[r];
        }
        var emb = model.TargetEmbedding.Forward(_ids, rows);
        var next = Workspace.Ensure(ref _next, rows * h);
        var xproj = Workspace.Ensure(ref _xproj, rows * 3 * h);
        float[] logits;
        if (!model.IsLuong)
        {
            int din = e + k;
            var gin = Workspace.Ensure(ref _gin, rows * din);
            var ctx = model.Attention?.ForwardRows(prev, rows, _rowEnc, _rowKeys, _rowLengths);
            for (int r = 0; r < rows; r++)
            {
                emb.AsSpan(r * e, e).CopyTo(gin.AsSpan(r * din, e));
                (ctx is null ? _fin[source[r]] : ctx.AsSpan(r * k, k)).CopyTo(gin.AsSpan(r * din + e, k));
            }
            model.Decoder.Project(gin.AsSpan(0, rows * din), rows, xproj);
            model.Decoder.StepInference(xproj, rows, prev, next);
            int dout = h + k + e;
            var o = Workspace.Ensure(ref _o, rows * dout);
            for (int r = 0; r < rows; r++)
            {
                next.AsSpan(r * h, h).CopyTo(o.AsSpan(r * dout, h));
                gin.AsSpan(r * din + e, k).CopyTo(o.AsSpan(r * dout + h, k));
                emb.AsSpan(r * e, e).CopyTo(o.AsSpan(r * dout + h + k, e));
            }
            logits = model.Output.Forward(o, rows);
        }
        else
        {
            model.Decoder.Project(emb.AsSpan(0, rows * e), rows, xproj);
            model.Decoder.StepInference(xproj, rows, prev, next);
            var ctx = model.Attention!.ForwardRows(next, rows, _rowEnc, _rowKeys, _rowLengths);
            var (w, b) = model.Combine!.Value;
            var cs = Workspace.Ensure(ref _cs, rows * (k + h));
            for (int r = 0; r < rows; r++)
            {
                ctx.AsSpan(r * k, k).CopyTo(cs.AsSpan(r * (k + h), k));
                next.AsSpan(r * h, h).CopyTo(cs.AsSpan(r * (k + h) + k, h));
            }
            var ht = Workspace.Ensure(ref _o, rows * h);
            Gemm.MatMulTransB(cs.AsSpan(0, rows * (k + h)), w.Value, ht.AsSpan(0, rows * h), rows, h, k + h);
            Linear.AddBias(ht, rows, h, b.Value);
            TensorPrimitives.Tanh(ht.AsSpan(0, rows * h), ht.AsSpan(0, rows * h));
            logits = model.Output.Forward(ht, rows);
        }
        _states = next.AsSpan(0, rows * h).ToArray();
        _source = source;
        return logits;
    }
}
