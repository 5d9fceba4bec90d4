namespace MLNetTransformers.Onnx;

/// <summary>Execution settings of ONNX Runtime sessions created by this library.</summary>
public sealed record OnnxExecutionOptions
{
    /// <summary>CPU or CUDA.</summary>
    public OnnxProvider Provider { get; init; } = OnnxProvider.Cpu;
    /// <summary>CUDA device ordinal.</summary>
    public int DeviceId { get; init; }
    /// <summary>When CUDA cannot be used, run on the CPU (and say why through the log) instead of failing.</summary>
    public bool FallbackToCpu { get; init; }
    /// <summary>Threads inside one operator (0 = ONNX Runtime's default, one per core).</summary>
    public int IntraOpThreads { get; init; }
    /// <summary>Receives notes such as why CUDA fell back to the CPU.</summary>
    public Action<string>? Log { get; init; }
}
