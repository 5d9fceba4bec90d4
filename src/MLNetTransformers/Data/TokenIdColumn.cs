namespace MLNetTransformers.Data;

/// <summary>Reads a vector column of Int64 or Int32 token ids as long[].</summary>
internal static class TokenIdColumn
{
    /// <summary>A reader for the batched look-ahead.</summary>
    public static Func<DataViewRow, Func<long[]>> Reader(DataViewSchema.Column column) => r =>
    {
        var col = r.Schema[column.Index];
        if (((VectorDataViewType)col.Type).ItemType == NumberDataViewType.Int64)
        {
            var g = r.GetGetter<VBuffer<long>>(col);
            VBuffer<long> v = default;
            return () => { g(ref v); return v.DenseValues().ToArray(); };
        }
        var gi = r.GetGetter<VBuffer<int>>(col);
        VBuffer<int> vi = default;
        return () => { gi(ref vi); return vi.DenseValues().Select(x => (long)x).ToArray(); };
    };
}
