using MLNetTransformers.Core.Kernels;
using MLNetTransformers.Core.Layers;

namespace MLNetTransformers.Core.Models;

/// <summary>
/// Encoder classifier: <see cref="TransformerEncoder"/> → pooling (CLS or mean) → linear head <c>head</c> over
/// <see cref="TransformerConfig.NumClasses"/>, trained with cross-entropy.
/// </summary>
public sealed class TransformerClassifier : ITrainableModel
{
    private readonly CrossEntropy _loss = new();
    private bool[]? _padding;
    private float[]? _probs;

    /// <summary>Builds the model and initialises its weights from <paramref name="seed"/>.</summary>
    public TransformerClassifier(TransformerConfig config, ulong seed = 0)
    {
        Config = config.Validate();
        Parameters = new ParameterSet();
        Encoder = new TransformerEncoder(Parameters, "", config, seed);
        Head = new ClassificationHead(Parameters, "head.", config.ModelDim, config.NumClasses, config.Pooling);
        Parameters.Allocate(seed);
    }

    /// <summary>A new instance with the same config and a copy of the weights (layers keep per-call buffers, so concurrent callers each need one).</summary>
    public TransformerClassifier Copy()
    {
        var copy = new TransformerClassifier(Config) { LabelSmoothing = LabelSmoothing };
        Parameters.Data.CopyTo(copy.Parameters.Data, 0);
        return copy;
    }

    /// <inheritdoc/>
    public TransformerConfig Config { get; }
    /// <inheritdoc/>
    public ParameterSet Parameters { get; }
    /// <inheritdoc/>
    public ModelKind Kind => ModelKind.Classifier;
    /// <summary>The encoder stack.</summary>
    public TransformerEncoder Encoder { get; }
    /// <summary>Pooling and output layer.</summary>
    public ClassificationHead Head { get; }
    /// <summary>Label smoothing ε of the training loss.</summary>
    public float LabelSmoothing { get; set; }

    /// <summary>Logits [B, classes] (a buffer reused by the next call).</summary>
    public float[] Forward(TokenBatch batch, bool training = false)
    {
        var padding = batch.PaddingFlags(ref _padding);
        var hidden = Encoder.Forward(batch.Ids, batch.BatchSize, batch.SeqLen, padding, training);
        return Head.Forward(hidden, batch.BatchSize, batch.SeqLen, padding);
    }

    /// <summary>Sentence embeddings [B, d]: the pooled encoder output the head sees.</summary>
    public float[] Embed(TokenBatch batch)
    {
        var padding = batch.PaddingFlags(ref _padding);
        var hidden = Encoder.Forward(batch.Ids, batch.BatchSize, batch.SeqLen, padding, training: false);
        return Head.Pool(hidden, batch.BatchSize, batch.SeqLen, padding);
    }

    /// <summary>Class probabilities [B, classes] (softmax of the logits).</summary>
    public float[] PredictProbabilities(TokenBatch batch)
    {
        var logits = Forward(batch);
        int b = batch.BatchSize, c = Config.NumClasses;
        var p = Workspace.Ensure(ref _probs, b * c);
        Softmax.Forward(logits.AsSpan(0, b * c), p.AsSpan(0, b * c), b, c);
        return p;
    }

    /// <inheritdoc/>
    public float ForwardBackward(TokenBatch batch)
    {
        var labels = RequireLabels(batch);
        var logits = Forward(batch, training: true);
        float loss = _loss.Compute(logits, labels, batch.BatchSize, Config.NumClasses, dlogits: logits, labelSmoothing: LabelSmoothing);
        Encoder.Backward(Head.Backward(logits), batch.BatchSize, batch.SeqLen);
        return loss;
    }

    /// <inheritdoc/>
    public float Loss(TokenBatch batch) => _loss.Compute(Forward(batch), RequireLabels(batch), batch.BatchSize, Config.NumClasses);

    private static int[] RequireLabels(TokenBatch batch)
    {
        var labels = batch.Labels ?? throw new ArgumentException("The batch has no labels; training a classifier needs one label per sequence.", nameof(batch));
        if (labels.Length < batch.BatchSize) throw new ArgumentException($"The batch has {labels.Length} labels for {batch.BatchSize} sequences.", nameof(batch));
        return labels;
    }
}
