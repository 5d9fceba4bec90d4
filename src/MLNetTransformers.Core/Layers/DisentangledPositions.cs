namespace MLNetTransformers.Core.Layers;

/// <summary>
/// DeBERTa's relative positions, shared by every layer of an encoder: a table <c>{prefix}weight</c> of 2·span
/// relative-position embeddings [2·span, d] and, unless DeBERTa v1's, its LayerNorm <c>{prefix}norm.*</c> (DeBERTa-v2's
/// <c>encoder.rel_embeddings</c> and <c>encoder.LayerNorm</c>). The key at distance i − j from its query reads row
/// clamp(bucket(i − j) + span, 0, 2·span − 1), bucket being DeBERTa's log buckets (exact within ±span/2, logarithmic out to
/// <c>max_relative_positions</c>). Each layer projects the normalized rows with its own query and key weights
/// (<see cref="DisentangledAttentionTerms"/>). Only the rows a batch's lengths reach are normalized; their gradient is
/// gathered from every layer and taken through the LayerNorm into the table once per backward.
/// </summary>
public sealed class DisentangledPositions
{
    private readonly ParameterTensor _table;
    private readonly LayerNorm? _norm;
    private float[]? _raw, _rows, _rowsGrad;
    private bool _prepared;

    /// <summary>Declares the table [2·<paramref name="span"/>, <paramref name="dim"/>] and its LayerNorm.</summary>
    /// <param name="parameters">The parameter set the weights are declared in (and allocated by its owner).</param>
    /// <param name="prefix">Prefix of the parameter names.</param>
    /// <param name="span">Half the table's rows: DeBERTa's <c>position_buckets</c> (or <c>max_relative_positions</c> without buckets).</param>
    /// <param name="maxPosition">DeBERTa's <c>max_relative_positions</c>: the distance the log buckets reach; 0 = no log buckets
    /// (DeBERTa-v2 without position_buckets: distances clamped at the span).</param>
    /// <param name="dim">Width d of the rows.</param>
    /// <param name="eps">The LayerNorm's epsilon.</param>
    /// <param name="dropout">Dropout each layer applies to the normalized rows in training (DeBERTa's <c>pos_dropout</c>, its hidden dropout).</param>
    /// <param name="normalized">Whether the rows are LayerNorm-ed (DeBERTa-v2's); false = the table's rows as they are (DeBERTa v1's).</param>
    public DisentangledPositions(ParameterSet parameters, string prefix, int span, int maxPosition, int dim, float eps, float dropout = 0f, bool normalized = true)
    {
        if (!(dropout >= 0f && dropout < 1f)) throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "Dropout must be in [0, 1).");
        Dropout = dropout;
        if (span < 2) throw new ArgumentOutOfRangeException(nameof(span), span, "The relative-position span must be at least 2.");
        (Span, MaxPosition, Dim) = (span, maxPosition, dim);
        _table = parameters.Add(prefix + "weight", [2 * span, dim], Init.Normal(0.02f), decay: false);
        if (normalized) _norm = new LayerNorm(parameters, prefix + "norm.", dim, eps);
    }

    /// <summary>Half the table's rows.</summary>
    public int Span { get; }
    /// <summary>The distance the log buckets reach; 0 = no log buckets.</summary>
    public int MaxPosition { get; }
    /// <summary>Width of the rows.</summary>
    public int Dim { get; }
    /// <summary>Dropout each layer applies to the normalized rows in training (its own masks).</summary>
    public float Dropout { get; }

    /// <summary>
    /// DeBERTa-v2's <c>make_log_bucket_position</c> of one relative position i − j: itself within ±span/2, else
    /// sign · (ceil(log(|r| / mid) / log((max − 1) / mid) · (mid − 1)) + mid), mid = span/2; computed in float32 as PyTorch does.
    /// </summary>
    /// <param name="relative">i − j.</param>
    public int Bucket(int relative) => Bucket(relative, Span, MaxPosition);

    /// <summary>The table row a key at distance i − j from its query reads: clamp(bucket + span, 0, 2·span − 1).</summary>
    /// <param name="relative">i − j.</param>
    public int Row(int relative) => Row(relative, Span, MaxPosition);

    /// <summary><see cref="Bucket(int)"/> for a table of 2·<paramref name="span"/> rows and log buckets out to <paramref name="maxPosition"/> (0 = none).</summary>
    internal static int Bucket(int relative, int span, int maxPosition)
    {
        int mid = span / 2, abs = Math.Abs(relative);
        if (maxPosition <= 0 || abs <= mid) return relative;
        float logPos = MathF.Ceiling(MathF.Log(abs / (float)mid) / MathF.Log((maxPosition - 1) / (float)mid) * (mid - 1)) + mid;
        return Math.Sign(relative) * (int)logPos;
    }

    /// <summary><see cref="Row(int)"/> for a table of 2·<paramref name="span"/> rows (what the ONNX export computes once per distance).</summary>
    internal static int Row(int relative, int span, int maxPosition) => Math.Clamp(Bucket(relative, span, maxPosition) + span, 0, 2 * span - 1);

    /// <summary>First table row the last <see cref="Prepare"/> normalized.</summary>
    public int FirstRow { get; private set; }
    /// <summary>Rows the last <see cref="Prepare"/> normalized (those of distances −(T − 1)..T − 1).</summary>
    public int RowCount { get; private set; }
    /// <summary>The normalized rows [RowCount, d], rows FirstRow.. of LayerNorm(table).</summary>
    public ReadOnlySpan<float> Rows => _rows.AsSpan(0, RowCount * Dim);
    internal float[] RowsArray => _rows!;
    /// <summary>Gradient of the normalized rows, gathered from the layers during a backward.</summary>
    internal float[] RowsGrad => _rowsGrad!;

    /// <summary>Normalizes the rows sequences of up to <paramref name="maxLength"/> tokens read, and clears their gradient.</summary>
    /// <param name="maxLength">The longest sequence of the batch.</param>
    public void Prepare(int maxLength)
    {
        int first = Row(-(maxLength - 1)), last = Row(maxLength - 1); // Row is monotone in the distance
        (FirstRow, RowCount) = (first, last - first + 1);
        var raw = Workspace.Ensure(ref _raw, RowCount * Dim); // kept by the LayerNorm for its backward
        _table.Value.Slice(first * Dim, RowCount * Dim).CopyTo(raw);
        (_norm is null ? raw : _norm.Forward(raw, RowCount)).AsSpan(0, RowCount * Dim).CopyTo(Workspace.Ensure(ref _rows, RowCount * Dim));
        Workspace.Ensure(ref _rowsGrad, RowCount * Dim).AsSpan(0, RowCount * Dim).Clear();
        _prepared = true;
    }

    /// <summary>Takes the gathered <see cref="RowsGrad"/> (through the LayerNorm, when there is one) into the table's and the norm's gradients.</summary>
    public void Backward()
    {
        if (!_prepared) throw new InvalidOperationException("Backward before Prepare.");
        var dx = _norm is null ? _rowsGrad! : _norm.Backward(_rowsGrad!, RowCount);
        var grad = _table.Grad.Slice(FirstRow * Dim, RowCount * Dim);
        TensorPrimitives.Add(grad, dx.AsSpan(0, RowCount * Dim), grad);
    }
}
