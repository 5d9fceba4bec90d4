namespace MLNetTransformers.Training;

/// <summary>
/// The base of every trainer of the library (classifier, language model, masked-LM pretraining, and the ones to
/// come): options validated once when the trainer is created, ML.NET's log, and the text column checked the same
/// way at schema time. A trainer adds its Fit, which feeds <see cref="Core.Training.TrainingLoop"/> its batches, its
/// model's loss and its evaluation.
/// </summary>
/// <typeparam name="TOptions">The trainer's options.</typeparam>
/// <typeparam name="TTransformer">What Fit returns.</typeparam>
public abstract class TransformerTrainer<TOptions, TTransformer> : IEstimator<TTransformer>
    where TOptions : TransformerTrainingOptions
    where TTransformer : class, ITransformer
{
    private protected TransformerTrainer(TOptions options, IChannelProvider? log)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        (Options, Log) = (options, log);
    }

    /// <summary>The options, validated.</summary>
    private protected TOptions Options { get; }
    /// <summary>ML.NET's log (MLContext.Log), when the catalog exposed it.</summary>
    private protected IChannelProvider? Log { get; }

    /// <summary>Trains on <paramref name="input"/> and returns the fitted transformer.</summary>
    /// <param name="input">Training data with the options' text column (and the task's other columns).</param>
    public abstract TTransformer Fit(IDataView input);

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaShapeColumns.RequireText(inputSchema, Options.TextColumnName);
        return OutputSchema(inputSchema);
    }

    /// <summary>The task's output columns added to <paramref name="inputSchema"/> (its text column already checked).</summary>
    /// <param name="inputSchema">The input's schema shape.</param>
    private protected abstract SchemaShape OutputSchema(SchemaShape inputSchema);
}
