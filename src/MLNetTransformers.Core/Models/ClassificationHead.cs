namespace MLNetTransformers.Core.Models;

/// <summary>
/// Pools token states into one vector per sequence (<see cref="SequencePooling"/>) and maps it to class logits; in
/// training, dropout where Hugging Face's sequence classifiers put it: on the pooled vector before the pooler's dense
/// layer (RoBERTa's head) and before the output layer; a head without a pooler (on mean-pooled sentence vectors) has none.
/// </summary>
public sealed class ClassificationHead
{
    private readonly Linear _proj;
    private readonly SequencePooling _pool;
    private readonly Pooler? _pooler;
    private readonly Dropout _poolerDropout, _dropout;

    /// <summary>Declares <c>{prefix}weight</c> [classes, d] and <c>{prefix}bias</c>.</summary>
    /// <param name="parameters">The parameter set the weights are declared in (and allocated by its owner).</param>
    /// <param name="prefix">Prefix of the parameter names.</param>
    /// <param name="dim">Width d of the pooled vectors.</param>
    /// <param name="classes">Number of classes.</param>
    /// <param name="pooling">CLS (first token) or mean pooling.</param>
    /// <param name="pooler">The encoder's pooler (BERT's tanh dense), applied between pooling and the projection; null = none.</param>
    /// <param name="poolerDropout">Dropout in training on the pooled vector before the pooler (<see cref="TransformerConfig.PoolerDropout"/>).</param>
    /// <param name="dropout">Dropout in training before the output layer, after the pooler (<see cref="TransformerConfig.ClassifierDropout"/>); none without a pooler.</param>
    /// <param name="seed">Seed of the dropout masks.</param>
    public ClassificationHead(ParameterSet parameters, string prefix, int dim, int classes, Pooling pooling, Pooler? pooler = null,
        float poolerDropout = 0f, float dropout = 0f, ulong seed = 0)
    {
        _proj = new Linear(parameters, prefix, dim, classes);
        _pool = new SequencePooling(dim, pooling);
        _pooler = pooler;
        // Every Hugging Face sequence-classification head has a dense layer (the pooler here) before its output layer; a
        // head on pooled vectors alone (sentence-transformers' mean pooling) follows none, and drops nothing.
        _poolerDropout = new Dropout(pooler is null ? 0f : poolerDropout, seed + 130_363);
        _dropout = new Dropout(pooler is null ? 0f : dropout, seed + 130_367);
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
    /// <param name="training">Whether dropout is active.</param>
    public float[] Forward(float[] hidden, int batch, int seqLen, bool[]? padding, bool training = false)
    {
        var pooled = Pool(hidden, batch, seqLen, padding);
        if (_pooler is not null) pooled = _pooler.Forward(_poolerDropout.Forward(pooled, batch * _pooler.Dense.In, training), batch);
        return _proj.Forward(_dropout.Forward(pooled, batch * _proj.In, training), batch);
    }

    /// <summary>dlogits [B, classes] → dhidden [B, T, d].</summary>
    /// <param name="dlogits">Gradient of the loss with respect to the logits, [B, classes].</param>
    public float[] Backward(float[] dlogits)
    {
        int b = _pool.Batch;
        var dpooled = _dropout.Backward(_proj.Backward(dlogits, b), b * _proj.In);
        if (_pooler is not null) dpooled = _poolerDropout.Backward(_pooler.Backward(dpooled), b * _pooler.Dense.In);
        return _pool.Backward(dpooled);
    }
}
