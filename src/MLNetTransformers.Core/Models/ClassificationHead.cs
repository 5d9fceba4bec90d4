namespace MLNetTransformers.Core.Models;

/// <summary>Pools token states into one vector per sequence (<see cref="SequencePooling"/>) and maps it to class logits.</summary>
public sealed class ClassificationHead
{
    private readonly Linear _proj;
    private readonly SequencePooling _pool;
    private readonly Pooler? _pooler;

    /// <summary>Declares <c>{prefix}weight</c> [classes, d] and <c>{prefix}bias</c>.</summary>
    /// <param name="parameters">The parameter set the weights are declared in (and allocated by its owner).</param>
    /// <param name="prefix">Prefix of the parameter names.</param>
    /// <param name="dim">Width d of the pooled vectors.</param>
    /// <param name="classes">Number of classes.</param>
    /// <param name="pooling">CLS (first token) or mean pooling.</param>
    /// <param name="pooler">The encoder's pooler (BERT's tanh dense), applied between pooling and the projection; null = none.</param>
    public ClassificationHead(ParameterSet parameters, string prefix, int dim, int classes, Pooling pooling, Pooler? pooler = null)
    {
        _proj = new Linear(parameters, prefix, dim, classes);
        _pool = new SequencePooling(dim, pooling);
        _pooler = pooler;
    }

    /// <summary>Pooling mode.</summary>
    public Pooling Pooling => _pool.Pooling;
    /// <summary>The output layer.</summary>
    public Linear Projection => _proj;

    /// <summary>Pooled sentence vectors of the last Forward, [B, d].</summary>
    public ReadOnlySpan<float> Pooled => _pool.Pooled;

    /// <summary>hidden [B, T, d] → pooled [B, d] (no projection): the sentence embedding.</summary>
    /// <param name="hidden">Token states [B, T, d].</param>
    /// <param name="batch">Sequences in the batch (B).</param>
    /// <param name="seqLen">Tokens per sequence (T).</param>
    /// <param name="padding">[B, T] flags, true where a position is padding; null = none.</param>
    public float[] Pool(float[] hidden, int batch, int seqLen, bool[]? padding) => _pool.Forward(hidden, batch, seqLen, padding);

    /// <summary>hidden [B, T, d] → logits [B, classes].</summary>
    /// <param name="hidden">Token states [B, T, d].</param>
    /// <param name="batch">Sequences in the batch (B).</param>
    /// <param name="seqLen">Tokens per sequence (T).</param>
    /// <param name="padding">[B, T] flags, true where a position is padding; null = none.</param>
    public float[] Forward(float[] hidden, int batch, int seqLen, bool[]? padding)
    {
        var pooled = Pool(hidden, batch, seqLen, padding);
        return _proj.Forward(_pooler is null ? pooled : _pooler.Forward(pooled, batch), batch);
    }

    /// <summary>dlogits [B, classes] → dhidden [B, T, d].</summary>
    /// <param name="dlogits">Gradient of the loss with respect to the logits, [B, classes].</param>
    public float[] Backward(float[] dlogits)
    {
        var dpooled = _proj.Backward(dlogits, _pool.Batch);
        return _pool.Backward(_pooler is null ? dpooled : _pooler.Backward(dpooled));
    }
}
