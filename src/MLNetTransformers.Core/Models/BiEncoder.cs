namespace MLNetTransformers.Core.Models;

/// <summary>
/// Sentence-BERT's bi-encoder (Reimers &amp; Gurevych 2019): both sentences of a pair go through the same encoder on
/// their own, are pooled (the encoder's <see cref="TransformerConfig.Pooling"/>), and their cosine similarity is the
/// score, trained by mean squared error against a target in [−1, 1] (sentence-transformers' <c>CosineSimilarityLoss</c>).
/// Unlike a cross-encoder the sentences never attend to each other, so each sentence's vector can be computed once and
/// compared with many: the trained encoder is an ordinary embedding model. A batch of B pairs is one
/// <see cref="TokenBatch"/> of 2B sequences, the first sentences in rows [0, B) and the second ones in [B, 2B), with
/// <see cref="TokenBatch.Targets"/> [B].
/// </summary>
public sealed class BiEncoder : ITrainableModel
{
    private readonly SequencePooling _pool;
    private bool[]? _padding;
    private float[]? _cos, _norms, _dpooled, _vectors;

    /// <summary>Trains <paramref name="encoder"/> (a standalone one: its weights are this model's parameters).</summary>
    /// <param name="encoder">The shared encoder of both sentences.</param>
    public BiEncoder(TransformerEncoder encoder)
    {
        if (encoder.Prefix.Length > 0) throw new ArgumentException("The bi-encoder trains a standalone encoder: pass encoder.Copy() of one that is part of another model.", nameof(encoder));
        Encoder = encoder;
        _pool = new SequencePooling(encoder.Config.ModelDim, encoder.Config.Pooling);
    }

    /// <summary>The shared encoder.</summary>
    public TransformerEncoder Encoder { get; }
    /// <inheritdoc/>
    public TransformerConfig Config => Encoder.Config;
    /// <inheritdoc/>
    public ParameterSet Parameters => Encoder.Parameters;
    /// <inheritdoc/>
    public ModelKind Kind => ModelKind.Encoder;

    /// <summary>Cosine similarities [B] of the B pairs of a [2B, T] batch (inference mode; a buffer reused by the next call).</summary>
    /// <param name="pairs">First sentences in rows [0, B), second sentences in rows [B, 2B).</param>
    public float[] Similarities(TokenBatch pairs) => Cosines(pairs, training: false);

    /// <inheritdoc/>
    public float ForwardBackward(TokenBatch batch) => Objective(batch, backward: true);

    /// <inheritdoc/>
    public float Loss(TokenBatch batch) => Objective(batch, backward: false);

    private float[] Cosines(TokenBatch pairs, bool training)
    {
        if (pairs.BatchSize % 2 != 0) throw new ArgumentException($"A bi-encoder batch holds both sentences of each pair: {pairs.BatchSize} rows is odd.", nameof(pairs));
        int rows = pairs.BatchSize, b = rows / 2, t = pairs.SeqLen, d = Config.SentenceDim;
        var padding = pairs.PaddingFlags(ref _padding);
        var pooled = _pool.Forward(Encoder.Forward(pairs.Ids, pairs.TokenTypeIds, rows, t, padding, training), rows, t, padding); // [2B, d_model]
        if (Encoder.SentenceDense is { } dense) pooled = dense.Forward(pooled, rows); // [2B, d]: sentence-transformers' Dense module
        _vectors = pooled;
        var norms = Workspace.Ensure(ref _norms, rows);
        for (int r = 0; r < rows; r++) norms[r] = MathF.Max(TensorPrimitives.Norm(pooled.AsSpan(r * d, d)), 1e-12f);
        var cos = Workspace.Ensure(ref _cos, b);
        for (int i = 0; i < b; i++)
            cos[i] = TensorPrimitives.Dot(pooled.AsSpan(i * d, d), pooled.AsSpan((b + i) * d, d)) / (norms[i] * norms[b + i]);
        return cos;
    }

    // Mean over pairs of (cos − target)²; backward: ∂cos/∂u = v/(|u||v|) − cos·u/|u|², and the same with u and v swapped.
    private float Objective(TokenBatch batch, bool backward)
    {
        var targets = batch.Targets ?? throw new ArgumentException("The batch has no targets; a bi-encoder trains on one similarity per pair.", nameof(batch));
        var cos = Cosines(batch, training: backward);
        int rows = batch.BatchSize, b = rows / 2, d = Config.SentenceDim;
        if (targets.Length < b) throw new ArgumentException($"The batch has {targets.Length} targets for {b} pairs.", nameof(batch));
        double loss = 0;
        for (int i = 0; i < b; i++) loss += (double)(cos[i] - targets[i]) * (cos[i] - targets[i]);
        if (!backward) return (float)(loss / b);

        var pooled = _vectors.AsSpan();
        var norms = _norms!;
        var dp = Workspace.Ensure(ref _dpooled, rows * d);
        for (int i = 0; i < b; i++)
        {
            float g = 2f * (cos[i] - targets[i]) / b;
            var u = pooled.Slice(i * d, d);
            var v = pooled.Slice((b + i) * d, d);
            float nu = norms[i], nv = norms[b + i];
            var du = dp.AsSpan(i * d, d);
            var dv = dp.AsSpan((b + i) * d, d);
            for (int j = 0; j < d; j++)
            {
                du[j] = g * (v[j] / (nu * nv) - cos[i] * u[j] / (nu * nu));
                dv[j] = g * (u[j] / (nu * nv) - cos[i] * v[j] / (nv * nv));
            }
        }
        Encoder.Backward(_pool.Backward(Encoder.SentenceDense?.Backward(dp) ?? dp), rows, batch.SeqLen);
        return (float)(loss / b);
    }
}
