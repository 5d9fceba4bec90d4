namespace MLNetTransformers.Core.Models;

/// <summary>
/// The managed <see cref="IIncrementalDecoder"/> of a <see cref="TransformerSeq2Seq"/>: sources are encoded as one padded
/// batch and each one's cross-attention keys and values projected once; every hypothesis (row) owns a
/// <see cref="KvCache"/>. A step hands each parent's cache to its first child and copies it for the others (beam
/// search forks), returns unused caches to a pool, then runs the decoder on all rows at once. <see cref="Encode"/> also
/// lays the decoder's weights out for the steps (<see cref="InferencePanels"/>): the steps that follow it read the
/// weights as they were then.
/// </summary>
internal sealed class TransformerIncrementalDecoder(TransformerSeq2Seq model) : IIncrementalDecoder
{
    private readonly Stack<KvCache> _free = new();
    private List<KvCache> _caches = new(), _next = new();
    private int[] _source = Array.Empty<int>(), _nextSource = Array.Empty<int>();
    private float[][][] _crossKeysValues = Array.Empty<float[][]>();
    private int[] _sourceLengths = Array.Empty<int>();
    private readonly List<float[][]> _rowCross = new();
    private int[] _ids = Array.Empty<int>(), _rowLengths = Array.Empty<int>();
    private bool[] _taken = Array.Empty<bool>();
    private readonly InferencePanels _panels = new(model.Decoder, model.Head);

    /// <summary>True when the model's weights will never change (a serving replica): they are then laid out once, not at each <see cref="Encode"/>.</summary>
    public bool FixedWeights { get; set; }

    public int VocabSize => model.Config.VocabSize;
    public int MaxLength => model.Config.MaxLength;
    public int MaxSourceLength => model.Config.MaxLength;

    public void Encode(IReadOnlyList<int[]> sources)
    {
        // One padded batch; padded keys are masked, so each source's states equal those of encoding it alone.
        var batch = TokenBatch.Padded(sources, MaxSourceLength);
        int n = batch.BatchSize, s = batch.SeqLen, d = model.Config.ModelDim;
        var memory = model.Encode(batch);
        _panels.Pack(repack: !FixedWeights);
        _crossKeysValues = new float[n][][];
        _sourceLengths = new int[n];
        for (int i = 0; i < n; i++)
        {
            int len = sources[i].Length;
            _crossKeysValues[i] = model.Decoder.ProjectMemory(memory.AsSpan(i * s * d, len * d).ToArray(), len);
            _sourceLengths[i] = len;
        }
        foreach (var c in _caches) _free.Push(c);
        _caches.Clear();
        for (int i = 0; i < n; i++) _caches.Add(Rent()); // the "previous rows" of the first step: one empty cache per source
        _source = Enumerable.Range(0, n).ToArray();
    }

    public float[] Advance(ReadOnlySpan<int> parents, ReadOnlySpan<int> tokens)
    {
        int rows = parents.Length;
        if (_nextSource.Length < rows) _nextSource = new int[rows];
        IIncrementalDecoder.RowSources(parents, tokens, _source.AsSpan(0, _caches.Count), _nextSource);
        if (_taken.Length < _caches.Count) _taken = new bool[_caches.Count];
        Array.Clear(_taken, 0, _caches.Count);
        if (_ids.Length < rows) (_ids, _rowLengths) = (new int[rows], new int[rows]);
        _next.Clear();
        _rowCross.Clear();
        for (int r = 0; r < rows; r++)
        {
            int p = parents[r];
            KvCache cache;
            if (!_taken[p]) { cache = _caches[p]; _taken[p] = true; }
            else { cache = Rent(); cache.CopyFrom(_caches[p]); } // every fork is copied before any row decodes
            _next.Add(cache);
            int source = _nextSource[r];
            _rowCross.Add(_crossKeysValues[source]);
            _rowLengths[r] = _sourceLengths[source];
            _ids[r] = tokens[r];
        }
        for (int p = 0; p < _caches.Count; p++)
            if (!_taken[p]) _free.Push(_caches[p]); // finished or pruned hypotheses leave the batch
        (_caches, _next) = (_next, _caches);
        (_source, _nextSource) = (_nextSource, _source);
        using var panels = _panels.Attach(repack: false);
        var hidden = model.Decoder.ForwardStep(_ids, rows, _caches, _rowCross, _rowLengths);
        return model.Head.Forward(hidden, rows);
    }

    private KvCache Rent()
    {
        if (!_free.TryPop(out var cache)) return new KvCache(model.Config);
        cache.Clear();
        return cache;
    }
}
