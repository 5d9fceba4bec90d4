using System.Collections.Concurrent;

namespace MLNetTransformers.Data;

/// <summary>
/// Copies of a model handed to concurrent callers: a model's layers keep per-call buffers, so one instance serves one
/// thread at a time. Copies are made on demand and reused; they never change after creation.
/// </summary>
internal sealed class ReplicaPool<T>(Func<T> create)
{
    private readonly ConcurrentBag<T> _free = new();

    /// <summary>Runs <paramref name="use"/> with a replica no other thread is using.</summary>
    public TResult Use<TResult>(Func<T, TResult> use)
    {
        var replica = _free.TryTake(out var r) ? r : create();
        try { return use(replica); }
        finally { _free.Add(replica); }
    }
}
