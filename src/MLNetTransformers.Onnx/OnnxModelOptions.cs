namespace MLNetTransformers.Onnx;

/// <summary>Options of <see cref="OnnxModelEstimator"/>: which model, how columns bind to its inputs and outputs.</summary>
public sealed class OnnxModelOptions
{
    /// <summary>Path of the .onnx file (or set <see cref="ModelBytes"/>).</summary>
    public string? ModelFile { get; set; }
    /// <summary>The model itself (takes precedence over <see cref="ModelFile"/>).</summary>
    public byte[]? ModelBytes { get; set; }
    /// <summary>
    /// ONNX input name → column. Default: <c>input_ids</c> ← <c>TokenIds</c>, <c>attention_mask</c> ← <c>AttentionMask</c>,
    /// <c>token_type_ids</c> ← <c>TokenTypeIds</c> (all zeros when the model wants it and no such column exists).
    /// </summary>
    public Dictionary<string, string> InputColumns { get; set; } = new()
    {
        ["input_ids"] = DefaultColumnNames.TokenIds, ["attention_mask"] = DefaultColumnNames.AttentionMask, ["token_type_ids"] = DefaultColumnNames.TokenTypeIds,
    };
    /// <summary>ONNX output name → column; null = every float output under its own name.</summary>
    public Dictionary<string, string>? OutputColumns { get; set; }
    /// <summary>Pool this [batch, sequence, hidden] output (e.g. <c>last_hidden_state</c>) into <see cref="EmbeddingColumnName"/>.</summary>
    public string? PoolOutput { get; set; }
    /// <summary>Mean over attended positions (mask from the <c>attention_mask</c> input) or the first token.</summary>
    public Pooling Pooling { get; set; } = Pooling.Mean;
    /// <summary>Column of the pooled embedding.</summary>
    public string EmbeddingColumnName { get; set; } = DefaultColumnNames.Embedding;
    /// <summary>CPU or CUDA, with or without fallback.</summary>
    public OnnxExecutionOptions Execution { get; set; } = new();
}
