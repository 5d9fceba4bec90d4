namespace MLNetTransformers.Core.Kernels;

/// <summary>
/// A fixed set of threads, one per core, that kernels split work across. Unlike <c>Parallel.For</c> it does
/// not allocate per call (the training step must not allocate) and it never oversubscribes: a call made from
/// inside a running piece, or while another thread owns the pool, runs inline on the calling thread.
/// Threads claim pieces from a shared counter, so a core slowed by other work (the runtime's JIT or GC, another
/// process) simply takes fewer pieces. Each piece computes fixed outputs in a fixed order, so results do not depend
/// on which thread ran it. A new call starts only after every helper has finished the previous one, so no helper can
/// claim a piece of the wrong call.
/// </summary>
internal static class WorkerPool
{
    /// <summary>Number of threads that share work (the calling thread included).</summary>
    public static int Degree { get; } = Math.Max(1, Environment.ProcessorCount);

    private static readonly object Gate = new();
    private static SemaphoreSlim[]? _wake;
    private static IParallelWork? _work;
    private static int _count;
    private static int _next;
    private static int _pending;
    private static Exception? _error;
    // The caller's GEMM width, so that a test narrowing it on its own thread narrows it in every piece of the call.
    private static SimdWidth _width;

    [ThreadStatic] private static bool _inside;

    /// <summary>Runs <paramref name="work"/> for every index in [0, count) and returns when all are done.</summary>
    public static void For(int count, IParallelWork work)
    {
        if (count <= 0) return;
        if (count == 1 || Degree == 1 || _inside || !Monitor.TryEnter(Gate))
        {
            for (int i = 0; i < count; i++) work.Run(i);
            return;
        }
        try
        {
            var wake = _wake ??= StartWorkers();
            int helpers = Math.Min(Degree, count) - 1;
            _work = work;
            _count = count;
            _error = null;
            _width = Gemm.Width;
            _next = 0;
            Volatile.Write(ref _pending, helpers);
            for (int t = 0; t < helpers; t++) wake[t].Release();

            Exception? own = null;
            _inside = true;
            try { ClaimPieces(); }
            catch (Exception ex) { own = ex; }
            finally { _inside = false; }

            // Wait for the helpers even when our own slice failed: the next call must not start under them.
            var spin = new SpinWait();
            while (Volatile.Read(ref _pending) > 0) spin.SpinOnce(sleep1Threshold: -1);
            _work = null;
            if (own is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(own);
            if (_error is { } e) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e);
        }
        finally
        {
            Monitor.Exit(Gate);
        }
    }

    private static void ClaimPieces()
    {
        var work = _work!;
        int i;
        while ((i = Interlocked.Increment(ref _next) - 1) < _count) work.Run(i);
    }

    private static SemaphoreSlim[] StartWorkers()
    {
        var wake = new SemaphoreSlim[Degree - 1];
        for (int t = 0; t < wake.Length; t++)
        {
            wake[t] = new SemaphoreSlim(0);
            int id = t + 1;
            var sem = wake[t];
            var thread = new Thread(() => WorkerLoop(id, sem)) { IsBackground = true, Name = $"MLNetTransformers worker {id}" };
            thread.Start();
        }
        return wake;
    }

    private static void WorkerLoop(int id, SemaphoreSlim wake)
    {
        _inside = true;
        while (true)
        {
            wake.Wait();
            Gemm.Width = _width;
            try { ClaimPieces(); }
            catch (Exception e) { Interlocked.CompareExchange(ref _error, e, null); }
            finally { Interlocked.Decrement(ref _pending); }
        }
    }
}
