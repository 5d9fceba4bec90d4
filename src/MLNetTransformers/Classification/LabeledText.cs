namespace MLNetTransformers.Classification;

/// <summary>Texts and class indices read from a view, checked row by row.</summary>
internal sealed class LabeledText
{
    public List<string?> Texts { get; } = new();
    public List<int> Labels { get; } = new();

    /// <summary>Label kind of a schema: Boolean/0-1 numbers for binary, key type for multiclass.</summary>
    public static DataViewSchema.Column LabelColumn(DataViewSchema schema, string name, bool binary)
    {
        var col = schema.GetColumnOrNull(name) ?? throw new ArgumentOutOfRangeException(nameof(name),
            $"Label column '{name}' was not found in the input (columns: {string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => c.Name))}).");
        if (binary)
        {
            if (col.Type is BooleanDataViewType || col.Type == NumberDataViewType.Single || col.Type == NumberDataViewType.Double) return col;
            throw new ArgumentOutOfRangeException(nameof(name), $"Label column '{name}' has type {col.Type}; binary classification needs Boolean (or Single/Double holding 0 and 1).");
        }
        if (col.Type is KeyDataViewType) return col;
        throw new ArgumentOutOfRangeException(nameof(name),
            $"Label column '{name}' has type {col.Type}; multiclass classification needs a key type: map the label with mlContext.Transforms.Conversion.MapValueToKey(\"{name}\") first.");
    }

    /// <summary>
    /// Moves a seeded random <paramref name="fraction"/> of the rows into a new set (for validation); null when that
    /// would leave fewer than <paramref name="minimumRows"/> rows in it.
    /// </summary>
    public LabeledText? SplitOff(double fraction, int minimumRows, ulong seed)
    {
        int n = Texts.Count, take = (int)Math.Round(n * fraction);
        if (take < minimumRows || n - take < minimumRows) return null;
        var rng = Core.Kernels.DeterministicRandom.Derive(seed, 7919);
        var order = Enumerable.Range(0, n).ToArray();
        rng.Shuffle(order.AsSpan());
        var held = new bool[n];
        foreach (int i in order.AsSpan(0, take)) held[i] = true;
        var split = new LabeledText();
        var (texts, labels) = (Texts.ToArray(), Labels.ToArray());
        Texts.Clear(); Labels.Clear();
        for (int i = 0; i < n; i++)
        {
            var (t, l) = held[i] ? (split.Texts, split.Labels) : (Texts, Labels);
            t.Add(texts[i]); l.Add(labels[i]);
        }
        return split;
    }

    public static LabeledText Read(IDataView data, DataViewSchema.Column text, DataViewSchema.Column label, bool binary, string dataName)
    {
        var result = new LabeledText();
        using var cursor = data.GetRowCursor(new[] { text, label });
        var textGetter = cursor.GetGetter<ReadOnlyMemory<char>>(text);
        Func<long, int> readLabel = binary ? BinaryLabel(cursor, label, dataName) : KeyLabel(cursor, label, dataName);
        ReadOnlyMemory<char> t = default;
        while (cursor.MoveNext())
        {
            textGetter(ref t);
            result.Labels.Add(readLabel(cursor.Position));
            result.Texts.Add(t.ToString());
        }
        if (result.Texts.Count == 0) throw new ArgumentException($"The {dataName} has no rows.");
        return result;
    }

    private static Func<long, int> BinaryLabel(DataViewRowCursor cursor, DataViewSchema.Column label, string dataName)
    {
        if (label.Type is BooleanDataViewType)
        {
            var g = cursor.GetGetter<bool>(label);
            bool v = false;
            return _ => { g(ref v); return v ? 1 : 0; };
        }
        Func<double> read;
        if (label.Type == NumberDataViewType.Single) { var g = cursor.GetGetter<float>(label); float v = 0; read = () => { g(ref v); return v; }; }
        else { var g = cursor.GetGetter<double>(label); double v = 0; read = () => { g(ref v); return v; }; }
        return row =>
        {
            double v = read();
            if (double.IsNaN(v)) throw new InvalidDataException($"Label column '{label.Name}' is missing (NaN) at row {row} of the {dataName}.");
            if (v != 0 && v != 1) throw new InvalidDataException($"Label column '{label.Name}' has value {v} at row {row} of the {dataName}; binary labels must be 0 or 1 (or Boolean).");
            return (int)v;
        };
    }

    private static Func<long, int> KeyLabel(DataViewRowCursor cursor, DataViewSchema.Column label, string dataName)
    {
        var g = cursor.GetGetter<uint>(label);
        uint v = 0;
        return row =>
        {
            g(ref v);
            if (v == 0) throw new InvalidDataException($"Label column '{label.Name}' is missing at row {row} of the {dataName} (a value not in the key mapping).");
            return (int)v - 1;
        };
    }

    /// <summary>Class names from the label's KeyValues annotation, or "0".."K−1".</summary>
    public static string[] ClassNames(DataViewSchema.Column label, int classes)
    {
        var names = Enumerable.Range(0, classes).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        if (label.Annotations.Schema.GetColumnOrNull("KeyValues") is { } kv)
        {
            var values = default(VBuffer<ReadOnlyMemory<char>>);
            try
            {
                label.Annotations.GetValue("KeyValues", ref values);
                int i = 0;
                foreach (var v in values.DenseValues()) { if (i < classes) names[i] = v.ToString(); i++; }
            }
            catch (InvalidOperationException) { } // key values of another type (e.g. numbers): keep the indices
        }
        return names;
    }
}
