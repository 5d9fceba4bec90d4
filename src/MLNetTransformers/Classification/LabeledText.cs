namespace MLNetTransformers.Classification;

/// <summary>Texts (or sentence pairs) and class indices or regression targets read from a view, checked row by row.</summary>
internal sealed class LabeledText
{
    public List<string?> Texts { get; } = new();
    /// <summary>The second text of each pair; null for single texts.</summary>
    public List<string?>? Seconds { get; private init; }
    /// <summary>Class indices (classification; 0 for every row of a regression).</summary>
    public List<int> Labels { get; } = new();
    /// <summary>Real-valued targets (regression); null for classification.</summary>
    public List<float>? Targets { get; private init; }

    /// <summary>These rows followed by <paramref name="other"/>'s (same kind).</summary>
    public LabeledText Concat(LabeledText other)
    {
        var all = new LabeledText { Seconds = Seconds is null ? null : [.. Seconds, .. other.Seconds!], Targets = Targets is null ? null : [.. Targets, .. other.Targets!] };
        all.Texts.AddRange(Texts.Concat(other.Texts));
        all.Labels.AddRange(Labels.Concat(other.Labels));
        return all;
    }

    /// <summary>Targets ← (target − <paramref name="mean"/>) / <paramref name="std"/>, in place.</summary>
    public void Standardize(float mean, float std)
    {
        for (int i = 0; i < Targets!.Count; i++) Targets[i] = (Targets[i] - mean) / std;
    }

    /// <summary>At schema time: the regression label column of <paramref name="inputSchema"/>, Single or Double, or an error naming it.</summary>
    public static void RequireTargetShape(SchemaShape inputSchema, string name)
    {
        var label = inputSchema.FirstOrDefault(c => c.Name == name);
        if (label.Name is null) throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Label column '{name}' was not found in the input.");
        if (!(label.ItemType == NumberDataViewType.Single || label.ItemType == NumberDataViewType.Double) || label.Kind != SchemaShape.Column.VectorKind.Scalar)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Label column '{label.Name}' has type {label.ItemType}; regression needs Single or Double.");
    }

    /// <summary>A regression label: Single or Double.</summary>
    public static DataViewSchema.Column TargetColumn(DataViewSchema schema, string name)
    {
        var col = schema.GetColumnOrNull(name) ?? throw new ArgumentOutOfRangeException(nameof(name),
            $"Label column '{name}' was not found in the input (columns: {string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => c.Name))}).");
        if (col.Type == NumberDataViewType.Single || col.Type == NumberDataViewType.Double) return col;
        throw new ArgumentOutOfRangeException(nameof(name), $"Label column '{name}' has type {col.Type}; regression needs Single or Double.");
    }

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
        int n = Texts.Count;
        if (HeldOut(n, fraction, minimumRows, seed) is not { } held) return null;
        var split = new LabeledText { Seconds = Seconds is null ? null : new(), Targets = Targets is null ? null : new() };
        var (texts, labels, seconds, targets) = (Texts.ToArray(), Labels.ToArray(), Seconds?.ToArray(), Targets?.ToArray());
        Texts.Clear(); Labels.Clear(); Seconds?.Clear(); Targets?.Clear();
        for (int i = 0; i < n; i++)
        {
            var to = held[i] ? split : this;
            to.Texts.Add(texts[i]); to.Labels.Add(labels[i]);
            to.Seconds?.Add(seconds![i]);
            to.Targets?.Add(targets![i]);
        }
        return split;
    }

    /// <summary>
    /// Moves the rows <see cref="HeldOut"/> chooses out of <paramref name="rows"/> into a new list (for validation); null
    /// when that would leave fewer than <paramref name="minimumRows"/> on either side.
    /// </summary>
    internal static List<T>? SplitOff<T>(List<T> rows, double fraction, int minimumRows, ulong seed)
    {
        if (HeldOut(rows.Count, fraction, minimumRows, seed) is not { } held) return null;
        var split = rows.Where((_, i) => held[i]).ToList();
        var kept = rows.Where((_, i) => !held[i]).ToList();
        rows.Clear();
        rows.AddRange(kept);
        return split;
    }

    /// <summary>
    /// Which of <paramref name="count"/> rows a random <paramref name="fraction"/> holds out (the same rows for the same seed),
    /// or null when either side would have fewer than <paramref name="minimumRows"/>.
    /// </summary>
    internal static bool[]? HeldOut(int count, double fraction, int minimumRows, ulong seed)
    {
        int take = (int)Math.Round(count * fraction);
        if (take < minimumRows || count - take < minimumRows) return null;
        var rng = Core.Kernels.DeterministicRandom.Derive(seed, 7919);
        var order = Enumerable.Range(0, count).ToArray();
        rng.Shuffle(order.AsSpan());
        var held = new bool[count];
        foreach (int i in order.AsSpan(0, take)) held[i] = true;
        return held;
    }

    /// <summary>Reads the rows: <paramref name="second"/> makes them pairs; <paramref name="regression"/> reads real-valued targets.</summary>
    public static LabeledText Read(IDataView data, DataViewSchema.Column text, DataViewSchema.Column label, bool binary, string dataName,
        DataViewSchema.Column? second = null, bool regression = false)
    {
        var result = new LabeledText { Seconds = second is null ? null : new(), Targets = regression ? new() : null };
        using var cursor = data.GetRowCursor(second is { } b ? new[] { text, b, label } : new[] { text, label });
        var textGetter = cursor.GetGetter<ReadOnlyMemory<char>>(text);
        var secondGetter = second is { } c ? cursor.GetGetter<ReadOnlyMemory<char>>(c) : null;
        Func<long, int>? readLabel = regression ? null : binary ? BinaryLabel(cursor, label, dataName) : KeyLabel(cursor, label, dataName);
        Func<long, float>? readTarget = regression ? Target(cursor, label, dataName) : null;
        ReadOnlyMemory<char> t = default, u = default;
        while (cursor.MoveNext())
        {
            textGetter(ref t);
            if (readTarget is not null) { result.Targets!.Add(readTarget(cursor.Position)); result.Labels.Add(0); }
            else result.Labels.Add(readLabel!(cursor.Position));
            result.Texts.Add(t.ToString());
            if (secondGetter is not null) { secondGetter(ref u); result.Seconds!.Add(u.ToString()); }
        }
        if (result.Texts.Count == 0) throw new ArgumentException($"The {dataName} has no rows.");
        return result;
    }

    // The current row's value of a Single or Double column.
    private static Func<double> Number(DataViewRowCursor cursor, DataViewSchema.Column label)
    {
        if (label.Type == NumberDataViewType.Single) { var g = cursor.GetGetter<float>(label); float v = 0; return () => { g(ref v); return v; }; }
        var d = cursor.GetGetter<double>(label);
        double x = 0;
        return () => { d(ref x); return x; };
    }

    private static Func<long, float> Target(DataViewRowCursor cursor, DataViewSchema.Column label, string dataName)
    {
        var read = Number(cursor, label);
        return row =>
        {
            double v = read();
            if (!double.IsFinite(v) || Math.Abs(v) > float.MaxValue)
                throw new InvalidDataException($"Label column '{label.Name}' is {(double.IsNaN(v) ? "missing (NaN)" : $"not a finite number ({v})")} at row {row} of the {dataName}; regression needs a number in every row.");
            return (float)v;
        };
    }

    private static Func<long, int> BinaryLabel(DataViewRowCursor cursor, DataViewSchema.Column label, string dataName)
    {
        if (label.Type is BooleanDataViewType)
        {
            var g = cursor.GetGetter<bool>(label);
            bool v = false;
            return _ => { g(ref v); return v ? 1 : 0; };
        }
        var read = Number(cursor, label);
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
