using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNetTransformers.Data;
using MLNetTransformers.Persistence;

namespace MLNetTransformers.Onnx;

/// <summary>
/// Runs any ONNX model in an ML.NET pipeline with ONNX Runtime: vector columns bind to the model's inputs
/// ([batch, …] tensors of int64 or float), float outputs become vector columns, and a <c>last_hidden_state</c>-style
/// output can be pooled into a sentence embedding. Cursors over a view run 64 rows per session call; the session is
/// shared by all threads. Unlike ML.NET's ApplyOnnxModel, asking for CUDA on a CPU-only ONNX Runtime gives a clear
/// error, or a logged CPU fallback when allowed.
/// </summary>
public sealed class OnnxModelTransformer : LazyRowTransformer, IDisposable, IModelPart, IModelPartLoader<OnnxModelTransformer>
{
    static string IModelPartLoader<OnnxModelTransformer>.Kind => "onnx";

    // The ONNX file travels inside the model file; the execution provider is the saver's choice and is kept too.
    private sealed record OnnxRecord(string Model, Dictionary<string, string> Inputs, Dictionary<string, string>? Outputs, string? PoolOutput,
        Pooling Pooling, string EmbeddingColumn, OnnxProvider Provider, int DeviceId, bool FallbackToCpu, int IntraOpThreads);

    object IModelPart.SavePart(ModelPartWriter w)
    {
        var bytes = _options.ModelBytes ?? File.ReadAllBytes(_options.ModelFile!);
        // The file is read again to be saved: it must still be the model the session runs.
        if (_options.ModelBytes is null && !System.Security.Cryptography.SHA256.HashData(bytes).AsSpan().SequenceEqual(_fileHash))
            throw new InvalidOperationException($"ONNX model file '{_options.ModelFile}' changed after this transformer loaded it; the model being saved would not be the one that runs.");
        var e = _options.Execution;
        return new OnnxRecord(w.Entry("onnx", bytes), new(_options.InputColumns), _options.OutputColumns is null ? null : new(_options.OutputColumns),
            _options.PoolOutput, _options.Pooling, _options.EmbeddingColumnName, e.Provider, e.DeviceId, e.FallbackToCpu, e.IntraOpThreads);
    }

    static ITransformer IModelPartLoader<OnnxModelTransformer>.LoadPart(ModelPartReader r)
    {
        var rec = r.Record<OnnxRecord>();
        return new OnnxModelTransformer(new OnnxModelOptions
        {
            ModelBytes = r.Entry(rec.Model), InputColumns = rec.Inputs, OutputColumns = rec.Outputs, PoolOutput = rec.PoolOutput, Pooling = rec.Pooling,
            EmbeddingColumnName = rec.EmbeddingColumn,
            Execution = new OnnxExecutionOptions { Provider = rec.Provider, DeviceId = rec.DeviceId, FallbackToCpu = rec.FallbackToCpu, IntraOpThreads = rec.IntraOpThreads },
        });
    }

    private readonly InferenceSession _session;
    private readonly OnnxModelOptions _options;
    private readonly Dictionary<string, string> _inputs = new(StringComparer.Ordinal);
    private readonly List<string> _zeroInputs = new();
    private readonly byte[]? _fileHash; // SHA-256 of ModelFile as the session loaded it

    /// <summary>Opens the session and resolves the input bindings against the model's inputs.</summary>
    /// <param name="options">The model and how columns bind to its inputs and outputs.</param>
    public OnnxModelTransformer(OnnxModelOptions options)
    {
        _options = options;
        if (options.ModelBytes is { } bytes) _session = OnnxSessionFactory.Create(bytes, options.Execution);
        else
        {
            string file = options.ModelFile ?? throw new ArgumentException("Set ModelFile or ModelBytes.");
            _session = OnnxSessionFactory.Create(file, options.Execution);
            using var stream = File.OpenRead(file);
            _fileHash = System.Security.Cryptography.SHA256.HashData(stream);
        }
        foreach (var (name, meta) in _session.InputMetadata)
        {
            if (meta.ElementType != typeof(long) && meta.ElementType != typeof(float))
                throw new NotSupportedException($"ONNX input '{name}' has element type {meta.ElementType.Name}; only int64 and float inputs can be bound to columns.");
            if (options.InputColumns.TryGetValue(name, out var column)) _inputs[name] = column;
            else throw new ArgumentException($"ONNX input '{name}' is not bound to a column; add it to InputColumns (model inputs: {string.Join(", ", _session.InputMetadata.Keys)}).");
        }
        if (options.PoolOutput is { } pool && !_session.OutputMetadata.ContainsKey(pool))
            throw new ArgumentException($"The model has no output '{pool}' to pool (outputs: {string.Join(", ", _session.OutputMetadata.Keys)}).");
    }

    /// <summary>ONNX input → column actually bound.</summary>
    public IReadOnlyDictionary<string, string> BoundInputs => _inputs;
    /// <summary>The ONNX Runtime session (thread-safe to Run).</summary>
    public InferenceSession Session => _session;

    /// <inheritdoc/>
    public void Dispose() => _session.Dispose();

    /// <inheritdoc/>
    private protected override ColumnMapper CreateMapper(DataViewSchema inputSchema) => new Mapper(this, inputSchema);

    // Stock ApplyOnnxModel (Microsoft.ML.OnnxTransformer) could carry the graph, but not the pooling and column bindings.
    private protected override string SavedState => "an ONNX model with its column bindings and pooling";

    /// <summary>ONNX output → column, as configured.</summary>
    private IEnumerable<(string Output, string Column)> OutputBindings() =>
        _options.OutputColumns?.Select(kv => (kv.Key, kv.Value))
        ?? _session.OutputMetadata.Where(kv => kv.Value.ElementType == typeof(float) && kv.Key != _options.PoolOutput).Select(kv => (kv.Key, kv.Key));

    /// <summary>Output columns; sizes come from a dry run on a one-row batch of <paramref name="inputShapes"/> (null: sizes unknown).</summary>
    internal DataViewSchema.DetachedColumn[] OutputColumnsFor(Dictionary<string, int[]>? inputShapes)
    {
        var sizes = inputShapes is null ? null : DryRun(inputShapes);
        var cols = new List<DataViewSchema.DetachedColumn>();
        foreach (var (output, column) in OutputBindings())
        {
            if (!_session.OutputMetadata.TryGetValue(output, out var meta))
                throw new ArgumentException($"The model has no output '{output}' (outputs: {string.Join(", ", _session.OutputMetadata.Keys)}).");
            if (meta.ElementType != typeof(float)) throw new NotSupportedException($"ONNX output '{output}' has element type {meta.ElementType.Name}; only float outputs become columns.");
            cols.Add(new DataViewSchema.DetachedColumn(column, new VectorDataViewType(NumberDataViewType.Single, sizes?[output] ?? 0)));
        }
        if (_options.PoolOutput is { } pool)
        {
            var dims = _session.OutputMetadata[pool].Dimensions;
            int hidden = dims.Length == 3 ? dims[2] : throw new NotSupportedException($"ONNX output '{pool}' has rank {dims.Length}; pooling needs [batch, sequence, hidden].");
            cols.Add(new DataViewSchema.DetachedColumn(_options.EmbeddingColumnName, new VectorDataViewType(NumberDataViewType.Single, hidden > 0 ? hidden : sizes?[pool + "#hidden"] ?? 0)));
        }
        return cols.ToArray();
    }

    private Dictionary<string, int> DryRun(Dictionary<string, int[]> inputShapes)
    {
        var feeds = _session.InputMetadata.Select(kv =>
        {
            var shape = inputShapes[kv.Key];
            int n = shape.Aggregate(1, (a, b) => a * b);
            return kv.Value.ElementType == typeof(long)
                ? NamedOnnxValue.CreateFromTensor(kv.Key, new DenseTensor<long>(Enumerable.Repeat(1L, n).ToArray(), shape))
                : NamedOnnxValue.CreateFromTensor(kv.Key, new DenseTensor<float>(new float[n], shape));
        }).ToList();
        using var results = _session.Run(feeds);
        var sizes = new Dictionary<string, int>();
        foreach (var r in results)
        {
            if (r.Value is not DenseTensor<float> t) continue;
            sizes[r.Name] = t.Dimensions.ToArray().Skip(1).Aggregate(1, (a, b) => a * b);
            if (t.Dimensions.Length == 3) sizes[r.Name + "#hidden"] = t.Dimensions[2];
        }
        return sizes;
    }

    /// <summary>One row's input values.</summary>
    private sealed record RowInputs(long[][] Longs, float[][] Floats);

    private sealed class Mapper : ColumnMapper
    {
        private readonly OnnxModelTransformer _p;
        private readonly (string Name, DataViewSchema.Column Column, bool IsLong, int[] RowShape, bool Zeros)[] _bound;
        private readonly DataViewSchema.DetachedColumn[] _outputs;
        private readonly string[] _outputNames;
        private readonly int[] _widths;

        public Mapper(OnnxModelTransformer p, DataViewSchema input) : base(input)
        {
            _p = p;
            var bound = new List<(string, DataViewSchema.Column, bool, int[], bool)>();
            var shapes = new Dictionary<string, int[]>();
            foreach (var (name, meta) in p._session.InputMetadata)
            {
                string columnName = p._inputs[name];
                bool zeros = false;
                if (name == "token_type_ids" && input.GetColumnOrNull(columnName) is null && p._inputs.TryGetValue("input_ids", out var idsColumn) && input.GetColumnOrNull(idsColumn) is not null)
                {
                    columnName = idsColumn; // BERT-style models want segment ids; a single sentence is all zeros, shaped like input_ids
                    zeros = true;
                }
                var col = input.GetColumnOrNull(columnName) ?? throw new ArgumentOutOfRangeException(nameof(input),
                    $"Column '{columnName}' (bound to ONNX input '{name}') was not found in the input (columns: {string.Join(", ", input.Where(c => !c.IsHidden).Select(c => c.Name))}).");
                bool isLong = meta.ElementType == typeof(long);
                var item = (col.Type as VectorDataViewType)?.ItemType ?? col.Type;
                bool typeOk = isLong ? item == NumberDataViewType.Int64 || item == NumberDataViewType.Int32 : item == NumberDataViewType.Single;
                int size = col.Type is VectorDataViewType v ? v.Size : 1;
                var dims = meta.Dimensions;
                string expected = $"{(isLong ? "int64" : "float")} [{string.Join(", ", dims.Select((d, i) => d < 0 ? (i == 0 ? "batch" : "?") : d.ToString(System.Globalization.CultureInfo.InvariantCulture)))}]";
                if (!typeOk) throw new ArgumentOutOfRangeException(nameof(input), $"ONNX input '{name}' expects {expected}; column '{columnName}' is {col.Type}.");
                if (dims.Length < 1 || dims.Length > 2 || (dims.Length == 2 && size == 0) || (dims.Length == 1 && col.Type is VectorDataViewType))
                    throw new ArgumentOutOfRangeException(nameof(input), $"ONNX input '{name}' expects {expected} (rank {dims.Length}); column '{columnName}' is {col.Type}, which gives one {(col.Type is VectorDataViewType ? "known-size vector" : "scalar")} per row.");
                if (dims.Length == 2 && dims[1] > 0 && dims[1] != size)
                    throw new ArgumentOutOfRangeException(nameof(input), $"ONNX input '{name}' expects {expected}; column '{columnName}' holds {size} values per row.");
                int[] rowShape = dims.Length == 2 ? new[] { size } : Array.Empty<int>();
                bound.Add((name, col, isLong, rowShape, zeros));
                shapes[name] = [1, .. rowShape];
            }
            _bound = bound.ToArray();
            _outputs = p.OutputColumnsFor(shapes);
            _outputNames = p.OutputBindings().Select(b => b.Output).Concat(p._options.PoolOutput is { } po ? new[] { po } : Array.Empty<string>()).ToArray();
            _widths = _outputs.Select(c => ((VectorDataViewType)c.Type).Size).ToArray();
        }

        public override IReadOnlyList<DataViewSchema.DetachedColumn> Outputs => _outputs;
        public override IEnumerable<DataViewSchema.Column> Dependencies => _bound.Select(b => b.Column).Distinct();

        public override Delegate?[] CreateGetters(RowContext row, bool[] active)
        {
            int width = _widths.Sum();
            var rows = new BatchedRows<RowInputs, float>(row, Dependencies.ToArray(), width, Reader, Compute);
            var getters = new Delegate?[_outputs.Length];
            int offset = 0;
            for (int i = 0; i < _outputs.Length; i++)
            {
                int start = offset, w = _widths[i];
                offset += w;
                if (!active[i]) continue;
                getters[i] = (ValueGetter<VBuffer<float>>)((ref VBuffer<float> v) =>
                {
                    var e = VBufferEditor.Create(ref v, w);
                    rows.Current().Slice(start, w).CopyTo(e.Values);
                    v = e.Commit();
                });
            }
            return getters;
        }

        private Func<RowInputs> Reader(DataViewRow r)
        {
            var longReaders = new Func<long[]>?[_bound.Length];
            var floatReaders = new Func<float[]>?[_bound.Length];
            for (int i = 0; i < _bound.Length; i++)
            {
                var col = r.Schema[_bound[i].Column.Index];
                var item = (col.Type as VectorDataViewType)?.ItemType ?? col.Type;
                if (!_bound[i].IsLong) floatReaders[i] = Values<float, float>(r, col, x => x);
                else if (item == NumberDataViewType.Int32) longReaders[i] = Values<int, long>(r, col, x => x);
                else longReaders[i] = Values<long, long>(r, col, x => x);
            }
            return () =>
            {
                var longs = new long[_bound.Length][];
                var floats = new float[_bound.Length][];
                for (int i = 0; i < _bound.Length; i++)
                {
                    if (longReaders[i] is { } lr) longs[i] = _bound[i].Zeros ? new long[lr().Length] : lr();
                    else floats[i] = floatReaders[i]!();
                }
                return new RowInputs(longs, floats);
            };
        }

        /// <summary>Copies a row's vector (or scalar) value, converted element by element.</summary>
        private static Func<TOut[]> Values<TIn, TOut>(DataViewRow r, DataViewSchema.Column col, Func<TIn, TOut> convert)
        {
            if (col.Type is VectorDataViewType)
            {
                var g = r.GetGetter<VBuffer<TIn>>(col);
                VBuffer<TIn> v = default;
                return () =>
                {
                    g(ref v);
                    var dst = new TOut[v.Length];
                    int i = 0;
                    foreach (var x in v.DenseValues()) dst[i++] = convert(x);
                    return dst;
                };
            }
            var s = r.GetGetter<TIn>(col);
            TIn one = default!;
            return () => { s(ref one); return new[] { convert(one) }; };
        }

        private void Compute(IReadOnlyList<RowInputs> items, float[] results)
        {
            int n = items.Count, width = _widths.Sum();
            var feeds = new List<NamedOnnxValue>();
            for (int i = 0; i < _bound.Length; i++)
            {
                var shape = new[] { n }.Concat(_bound[i].RowShape).ToArray();
                if (_bound[i].IsLong) feeds.Add(NamedOnnxValue.CreateFromTensor(_bound[i].Name, new DenseTensor<long>(items.SelectMany(it => it.Longs[i]).ToArray(), shape)));
                else feeds.Add(NamedOnnxValue.CreateFromTensor(_bound[i].Name, new DenseTensor<float>(items.SelectMany(it => it.Floats[i]).ToArray(), shape)));
            }
            var wanted = _outputNames.Distinct().ToArray();
            using var output = _p._session.Run(feeds, wanted);
            var byName = output.ToDictionary(o => o.Name, o => o.AsTensor<float>());
            int offset = 0;
            for (int k = 0; k < _outputs.Length; k++)
            {
                int w = _widths[k];
                bool pooled = _p._options.PoolOutput is not null && k == _outputs.Length - 1;
                var t = byName[_outputNames[k]];
                if (!pooled)
                {
                    var flat = t.ToArray();
                    for (int r = 0; r < n; r++) flat.AsSpan(r * w, w).CopyTo(results.AsSpan(r * width + offset, w));
                }
                else Pool(t, items, results, width, offset, w);
                offset += w;
            }
        }

        /// <summary>[n, T, H] → [n, H]: masked mean (mask from the bound attention_mask input, else all ones) or first token.</summary>
        private void Pool(Tensor<float> t, IReadOnlyList<RowInputs> items, float[] results, int width, int offset, int hidden)
        {
            int seq = t.Dimensions[1];
            int maskIndex = Array.FindIndex(_bound, b => b.Name == "attention_mask");
            for (int r = 0; r < items.Count; r++)
            {
                var dst = results.AsSpan(r * width + offset, hidden);
                dst.Clear();
                if (_p._options.Pooling == Pooling.Cls) { for (int h = 0; h < hidden; h++) dst[h] = t[r, 0, h]; continue; }
                int count = 0;
                for (int s = 0; s < seq; s++)
                {
                    if (maskIndex >= 0 && items[r].Longs[maskIndex][s] == 0) continue;
                    for (int h = 0; h < hidden; h++) dst[h] += t[r, s, h];
                    count++;
                }
                if (count > 0) for (int h = 0; h < hidden; h++) dst[h] /= count;
            }
        }
    }
}
