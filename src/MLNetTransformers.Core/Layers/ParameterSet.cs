using MLNetTransformers.Core.Kernels;

namespace MLNetTransformers.Core.Layers;

/// <summary>How a parameter tensor is initialised.</summary>
public readonly record struct Init(InitKind Kind, float Scale = 0f)
{
    /// <summary>All zeros (biases, LayerNorm shift).</summary>
    public static Init Zeros => new(InitKind.Constant, 0f);
    /// <summary>All ones (LayerNorm gain).</summary>
    public static Init Ones => new(InitKind.Constant, 1f);
    /// <summary>Normal with mean 0 and the given standard deviation.</summary>
    public static Init Normal(float std) => new(InitKind.Normal, std);
    /// <summary>Uniform in [-bound, bound].</summary>
    public static Init Uniform(float bound) => new(InitKind.Uniform, bound);
}

/// <summary>Kinds of <see cref="Init"/>.</summary>
public enum InitKind
{
    /// <summary>Every element equals the scale.</summary>
    Constant,
    /// <summary>Normal(0, scale²).</summary>
    Normal,
    /// <summary>Uniform(-scale, scale).</summary>
    Uniform,
}

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

/// <summary>
/// All parameters of a model in one contiguous buffer, with gradients in a second one of the same layout:
/// one AdamW pass, one clip, one checkpoint write. Layers declare their tensors while the model is built;
/// the buffers exist once <see cref="Allocate"/> has run.
/// </summary>
public sealed class ParameterSet
{
    private readonly List<ParameterTensor> _tensors = new();
    private readonly Dictionary<string, ParameterTensor> _byName = new(StringComparer.Ordinal);
    private float[]? _data, _grad;
    private int _size;

    /// <summary>The declared tensors in declaration order.</summary>
    public IReadOnlyList<ParameterTensor> Tensors => _tensors;
    /// <summary>Total number of scalars.</summary>
    public int Count => _size;
    /// <summary>All values, tensors back to back in declaration order.</summary>
    public float[] Data => _data ?? throw new InvalidOperationException("Parameters are not allocated yet: the model is still being built.");
    /// <summary>All gradients, same layout as <see cref="Data"/>.</summary>
    public float[] Grad => _grad ?? throw new InvalidOperationException("Parameters are not allocated yet: the model is still being built.");

    /// <summary>Declares a tensor. Names must be unique.</summary>
    public ParameterTensor Add(string name, int[] shape, Init init, bool decay)
    {
        if (_data is not null) throw new InvalidOperationException($"Cannot add parameter '{name}': the set is already allocated.");
        if (_byName.ContainsKey(name)) throw new ArgumentException($"Duplicate parameter name '{name}'.", nameof(name));
        foreach (int s in shape)
            if (s <= 0) throw new ArgumentOutOfRangeException(nameof(shape), $"Parameter '{name}' has a non-positive dimension in [{string.Join(", ", shape)}].");
        var t = new ParameterTensor(this, name, shape, _size, init, decay);
        _size = checked(_size + t.Length);
        _tensors.Add(t);
        _byName.Add(name, t);
        return t;
    }

    /// <summary>Looks a tensor up by name.</summary>
    public ParameterTensor this[string name] =>
        _byName.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"No parameter named '{name}'.");

    /// <summary>Whether a tensor of that name exists.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>Allocates the buffers and initialises every tensor from <paramref name="seed"/> (tensor i draws from its own stream).</summary>
    public void Allocate(ulong seed)
    {
        if (_data is not null) throw new InvalidOperationException("Parameters are already allocated.");
        _data = new float[_size];
        _grad = new float[_size];
        for (int i = 0; i < _tensors.Count; i++)
        {
            var t = _tensors[i];
            var v = t.Value;
            var rng = DeterministicRandom.Derive(seed, (ulong)i);
            switch (t.Initializer.Kind)
            {
                case InitKind.Constant: v.Fill(t.Initializer.Scale); break;
                case InitKind.Normal:
                    for (int j = 0; j < v.Length; j++) v[j] = (float)(rng.NextGaussian() * t.Initializer.Scale);
                    break;
                case InitKind.Uniform:
                    for (int j = 0; j < v.Length; j++) v[j] = (2f * rng.NextFloat() - 1f) * t.Initializer.Scale;
                    break;
            }
        }
    }

    /// <summary>Sets every gradient to zero.</summary>
    public void ZeroGrad() => Array.Clear(Grad);
}
