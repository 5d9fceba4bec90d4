namespace MLNetTransformers.Core.Models;

/// <summary>
/// Encoder classifier: <see cref="TransformerEncoder"/> → pooling (CLS or mean) → linear head <c>head</c> over
/// <see cref="ClassifierConfig.NumClasses"/>, trained with cross-entropy. With
/// <see cref="ClassifierConfig.NGramBuckets"/> &gt; 0 a <see cref="BagOfNGrams"/> branch <c>ngram</c> trains beside it
/// on its own cross-entropy (the training objective is the sum of the two), and predictions mix the two branches'
/// logits, α·transformer + β·n-grams, with (α, β) (<c>ngram.mix</c>) chosen on validation data: a weight below 1 also
/// tempers a branch that has grown over-confident. With <see cref="ClassifierConfig.Members"/> &gt; 1 the transformer
/// part is an ensemble: each member (encoder and head) trains on its own cross-entropy and their logits are averaged.
/// With one output (<see cref="ClassifierConfig.NumClasses"/> = 1) it is a regressor, as Hugging Face's sequence
/// classifiers with <c>num_labels = 1</c>: the output is the prediction, trained by mean squared error on
/// <see cref="TokenBatch.Targets"/> (e.g. the similarity of a sentence pair).
/// </summary>
public sealed class TransformerClassifier : ITrainableModel
{
    private readonly CrossEntropy _loss = new();
    private bool[]? _padding;
    private float[]? _probs, _mixed, _mean;
    private readonly TransformerEncoder[] _encoders;
    private readonly ClassificationHead[] _heads;
    private readonly ParameterTensor? _mix; // (α, β): set by SetMixture, never by the optimizer (no gradient reaches it)

    /// <summary>Builds the model and initialises its weights from <paramref name="seed"/>.</summary>
    /// <param name="config">The model's shape.</param>
    /// <param name="seed">Seed of the initial weights and the dropout masks.</param>
    public TransformerClassifier(ClassifierConfig config, ulong seed = 0)
    {
        Config = config.Validate();
        Parameters = new ParameterSet();
        _encoders = new TransformerEncoder[config.Members];
        _heads = new ClassificationHead[config.Members];
        for (int m = 0; m < config.Members; m++)
        {
            string prefix = MemberPrefix(m);
            _encoders[m] = new TransformerEncoder(Parameters, prefix, config, seed + 7919 * (ulong)m); // own dropout streams
            _heads[m] = new ClassificationHead(Parameters, prefix + "head.", config.ModelDim, config.NumClasses, config.Pooling, _encoders[m].Pooler,
                config.PoolerDropout, config.ClassifierDropout, seed + 7919 * (ulong)m);
        }
        if (config.NGramBuckets > 0)
        {
            NGrams = new BagOfNGrams(Parameters, "ngram.", config.VocabSize, config.NGramBuckets, config.NumClasses, scale: 30f);
            _mix = Parameters.Add("ngram.mix", [2], new Init(InitKind.Constant, 0.5f), decay: false);
        }
        Parameters.Allocate(seed);
    }

    /// <summary>A new instance with the same config and a copy of the weights (layers keep per-call buffers, so concurrent callers each need one).</summary>
    public TransformerClassifier Copy() => new TransformerClassifier(Config) { LabelSmoothing = LabelSmoothing }.WithWeightsOf(this);

    /// <summary>The encoder's shape and the classifier's own settings.</summary>
    public ClassifierConfig Config { get; }
    TransformerConfig ITransformerModel.Config => Config;
    /// <inheritdoc/>
    public ParameterSet Parameters { get; }
    /// <inheritdoc/>
    public ModelKind Kind => ModelKind.Classifier;
    /// <summary>The encoder stack (of member 0 in an ensemble).</summary>
    public TransformerEncoder Encoder => _encoders[0];

    /// <summary>Every member's encoder (one unless <see cref="ClassifierConfig.Members"/> &gt; 1).</summary>
    public IReadOnlyList<TransformerEncoder> Members => _encoders;
    /// <summary>Pooling and output layer (of member 0 in an ensemble).</summary>
    public ClassificationHead Head => _heads[0];
    /// <summary>Prefix of member <paramref name="member"/>'s parameter names ("" for member 0).</summary>
    /// <param name="member">0-based member index.</param>
    public static string MemberPrefix(int member) => member == 0 ? "" : $"members.{member}.";
    /// <summary>The bag-of-n-grams branch, when <see cref="ClassifierConfig.NGramBuckets"/> &gt; 0.</summary>
    public BagOfNGrams? NGrams { get; }
    /// <summary>Label smoothing ε of the training loss.</summary>
    public float LabelSmoothing { get; set; }
    /// <summary>Weights (α, β) of the transformer's and the n-gram branch's logits in the prediction ((1, 0) without an n-gram branch).</summary>
    public (float Transformer, float NGrams) Mixture => _mix is null ? (1f, 0f) : (_mix.Value[0], _mix.Value[1]);

    /// <summary>Sets <see cref="Mixture"/> (e.g. to the weights that score best on validation data).</summary>
    /// <param name="transformer">Weight α of the transformer's logits, non-negative.</param>
    /// <param name="ngrams">Weight β of the n-gram branch's logits, non-negative.</param>
    public void SetMixture(float transformer, float ngrams)
    {
        if (_mix is null) throw new InvalidOperationException("This classifier has no n-gram branch to mix with (NGramBuckets is 0).");
        if (!(transformer >= 0f && float.IsFinite(transformer))) throw new ArgumentOutOfRangeException(nameof(transformer), transformer, "Mixture weights must be finite and non-negative.");
        if (!(ngrams >= 0f && float.IsFinite(ngrams))) throw new ArgumentOutOfRangeException(nameof(ngrams), ngrams, "Mixture weights must be finite and non-negative.");
        (_mix.Value[0], _mix.Value[1]) = (transformer, ngrams);
    }

    /// <summary>Logits [B, classes] (a buffer reused by the next call): the mixture when there is an n-gram branch.</summary>
    /// <param name="batch">Token ids and attention mask, [B, T].</param>
    /// <param name="training">Whether dropout is active.</param>
    public float[] Forward(TokenBatch batch, bool training = false)
    {
        var (transformer, ngrams) = BranchLogits(batch, training);
        if (ngrams is null) return transformer;
        int n = batch.BatchSize * Config.NumClasses;
        var mixed = Workspace.Ensure(ref _mixed, n);
        var (a, b) = Mixture;
        TensorPrimitives.Multiply(transformer.AsSpan(0, n), a, mixed.AsSpan(0, n));
        TensorPrimitives.MultiplyAdd(ngrams.AsSpan(0, n), b, mixed.AsSpan(0, n), mixed.AsSpan(0, n));
        return mixed;
    }

    /// <summary>Logits [B, classes] of the transformer and (when present) of the n-gram branch, unmixed (buffers reused by the next call).</summary>
    /// <param name="batch">Token ids and attention mask.</param>
    /// <param name="training">Whether dropout is active.</param>
    public (float[] Transformer, float[]? NGrams) BranchLogits(TokenBatch batch, bool training = false)
    {
        var padding = batch.PaddingFlags(ref _padding);
        int b = batch.BatchSize, n = b * Config.NumClasses;
        float[] logits = MemberLogits(0, batch, padding, training);
        if (_encoders.Length > 1)
        {
            var mean = Workspace.Ensure(ref _mean, n);
            logits.AsSpan(0, n).CopyTo(mean);
            for (int m = 1; m < _encoders.Length; m++) TensorPrimitives.Add(mean.AsSpan(0, n), MemberLogits(m, batch, padding, training).AsSpan(0, n), mean.AsSpan(0, n));
            TensorPrimitives.Multiply(mean.AsSpan(0, n), 1f / _encoders.Length, mean.AsSpan(0, n));
            logits = mean;
        }
        return (logits, NGrams?.Forward(batch.Ids, b, batch.SeqLen, padding));
    }

    private float[] MemberLogits(int m, TokenBatch batch, bool[]? padding, bool training) =>
        _heads[m].Forward(_encoders[m].Forward(batch.Ids, batch.TokenTypeIds, batch.BatchSize, batch.SeqLen, padding, training), batch.BatchSize, batch.SeqLen, padding, training);

    /// <summary>Sentence embeddings [B, d]: the pooled encoder output the head sees (member 0's in an ensemble).</summary>
    /// <param name="batch">Token ids and attention mask, [B, T].</param>
    public float[] Embed(TokenBatch batch) => Encoder.Embed(batch);

    /// <summary>Class probabilities [B, classes] (softmax of the logits); a regressor's predictions [B, 1] as they are.</summary>
    /// <param name="batch">Token ids and attention mask, [B, T].</param>
    public float[] PredictProbabilities(TokenBatch batch)
    {
        var logits = Forward(batch);
        int b = batch.BatchSize, c = Config.NumClasses;
        if (IsRegressor) return logits;
        var p = Workspace.Ensure(ref _probs, b * c);
        Softmax.Forward(logits.AsSpan(0, b * c), p.AsSpan(0, b * c), b, c);
        return p;
    }

    /// <summary>Whether this is a regressor (one output, trained by mean squared error).</summary>
    public bool IsRegressor => Config.NumClasses == 1;

    /// <inheritdoc/>
    public float ForwardBackward(TokenBatch batch) => Objective(batch, backward: true);

    /// <inheritdoc/>
    /// <remarks>The objective <see cref="ForwardBackward"/> differentiates: the sum of each member's cross-entropy and, when present, the n-gram branch's.</remarks>
    public float Loss(TokenBatch batch) => Objective(batch, backward: false);

    // Each member's cross-entropy (an ensemble learns member by member, not as one wide model) plus the n-gram
    // branch's; with backward, in training mode and with the gradients.
    private float Objective(TokenBatch batch, bool backward)
    {
        var labels = IsRegressor ? null : RequireLabels(batch);
        var targets = IsRegressor ? batch.Targets ?? throw new ArgumentException("The batch has no targets; training a regressor needs one real-valued target per sequence.", nameof(batch)) : null;
        if (targets is not null && targets.Length < batch.BatchSize) throw new ArgumentException($"The batch has {targets.Length} targets for {batch.BatchSize} sequences.", nameof(batch));
        var padding = batch.PaddingFlags(ref _padding);
        int b = batch.BatchSize, c = Config.NumClasses;
        float loss = 0;
        for (int m = 0; m < _encoders.Length; m++)
        {
            var logits = MemberLogits(m, batch, padding, training: backward);
            loss += targets is not null
                ? SquaredError(logits, targets, b, backward)
                : _loss.Compute(logits, labels!, b, c, dlogits: backward ? logits : null, labelSmoothing: LabelSmoothing);
            if (backward) _encoders[m].Backward(_heads[m].Backward(logits), b, batch.SeqLen);
        }
        if (NGrams is { } bag)
        {
            var ngrams = bag.Forward(batch.Ids, b, batch.SeqLen, padding);
            loss += _loss.Compute(ngrams, labels!, b, c, dlogits: backward ? ngrams : null, labelSmoothing: LabelSmoothing);
            if (backward) bag.Backward(ngrams);
        }
        return loss;
    }

    // Mean squared error of predictions y [B] against targets t [B]; with backward, y is overwritten by ∂loss/∂y = 2(y − t)/B.
    private static float SquaredError(float[] y, float[] t, int b, bool backward)
    {
        double sum = 0;
        for (int i = 0; i < b; i++)
        {
            float e = y[i] - t[i];
            sum += (double)e * e;
            if (backward) y[i] = 2f * e / b;
        }
        return (float)(sum / b);
    }

    private static int[] RequireLabels(TokenBatch batch)
    {
        var labels = batch.Labels ?? throw new ArgumentException("The batch has no labels; training a classifier needs one label per sequence.", nameof(batch));
        if (labels.Length < batch.BatchSize) throw new ArgumentException($"The batch has {labels.Length} labels for {batch.BatchSize} sequences.", nameof(batch));
        return labels;
    }
}
