using System.Runtime.InteropServices;

namespace MLNetTransformers.Onnx;

/// <summary>Creates sessions with the requested provider, turning a missing GPU runtime into a clear error or a logged CPU fallback.</summary>
public static class OnnxSessionFactory
{
    /// <summary>The message thrown when CUDA was asked for and cannot be used.</summary>
    public const string CudaHelp =
        "CUDA execution needs the GPU build of ONNX Runtime (build with -p:OnnxRuntimeFlavor=Gpu, which references " +
        "Microsoft.ML.OnnxRuntime.Gpu.Linux instead of Microsoft.ML.OnnxRuntime), an NVIDIA driver, and the CUDA and cuDNN " +
        "versions that ONNX Runtime release requires (1.32: CUDA 13, cuDNN 9). Or set FallbackToCpu to run on the CPU.";

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
        if (CudaProviderLoadFailure() is { } failure) return failure;
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

    /// <summary>The CUDA provider library of the GPU build, when this application has one (null with the CPU package).</summary>
    internal static string? CudaProviderPath
    {
        get
        {
            string name = OperatingSystem.IsWindows() ? "onnxruntime_providers_cuda.dll" : "libonnxruntime_providers_cuda.so";
            string rid = $"{(OperatingSystem.IsWindows() ? "win" : "linux")}-{RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()}";
            return new[] { Path.Combine(AppContext.BaseDirectory, name), Path.Combine(AppContext.BaseDirectory, "runtimes", rid, "native", name) }
                .FirstOrDefault(File.Exists);
        }
    }

    // ONNX Runtime opens its CUDA provider library on demand and, when a CUDA or cuDNN library is missing, reports only
    // "Failed to load shared library" (the name goes to its own log). Opening the provider here first gives the loader's
    // reason, which names the missing library.
    private static string? CudaProviderLoadFailure()
    {
        if (CudaProviderPath is not { } path) return null;
        try
        {
            NativeLibrary.Free(NativeLibrary.Load(path));
            return null;
        }
        catch (DllNotFoundException e)
        {
            var missing = System.Text.RegularExpressions.Regex.Match(e.Message, @"([\w.+-]+\.(?:so[\d.]*|dll)): cannot open shared object file");
            return missing.Success
                ? $"{missing.Groups[1].Value} is not installed or not on the library path (the CUDA provider {Path.GetFileName(path)} needs it)."
                : $"the CUDA provider {Path.GetFileName(path)} could not be loaded ({e.Message.ReplaceLineEndings(" ")}).";
        }
    }
}
