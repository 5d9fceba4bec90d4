using System.Globalization;

/// <summary>A sentence pair with its similarity (STS-B, 0-5) or paraphrase label (MRPC, 0/1), and the group it is split by.</summary>
public sealed class PairRow
{
    public string Sentence1 { get; set; } = "";
    public string Sentence2 { get; set; } = "";
    public float Label { get; set; }
    public bool IsParaphrase { get; set; }
    /// <summary>Pairs that share a sentence (directly or through other pairs) share a group, and a side of the split.</summary>
    public string Group { get; set; } = "";
}

/// <summary>Reads the GLUE files and groups pairs that share sentences.</summary>
public static class PairData
{
    /// <summary>STS-B's GLUE train.tsv (no header): sentences in columns 8 and 9, the score 0-5 in column 10 (1-based).</summary>
    public static List<PairRow> ReadStsB(string path) => Read(path, 10, 7, 8, 9, f => float.Parse(f, CultureInfo.InvariantCulture));

    /// <summary>MRPC's train.tsv (no header): label, id, id, sentence 1, sentence 2.</summary>
    public static List<PairRow> ReadMrpc(string path) => Read(path, 5, 3, 4, 0, f => f switch
    {
        "0" => 0f,
        "1" => 1f,
        _ => throw new FormatException($"label '{f}' is not 0 or 1"),
    });

    private static List<PairRow> Read(string path, int fields, int first, int second, int label, Func<string, float> parse)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} does not exist.", path);
        var rows = new List<PairRow>();
        int line = 0;
        foreach (var l in File.ReadLines(path))
        {
            line++;
            if (l.Length == 0) continue;
            var f = l.Split('\t');
            if (f.Length < fields) throw new InvalidDataException($"{path}, line {line}: {f.Length} tab-separated fields, expected {fields}.");
            float y;
            try { y = parse(f[label].Trim()); }
            catch (FormatException e) { throw new InvalidDataException($"{path}, line {line}: {e.Message}."); }
            if (!float.IsFinite(y)) throw new InvalidDataException($"{path}, line {line}: label '{f[label]}' is not a number.");
            rows.Add(new PairRow { Sentence1 = f[first].Trim(), Sentence2 = f[second].Trim(), Label = y, IsParaphrase = y > 0.5f });
        }
        Group(rows);
        return rows;
    }

    // Union-find over normalised sentences: a sentence that appears in two pairs puts both pairs in one group, so no
    // held-out sentence is seen in training (STS-B reuses sentences across pairs).
    private static void Group(List<PairRow> rows)
    {
        var parent = new Dictionary<string, string>();
        string Find(string s)
        {
            if (!parent.TryGetValue(s, out var p)) { parent[s] = s; return s; }
            if (p == s) return s;
            return parent[s] = Find(p);
        }
        static string Key(string s) => string.Join(' ', s.ToLowerInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        foreach (var r in rows)
        {
            string a = Find(Key(r.Sentence1)), b = Find(Key(r.Sentence2));
            if (a != b) parent[a] = b;
        }
        foreach (var r in rows) r.Group = Find(Key(r.Sentence1));
    }
}

/// <summary>A pair scored by cosine and classified by a threshold, in the columns ML.NET's binary evaluation reads.</summary>
public sealed class ThresholdedPair
{
    public bool Label { get; set; }
    public float Score { get; set; }
    public bool PredictedLabel { get; set; }
}
