namespace MLNetTransformers.Data;

/// <summary>
/// Maps one text column to one generated text column (a generator, a translator), computing each row once; with
/// n-best it also writes <c>{output}NBest</c> (text vector, best first) and <c>{output}Scores</c> (float vector).
/// </summary>
internal sealed class TextToTextMapper(DataViewSchema input, string inputColumnName, string outputColumnName, bool nBest,
    Func<string, IReadOnlyList<(string Text, double Score)>> map)
    : TextColumnMapper(input, inputColumnName, Columns(outputColumnName, nBest))
{
    /// <summary>One output per row, no n-best columns.</summary>
    public TextToTextMapper(DataViewSchema input, string inputColumnName, string outputColumnName, Func<string, string> map)
        : this(input, inputColumnName, outputColumnName, nBest: false, text => new[] { (map(text), 0.0) }) { }

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
            outputs = map(value.ToString());
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
