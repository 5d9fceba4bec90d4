namespace MLNetTransformers.Translation;

/// <summary>
/// Writes a translation column for a source text column, and with n-best also <c>{output}NBest</c> (text vector, best
/// first) and <c>{output}Scores</c> (float vector); each row is decoded once whichever columns are read.
/// </summary>
internal sealed class TranslationMapper(DataViewSchema input, string sourceColumnName, string outputColumnName, bool nBest,
    Func<string, IReadOnlyList<(string Text, double Score)>> translate)
    : TextColumnMapper(input, sourceColumnName, Columns(outputColumnName, nBest))
{
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
        var read = row.Input.GetGetter<ReadOnlyMemory<char>>(Text);
        long cached = -1;
        IReadOnlyList<(string Text, double Score)> outputs = Array.Empty<(string, double)>();
        ReadOnlyMemory<char> value = default;
        void Compute()
        {
            if (cached == row.Input.Position) return;
            read(ref value);
            outputs = translate(value.ToString());
            cached = row.Input.Position;
        }
        var getters = new List<Delegate?>
        {
            (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> v) => { Compute(); v = outputs[0].Text.AsMemory(); }),
        };
        if (nBest)
        {
            getters.Add((ValueGetter<VBuffer<ReadOnlyMemory<char>>>)((ref VBuffer<ReadOnlyMemory<char>> v) =>
            {
                Compute();
                v = new VBuffer<ReadOnlyMemory<char>>(outputs.Count, outputs.Select(o => o.Text.AsMemory()).ToArray());
            }));
            getters.Add((ValueGetter<VBuffer<float>>)((ref VBuffer<float> v) =>
            {
                Compute();
                v = new VBuffer<float>(outputs.Count, outputs.Select(o => (float)o.Score).ToArray());
            }));
        }
        return getters.ToArray();
    }
}
