namespace MLNetTransformers.Core.Pretrained;

/// <summary>Named float tensors of a checkpoint made elsewhere (a safetensors file, an ONNX graph's initializers).</summary>
public interface ITensorSource
{
    /// <summary>Names the source in error messages (a file path).</summary>
    string Source { get; }
    /// <summary>Every tensor's name and shape.</summary>
    IReadOnlyDictionary<string, int[]> Shapes { get; }
    /// <summary>Reads tensor <paramref name="name"/> into <paramref name="destination"/> as float32 (its length is the tensor's element count).</summary>
    /// <param name="name">A name of <see cref="Shapes"/>.</param>
    /// <param name="destination">Receives the values, row-major.</param>
    void Read(string name, Span<float> destination);
}
