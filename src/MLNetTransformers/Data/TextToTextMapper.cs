namespace MLNetTransformers.Data;

/// <summary>Maps one text column to one generated text column (a generator, a translator), computing each row once.</summary>
internal sealed class TextToTextMapper(DataViewSchema input, string inputColumnName, string outputColumnName, Func<string, string> map)
    : TextColumnMapper(input, inputColumnName, new[] { new DataViewSchema.DetachedColumn(outputColumnName, TextDataViewType.Instance) })
{
    public override Delegate?[] CreateGetters(RowContext row, bool[] active)
    {
        var read = row.Input.GetGetter<ReadOnlyMemory<char>>(Text);
        long cached = -1;
        string output = "";
        ReadOnlyMemory<char> value = default;
        return new Delegate?[]
        {
            (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> v) =>
            {
                if (cached != row.Input.Position) { read(ref value); output = map(value.ToString()); cached = row.Input.Position; }
                v = output.AsMemory();
            }),
        };
    }
}
