namespace MLNetTransformers.Onnx;

/// <summary>Which ONNX Runtime execution provider runs a model.</summary>
public enum OnnxProvider
{
    /// <summary>The CPU provider (always available).</summary>
    Cpu,
    /// <summary>NVIDIA CUDA (needs the Microsoft.ML.OnnxRuntime.Gpu package, CUDA and cuDNN).</summary>
    Cuda,
}
