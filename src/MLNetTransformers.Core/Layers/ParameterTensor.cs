namespace MLNetTransformers.Core.Layers;

/// <summary>A named view of one parameter tensor inside its <see cref="ParameterSet"/>'s flat buffers.</summary>
public sealed class ParameterTensor
{
    internal ParameterTensor(ParameterSet owner, string name, int[] shape, int offset, Init init, bool decay)
    {
        Owner = owner;
        Name = name;
        Shape = shape;
        Offset = offset;
        Length = shape.Aggregate(1, (a, b) => checked(a * b));
        Initializer = init;
        Decay = decay;
    }

    /// <summary>The set whose buffers hold this tensor.</summary>
    public ParameterSet Owner { get; }
    /// <summary>Dotted name, PyTorch style (<c>layers.0.self_attn.in_proj_weight</c>).</summary>
    public string Name { get; }
    /// <summary>Shape, row-major.</summary>
    public int[] Shape { get; }
    /// <summary>Start in <see cref="ParameterSet.Data"/>.</summary>
    public int Offset { get; }
    /// <summary>Number of elements.</summary>
    public int Length { get; }
    /// <summary>How it is initialised.</summary>
    public Init Initializer { get; }
    /// <summary>Whether AdamW applies weight decay to it (weights of Linear layers; not biases, norms, embeddings).</summary>
    public bool Decay { get; }
    /// <summary>The values.</summary>
    public Span<float> Value => Owner.Data.AsSpan(Offset, Length);
    /// <summary>The accumulated gradient.</summary>
    public Span<float> Grad => Owner.Grad.AsSpan(Offset, Length);
    /// <summary>The values as an array segment (for kernels that keep a reference).</summary>
    internal ArraySegment<float> ValueSegment => new(Owner.Data, Offset, Length);

    /// <inheritdoc/>
    public override string ToString() => $"{Name} [{string.Join(", ", Shape)}]";
}
