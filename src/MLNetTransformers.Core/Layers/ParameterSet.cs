namespace MLNetTransformers.Core.Layers;

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
    private int _reusing;

    /// <summary>The declared tensors in declaration order.</summary>
    public IReadOnlyList<ParameterTensor> Tensors => _tensors;
    /// <summary>Total number of scalars.</summary>
    public int Count => _size;
    /// <summary>All values, tensors back to back in declaration order.</summary>
    public float[] Data => _data ?? throw new InvalidOperationException("Parameters are not allocated yet: the model is still being built.");
    /// <summary>All gradients, same layout as <see cref="Data"/>.</summary>
    public float[] Grad => _grad ?? throw new InvalidOperationException("Parameters are not allocated yet: the model is still being built.");

    /// <summary>
    /// Inside the returned scope (dispose it to end it) a declaration that repeats a name gets the tensor already declared,
    /// when its shape, initialisation and decay agree: layers built twice under one prefix run the same weights and add
    /// their gradients into one buffer (ALBERT's shared blocks). Outside it a repeated name is an error.
    /// </summary>
    public IDisposable ReuseDeclared()
    {
        _reusing++;
        return new Scope(this);
    }

    private sealed class Scope(ParameterSet owner) : IDisposable
    {
        private bool _done;
        public void Dispose()
        {
            if (!_done) owner._reusing--;
            _done = true;
        }
    }

    /// <summary>Declares a tensor. Names must be unique (except inside <see cref="ReuseDeclared"/>).</summary>
    /// <param name="name">Parameter name.</param>
    /// <param name="shape">Tensor shape.</param>
    /// <param name="init">How the tensor is initialised.</param>
    /// <param name="decay">Whether weight decay applies (weights yes; biases, norms and embeddings of positions no).</param>
    public ParameterTensor Add(string name, int[] shape, Init init, bool decay)
    {
        if (_data is not null) throw new InvalidOperationException($"Cannot add parameter '{name}': the set is already allocated.");
        if (_byName.TryGetValue(name, out var declared))
        {
            if (_reusing > 0 && declared.Shape.SequenceEqual(shape) && declared.Initializer.Equals(init) && declared.Decay == decay) return declared;
            throw new ArgumentException($"Duplicate parameter name '{name}'.", nameof(name));
        }
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
    /// <param name="name">Parameter name.</param>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>Allocates the buffers and initialises every tensor from <paramref name="seed"/> (tensor i draws from its own stream).</summary>
    /// <param name="seed">Seed of the initial values.</param>
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

    /// <summary>Sets every gradient to zero (across cores: tens of millions of values for a pretrained encoder).</summary>
    public void ZeroGrad() => ParallelClear.Run(Grad);
}
