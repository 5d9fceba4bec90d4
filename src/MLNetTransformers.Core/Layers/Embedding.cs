namespace MLNetTransformers.Core.Layers;

/// <summary>Token embedding table: gather rows forward, scatter-add gradients backward.</summary>
public sealed class Embedding
{
    private float[]? _y;
    private int[] _ids = Array.Empty<int>();

    /// <summary>Declares <c>{prefix}weight</c> [vocab, dim].</summary>
    /// <param name="parameters">The parameter set the weights are declared in (and allocated by its owner).</param>
    /// <param name="prefix">Prefix of the parameter names.</param>
    /// <param name="vocab">Vocabulary size (rows of the table).</param>
    /// <param name="dim">Width d of each token vector.</param>
    /// <param name="initStd">Standard deviation of the initial weights.</param>
    public Embedding(ParameterSet parameters, string prefix, int vocab, int dim, float initStd = 0.02f)
    {
        if (vocab <= 0 || dim <= 0) throw new ArgumentOutOfRangeException(nameof(vocab), $"Embedding '{prefix}' needs positive sizes, got vocab={vocab}, dim={dim}.");
        Vocab = vocab;
        Dim = dim;
        Weight = parameters.Add(prefix + "weight", new[] { vocab, dim }, Init.Normal(initStd), decay: false);
    }

    /// <summary>A lookup into an existing table [vocab, dim] (tied embeddings: its gradients add up with the table's other users').</summary>
    /// <param name="weight">The shared table.</param>
    public Embedding(ParameterTensor weight)
    {
        if (weight.Shape.Length != 2) throw new ArgumentException($"An embedding table is [vocab, dim]; '{weight.Name}' has shape [{string.Join(", ", weight.Shape)}].", nameof(weight));
        (Weight, Vocab, Dim) = (weight, weight.Shape[0], weight.Shape[1]);
    }

    /// <summary>Number of rows (token ids 0..Vocab−1).</summary>
    public int Vocab { get; }
    /// <summary>Row size.</summary>
    public int Dim { get; }
    /// <summary>[vocab, dim]</summary>
    public ParameterTensor Weight { get; }

    /// <summary>ids: [n] → y: [n, dim]. Throws naming the position of an id outside the vocabulary.</summary>
    /// <param name="ids">Token ids (n of them).</param>
    /// <param name="n">Ids to look up.</param>
    public float[] Forward(int[] ids, int n)
    {
        var y = Workspace.Ensure(ref _y, n * Dim);
        var w = Weight.Value;
        for (int i = 0; i < n; i++)
        {
            int id = ids[i];
            if ((uint)id >= (uint)Vocab)
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token id {id} at position {i} is outside the vocabulary [0, {Vocab}).");
            w.Slice(id * Dim, Dim).CopyTo(y.AsSpan(i * Dim, Dim));
        }
        _ids = ids;
        return y;
    }

    /// <summary>Adds dy's rows into the gradient rows of the ids of the last Forward.</summary>
    /// <param name="dy">Gradient of the loss with respect to the output.</param>
    /// <param name="n">Ids of the last Forward.</param>
    public void Backward(float[] dy, int n)
    {
        var g = Weight.Grad;
        for (int i = 0; i < n; i++)
        {
            var row = g.Slice(_ids[i] * Dim, Dim);
            TensorPrimitives.Add(row, dy.AsSpan(i * Dim, Dim), row);
        }
    }
}
