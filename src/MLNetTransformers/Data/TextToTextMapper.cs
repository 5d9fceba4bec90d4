namespace MLNetTransformers.Data;

/// <summary>
/// Maps one text column to one generated text column (a generator, a translator), computing each row once and rows
/// in batches (<see cref="BatchedRows{TItem, TResult}"/>: a cursor walking its source in order hands the model many
/// prompts or sources at once, which it decodes together); with n-best it also writes <c>{output}NBest</c> (text vector,
/// best first) and <c>{output}Scores</c> (float vector).
/// </summary>
internal sealed class TextToTextMapper(DataViewSchema input, string inputColumnName, string outputColumnName, bool nBest,
    Func<IReadOnlyList<string?>, IReadOnlyList<(string Text, double Score)>[]> map)
    : TextColumnMapper(input, inputColumnName, Columns(outputColumnName, nBest))
{
    /// <summary>One output per row, no n-best columns.</summary>
    public TextToTextMapper(DataViewSchema input, string inputColumnName, string outputColumnName, Func<IReadOnlyList<string?>, string[]> map)
        : this(input, inputColumnName, outputColumnName, nBest: false,
            texts => map(texts).Select(text => (IReadOnlyList<(string, double)>)new[] { (text, 0.0) }).ToArray()) { }

    private static DataViewSchema.DetachedColumn[] Columns(string output, bool nBest) => nBest
        ? new[]
        {
            new DataViewSchema.DetachedColumn(output, TextDataViewType.Instance),
            new DataViewSchema.DetachedColumn(output + "NBest", new VectorDataViewType(TextDataViewType.Instance)),
            new DataViewSchema.DetachedColumn(output + "Scores", new VectorDataViewType(NumberDataViewType.Single)),
        }
        : new[] { new DataViewSchema.DetachedColumn(output, TextDataViewType.Instance) };

    public override Delegate?[] CreateGetters(RowContext row, bool[] active)
    {
        var rows = new BatchedRows<string?, IReadOnlyList<(string Text, double Score)>>(row, new[] { Text }, 1, BatchedRows<string?, float>.Text(Text),
            (texts, results) => map(texts).CopyTo(results, 0));
        IReadOnlyList<(string Text, double Score)> Outputs() => rows.Current()[0];
        var getters = new List<Delegate?>
        {
            (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> v) => v = Outputs()[0].Text.AsMemory()),
        };
        if (nBest)
        {
            getters.Add((ValueGetter<VBuffer<ReadOnlyMemory<char>>>)((ref VBuffer<ReadOnlyMemory<char>> v) =>
            {
                var outputs = Outputs();
                v = new VBuffer<ReadOnlyMemory<char>>(outputs.Count, outputs.Select(o => o.Text.AsMemory()).ToArray());
            }));
            getters.Add((ValueGetter<VBuffer<float>>)((ref VBuffer<float> v) =>
            {
                var outputs = Outputs();
                v = new VBuffer<float>(outputs.Count, outputs.Select(o => (float)o.Score).ToArray());
            }));
        }
        return getters.ToArray();
    }
}
