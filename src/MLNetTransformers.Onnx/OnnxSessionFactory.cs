namespace MLNetTransformers.Onnx;

/// <summary>Creates sessions with the requested provider, turning a missing GPU runtime into a clear error or a logged CPU fallback.</summary>
public static class OnnxSessionFactory
{
    /// <summary>The message thrown when CUDA was asked for and cannot be used.</summary>
    public const string CudaHelp =
        "CUDA execution needs the GPU build of ONNX Runtime: reference the NuGet package Microsoft.ML.OnnxRuntime.Gpu instead of " +
        "Microsoft.ML.OnnxRuntime, and install an NVIDIA driver with the CUDA and cuDNN versions that ONNX Runtime release requires. " +
        "Or set FallbackToCpu to run on the CPU.";

    /// <summary>A session over an ONNX model held in memory.</summary>
    /// <param name="model">The ONNX model bytes.</param>
    /// <param name="options">Provider and threads (null = CPU).</param>
    public static InferenceSession Create(byte[] model, OnnxExecutionOptions? options = null) => Create(o => new InferenceSession(model, o), options, "the model");

    /// <summary>A session over an ONNX file.</summary>
    /// <param name="path">Path of the .onnx file.</param>
    /// <param name="options">Provider and threads (null = CPU).</param>
    public static InferenceSession Create(string path, OnnxExecutionOptions? options = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX model file '{path}' does not exist.", path);
        return Create(o => new InferenceSession(path, o), options, $"'{path}'");
    }

    /// <summary>Which provider a session created with <paramref name="options"/> would use here, and why.</summary>
    /// <param name="options">The requested provider (null = CPU).</param>
    public static (OnnxProvider Provider, string? Reason) Resolve(OnnxExecutionOptions? options = null)
    {
        options ??= new OnnxExecutionOptions();
        if (options.Provider == OnnxProvider.Cpu) return (OnnxProvider.Cpu, null);
        using var so = new SessionOptions();
        var failure = TryAppendCuda(so, options.DeviceId);
        return failure is null ? (OnnxProvider.Cuda, null) : (OnnxProvider.Cpu, failure);
    }

    private static InferenceSession Create(Func<SessionOptions, InferenceSession> open, OnnxExecutionOptions? options, string what)
    {
        options ??= new OnnxExecutionOptions();
        if (options.DeviceId < 0) throw new ArgumentOutOfRangeException(nameof(options), options.DeviceId, "DeviceId must be non-negative.");
        var so = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        if (options.IntraOpThreads > 0) so.IntraOpNumThreads = options.IntraOpThreads;
        try
        {
            if (options.Provider == OnnxProvider.Cuda && TryAppendCuda(so, options.DeviceId) is { } failure)
            {
                if (!options.FallbackToCpu)
                    throw new InvalidOperationException($"CUDA device {options.DeviceId} cannot be used: {failure} {CudaHelp}");
                options.Log?.Invoke($"CUDA device {options.DeviceId} cannot be used ({failure}); running {what} on the CPU.");
            }
            try { return open(so); }
            catch (OnnxRuntimeException e) { throw new InvalidDataException($"ONNX Runtime cannot load {what}: {e.Message.ReplaceLineEndings(" ")}", e); }
        }
        finally { so.Dispose(); }
    }

    /// <summary>Appends the CUDA provider; returns why it failed, or null.</summary>
    private static string? TryAppendCuda(SessionOptions so, int deviceId)
    {
        try
        {
            so.AppendExecutionProvider_CUDA(deviceId);
            return null;
        }
        // The CPU-only package has no CUDA entry point at all (ML.NET's ApplyOnnxModel does not catch this one);
        // a GPU package without a usable driver or device raises OnnxRuntimeException.
        catch (EntryPointNotFoundException) { return "this ONNX Runtime build has no CUDA execution provider."; }
        catch (DllNotFoundException e) { return $"a CUDA library could not be loaded ({e.Message.ReplaceLineEndings(" ")})."; }
        catch (OnnxRuntimeException e) { return $"ONNX Runtime refused the CUDA provider ({e.Message.ReplaceLineEndings(" ")})."; }
    }
}
