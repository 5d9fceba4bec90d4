namespace MLNetTransformers.Data;

/// <summary>Reads a text column of a view into strings.</summary>
internal static class TextColumn
{
    public static IEnumerable<string?> Read(IDataView data, DataViewSchema.Column column)
    {
        using var cursor = data.GetRowCursor(new[] { column });
        var getter = cursor.GetGetter<ReadOnlyMemory<char>>(column);
        ReadOnlyMemory<char> value = default;
        while (cursor.MoveNext())
        {
            getter(ref value);
            yield return value.ToString();
        }
    }
}
