namespace MLNetTransformers.Data;

/// <summary>Where a mapper's getters read from: the input row, and for a sequential cursor the whole source view.</summary>
/// <param name="Input">The current input row.</param>
/// <param name="Source">The view the input cursor walks (null for a single row from a PredictionEngine).</param>
/// <param name="Sequential">True when the input cursor visits the source in its natural order, so a second cursor over
/// <paramref name="Source"/> sees the same rows in the same order (used to score ahead in batches).</param>
internal readonly record struct RowContext(DataViewRow Input, IDataView? Source, bool Sequential);
