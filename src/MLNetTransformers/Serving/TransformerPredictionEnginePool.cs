using Microsoft.Extensions.ObjectPool;

namespace MLNetTransformers.Serving;

/// <summary>
/// A pool of ML.NET <see cref="PredictionEngine{TSrc, TDst}"/>s over a model saved with <see cref="TransformerModel.Save"/>,
/// for serving many requests at once: <see cref="Predict(TData)"/> is thread-safe (a <c>PredictionEngine</c> is not; each
/// call borrows one from the pool and returns it). The shape of <c>Microsoft.Extensions.ML</c>'s
/// <c>PredictionEnginePool</c> (<c>Predict</c>, <c>GetPredictionEngine</c>, <c>ReturnPredictionEngine</c>, <c>GetModel</c>), on
/// <c>Microsoft.Extensions.ObjectPool</c>. With <c>watchForChanges</c> the model file is reloaded when it changes: requests
/// keep being answered by the old model until the new one has loaded, and a file that does not load (half-copied,
/// corrupt) leaves the old model serving and is reported in <see cref="LastReloadError"/> and <see cref="ModelReloaded"/>.
/// </summary>
/// <typeparam name="TData">The input class (its properties are the model's input columns).</typeparam>
/// <typeparam name="TPrediction">The output class (e.g. <c>PredictedLabel</c>, <c>Probability</c>, <c>Score</c>).</typeparam>
public sealed class TransformerPredictionEnginePool<TData, TPrediction> : IDisposable
    where TData : class
    where TPrediction : class, new()
{
    private readonly MLContext _ml;
    private readonly FileSystemWatcher? _watcher;
    private readonly Timer? _debounce;
    private readonly object _reloadLock = new();
    private volatile Generation _current;
    private bool _disposed;

    /// <summary>Loads the model at <paramref name="modelPath"/> (an error names the file if it cannot be loaded).</summary>
    /// <param name="modelPath">A model file written by <see cref="TransformerModel.Save"/>.</param>
    /// <param name="watchForChanges">Reload the model when the file is replaced or rewritten.</param>
    /// <param name="maximumRetained">Engines kept in the pool (more are created under load and dropped after); default twice the processor count.</param>
    public TransformerPredictionEnginePool(string modelPath, bool watchForChanges = false, int? maximumRetained = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        if (maximumRetained is < 1) throw new ArgumentOutOfRangeException(nameof(maximumRetained), maximumRetained, "maximumRetained must be at least 1.");
        ModelPath = Path.GetFullPath(modelPath);
        MaximumRetained = maximumRetained ?? Environment.ProcessorCount * 2;
        _ml = new MLContext();
        _current = Load();
        if (!watchForChanges) return;
        // Saves are atomic (a temporary file renamed over the old one) and copies arrive in pieces: wait for the events
        // to settle, then load; a file that does not load yet is tried again at its next change.
        _debounce = new Timer(_ => Reload(), null, Timeout.Infinite, Timeout.Infinite);
        _watcher = new FileSystemWatcher(Path.GetDirectoryName(ModelPath)!, Path.GetFileName(ModelPath))
        {
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        FileSystemEventHandler changed = (_, _) => _debounce.Change(ReloadDelay, Timeout.InfiniteTimeSpan);
        _watcher.Changed += changed;
        _watcher.Created += changed;
        _watcher.Renamed += (_, e) => { if (string.Equals(e.FullPath, ModelPath, StringComparison.Ordinal)) changed(this, e); };
        _watcher.EnableRaisingEvents = true;
    }

    /// <summary>How long the file must be quiet before a reload (events of one save or copy arrive in a burst): 300 ms.</summary>
    public TimeSpan ReloadDelay { get; } = TimeSpan.FromMilliseconds(300);

    /// <summary>The model file (full path).</summary>
    public string ModelPath { get; }
    /// <summary>Engines kept in the pool.</summary>
    public int MaximumRetained { get; }
    /// <summary>How many times the model has been loaded (1 after construction; each successful reload adds one).</summary>
    public int ModelVersion => _current.Version;
    /// <summary>Why the last reload failed (the old model kept serving), or null when it succeeded.</summary>
    public Exception? LastReloadError { get; private set; }

    /// <summary>Raised after each reload attempt: <c>null</c> when the new model serves, else the error (the old one still serves).</summary>
    public event Action<Exception?>? ModelReloaded;

    /// <summary>Predicts one example (thread-safe).</summary>
    /// <param name="example">The input row.</param>
    public TPrediction Predict(TData example)
    {
        ArgumentNullException.ThrowIfNull(example);
        var generation = _current;
        var engine = generation.Pool.Get();
        try { return engine.Predict(example); }
        finally { generation.Pool.Return(engine); }
    }

    /// <summary>Borrows an engine of the current model; give it back with <see cref="ReturnPredictionEngine"/>.</summary>
    public PredictionEngine<TData, TPrediction> GetPredictionEngine() => _current.Pool.Get();

    /// <summary>Gives back an engine from <see cref="GetPredictionEngine"/> (an engine of a model since replaced is dropped).</summary>
    /// <param name="engine">The engine borrowed.</param>
    public void ReturnPredictionEngine(PredictionEngine<TData, TPrediction> engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        var generation = _current;
        if (generation.Owns(engine)) generation.Pool.Return(engine);
    }

    /// <summary>The model now serving.</summary>
    public ITransformer GetModel() => _current.Model;

    /// <summary>Loads the file again now (what a change of the file triggers); returns whether the new model serves.</summary>
    public bool Reload()
    {
        lock (_reloadLock)
        {
            if (_disposed) return false;
            try
            {
                _current = Load(_current.Version + 1);
                LastReloadError = null;
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or NotSupportedException or FormatException or InvalidOperationException or ArgumentException)
            {
                LastReloadError = e;
            }
        }
        ModelReloaded?.Invoke(LastReloadError);
        return LastReloadError is null;
    }

    private Generation Load(int version = 1)
    {
        var model = TransformerModel.Load(_ml, ModelPath, out _);
        // One engine now: a model whose columns do not fit TData/TPrediction fails here, naming the column, not at a request.
        var generation = new Generation(model, version, MaximumRetained, _ml);
        generation.Pool.Return(generation.Pool.Get());
        return generation;
    }

    /// <summary>Stops watching the file.</summary>
    public void Dispose()
    {
        lock (_reloadLock) _disposed = true;
        _watcher?.Dispose();
        _debounce?.Dispose();
    }

    // A loaded model and the pool of its engines: swapped as a whole on reload.
    private sealed class Generation
    {
        // Weak: engines made under load beyond what the pool retains are dropped by the pool and collected.
        private readonly System.Runtime.CompilerServices.ConditionalWeakTable<PredictionEngine<TData, TPrediction>, object> _made = new();

        public Generation(ITransformer model, int version, int retained, MLContext ml)
        {
            (Model, Version) = (model, version);
            Pool = new DefaultObjectPool<PredictionEngine<TData, TPrediction>>(new EnginePolicy(this, ml), retained);
        }

        public ITransformer Model { get; }
        public int Version { get; }
        public ObjectPool<PredictionEngine<TData, TPrediction>> Pool { get; }

        public bool Owns(PredictionEngine<TData, TPrediction> engine) => _made.TryGetValue(engine, out _);

        private sealed class EnginePolicy(Generation owner, MLContext ml) : IPooledObjectPolicy<PredictionEngine<TData, TPrediction>>
        {
            public PredictionEngine<TData, TPrediction> Create()
            {
                var engine = ml.Model.CreatePredictionEngine<TData, TPrediction>(owner.Model);
                owner._made.AddOrUpdate(engine, owner);
                return engine;
            }

            public bool Return(PredictionEngine<TData, TPrediction> obj) => true;
        }
    }
}
